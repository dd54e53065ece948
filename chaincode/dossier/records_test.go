package dossier_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/dossier"
	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
	"github.com/edossier-city/edossier/chaincode/wire"
)

func TestAppendRecord(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	req := cctest.Req("r1", cctest.Subject("1"), cctest.BirthCert)
	req.ValidUntil = "2030-01-01T08:00:00+08:00"
	res := e.Dossier(e.Health, "AppendRecord", cctest.JSON(t, req))
	rec := cctest.Decode[wire.Record](t, e.OK(res))
	want := wire.Record{
		RecordID: "r1", SubjectID: cctest.Subject("1"), Type: cctest.BirthCert, CID: req.CID, Size: 1234,
		MediaType: "application/pdf", NoteCID: req.NoteCID, Issuer: cctest.Health,
		IssuedAt: "2025-03-01T08:00:00Z", ValidUntil: "2030-01-01T00:00:00Z",
		Status: wire.StatusActive, TxID: res.TxID,
	}
	if rec != want {
		t.Fatalf("got  %+v\nwant %+v", rec, want)
	}
	// Stored record, two index entries, key-level policy for the issuer.
	ch := e.Net.Channel(cctest.Municipal)
	if res.Writes != 3 {
		t.Fatalf("writes %d", res.Writes)
	}
	if ch.Get(key(t, "cid~record", req.CID, "r1")) == nil || ch.Get(key(t, "subject~record", cctest.Subject("1"), cctest.BirthCert, "r1")) == nil {
		t.Fatal("index entries missing")
	}
	if orgs := policyOrgs(t, ch.ValidationParameter(key(t, "record", "r1"))); len(orgs) != 1 || orgs[0] != cctest.Health {
		t.Fatalf("record policy %v", orgs)
	}
	if res.Event == nil || res.Event.Name != wire.EventRecordAppended {
		t.Fatalf("event %+v", res.Event)
	}
	ev := cctest.Decode[wire.RecordAppendedEvent](t, res.Event.Payload)
	if ev.Issuer != cctest.Health || ev.TxID != res.TxID || len(ev.Records) != 1 ||
		ev.Records[0] != (wire.RecordRef{RecordID: "r1", SubjectID: cctest.Subject("1"), Type: cctest.BirthCert, CID: req.CID}) {
		t.Fatalf("event %+v", ev)
	}

	// Retry with the same content: same record, nothing written, no event.
	e.Net.Advance(time.Minute)
	res = e.Dossier(e.Health, "AppendRecord", cctest.JSON(t, req))
	if again := cctest.Decode[wire.Record](t, e.OK(res)); again != want || res.Writes != 0 || res.Event != nil {
		t.Fatalf("retry: %+v writes=%d", again, res.Writes)
	}
	// Same ID, different content: conflict.
	diff := req
	diff.NoteCID = cctest.FileCID("other note")
	e.Code(e.Dossier(e.Health, "AppendRecord", cctest.JSON(t, diff)), wire.CodeConflict)
	// Same ID from another (accredited) department: conflict.
	other := cctest.Req("r1", cctest.Subject("1"), cctest.Licence)
	e.Code(e.Dossier(e.Civil, "AppendRecord", cctest.JSON(t, other)), wire.CodeConflict)
	// Even with identical fields, another issuer is a conflict.
	e.OK(e.Dossier(e.Op, "Accredit", cctest.Civil, cctest.BirthCert))
	e.Code(e.Dossier(e.Civil, "AppendRecord", cctest.JSON(t, req)), wire.CodeConflict)
}

func TestAppendRecordRefusals(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	ok := cctest.Req("r1", cctest.Subject("1"), cctest.BirthCert)
	e.Code(e.Dossier(e.Outsider, "AppendRecord", cctest.JSON(t, ok)), wire.CodeForbidden)                                               // not a department
	e.Code(e.Dossier(e.Civil, "AppendRecord", cctest.JSON(t, ok)), wire.CodeForbidden)                                                  // not accredited
	e.Code(e.Dossier(e.Health, "AppendRecord", cctest.JSON(t, cctest.Req("r1", cctest.Subject("1"), "undefined"))), wire.CodeForbidden) // unknown type

	mut := func(f func(r *wire.AppendRequest)) string {
		r := ok
		f(&r)
		return cctest.JSON(t, r)
	}
	v0 := "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"                 // CIDv0
	dagPB := "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi" // dag-pb codec
	upper := strings.ToUpper(ok.CID[1:])                                   // base32 upper, other multibase
	base58 := "zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA"          // raw sha2-256, base58btc
	bad := []string{
		"", "{}", "[]", "null", "not json", `{"recordId":"r1"}`,
		cctest.JSON(t, ok) + " {}",
		strings.Replace(cctest.JSON(t, ok), `"recordId"`, `"extra":1,"recordId"`, 1),
		mut(func(r *wire.AppendRequest) { r.RecordID = "" }),
		mut(func(r *wire.AppendRequest) { r.RecordID = "has space" }),
		mut(func(r *wire.AppendRequest) { r.RecordID = strings.Repeat("x", wire.MaxIDLen+1) }),
		mut(func(r *wire.AppendRequest) { r.SubjectID = "" }),
		mut(func(r *wire.AppendRequest) { r.SubjectID = "p\x00" }),
		mut(func(r *wire.AppendRequest) { r.Type = "" }),
		mut(func(r *wire.AppendRequest) { r.CID = "" }),
		mut(func(r *wire.AppendRequest) { r.CID = v0 }),
		mut(func(r *wire.AppendRequest) { r.CID = dagPB }),
		mut(func(r *wire.AppendRequest) { r.CID = "B" + upper }),
		mut(func(r *wire.AppendRequest) { r.CID = base58 }),
		mut(func(r *wire.AppendRequest) { r.Size = -1 }),
		mut(func(r *wire.AppendRequest) { r.Size = wire.MaxSize + 1 }),
		mut(func(r *wire.AppendRequest) { r.MediaType = "" }),
		mut(func(r *wire.AppendRequest) { r.MediaType = "pdf" }),
		mut(func(r *wire.AppendRequest) { r.MediaType = "application/pdf; charset=x" }),
		mut(func(r *wire.AppendRequest) { r.NoteCID = "出生医学证明 李小明" }),
		mut(func(r *wire.AppendRequest) { r.NoteCID = base58 }),
		mut(func(r *wire.AppendRequest) { r.SubjectID = "110101202611201235" }),
		mut(func(r *wire.AppendRequest) { r.SubjectID = "91350100M000100Y43" }),
		mut(func(r *wire.AppendRequest) { r.SubjectID = "p-1" }),
		mut(func(r *wire.AppendRequest) { r.ValidUntil = "tomorrow" }),
		mut(func(r *wire.AppendRequest) { r.ValidUntil = "2030-01-01" }),
		`{"recordId":"r1","subjectId":"` + ok.SubjectID + `","type":"birth-cert","cid":"` + ok.CID + `","size":1.5,"mediaType":"a/b"}`,
		`{"recordId":"r1","subjectId":"` + ok.SubjectID + `","type":"birth-cert","cid":"` + ok.CID + `","size":"1","mediaType":"a/b"}`,
		// No free text, no ID numbers: a title is no field, a subject is a pseudonym.
		`{"recordId":"r1","subjectId":"` + ok.SubjectID + `","type":"birth-cert","cid":"` + ok.CID + `","size":1,"mediaType":"a/b","title":"出生医学证明 李小明 身份证110101202611201235"}`,
		`{"recordId":"r1","subjectId":"110101202611201235","type":"birth-cert","cid":"` + ok.CID + `","size":1,"mediaType":"a/b"}`,
		"{\"recordId\":\"r\xff\"}",
		strings.Repeat(" ", wire.MaxRequestBytes+1),
	}
	for i, b := range bad {
		r := e.Dossier(e.Health, "AppendRecord", b)
		if r.OK() || r.Err().Code != wire.CodeInvalid {
			t.Errorf("case %d: want invalid, got %v %s", i, r.Err(), r.Payload)
		}
	}
	if n := len(e.Net.Channel(cctest.Municipal).Keys()); n != 13 {
		t.Fatalf("refusals wrote: %d keys", n)
	}
}

func batchOf(t *testing.T, prefix string, n int, typ string) (wire.AppendBatch, string) {
	var b wire.AppendBatch
	for i := 0; i < n; i++ {
		b.Records = append(b.Records, cctest.Req(fmt.Sprintf("%s-%04d", prefix, i), cctest.Subject(fmt.Sprint(i%7)), typ))
	}
	return b, cctest.JSON(t, b)
}

func TestAppendRecords(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	b, arg := batchOf(t, "b", 500, cctest.BirthCert)
	res := e.Dossier(e.Health, "AppendRecords", arg)
	br := cctest.Decode[wire.BatchResult](t, e.OK(res))
	if br.TxID != res.TxID || br.Issuer != cctest.Health || br.IssuedAt != "2025-03-01T08:00:00Z" ||
		br.Count != 500 || br.Created != 500 || len(br.Existing) != 0 {
		t.Fatalf("result %+v", br)
	}
	if res.Writes != 1500 {
		t.Fatalf("writes %d", res.Writes)
	}
	ev := cctest.Decode[wire.RecordAppendedEvent](t, res.Event.Payload)
	if len(ev.Records) != 500 || ev.Records[499].RecordID != "b-0499" {
		t.Fatalf("event has %d records", len(ev.Records))
	}
	// NewRecord reconstructs what was stored.
	want, err := br.NewRecord(b.Records[42])
	if err != nil {
		t.Fatal(err)
	}
	got := cctest.Decode[wire.Record](t, e.OK(e.DossierQ(e.Op, "GetRecord", b.Records[42].RecordID)))
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if orgs := policyOrgs(t, e.Net.Channel(cctest.Municipal).ValidationParameter(key(t, "record", "b-0042"))); orgs[0] != cctest.Health {
		t.Fatalf("policy %v", orgs)
	}

	// A retry that overlaps: 250 existing identical + 250 new.
	var b2 wire.AppendBatch
	b2.Records = append(b2.Records, b.Records[250:]...)
	more, _ := batchOf(t, "c", 250, cctest.Marriage)
	b2.Records = append(b2.Records, more.Records...)
	res = e.Dossier(e.Health, "AppendRecords", cctest.JSON(t, b2))
	br = cctest.Decode[wire.BatchResult](t, e.OK(res))
	if br.Count != 500 || br.Created != 250 || len(br.Existing) != 250 || br.Existing[0] != "b-0250" {
		t.Fatalf("result %+v", br)
	}
	if ev := cctest.Decode[wire.RecordAppendedEvent](t, res.Event.Payload); len(ev.Records) != 250 || ev.Records[0].RecordID != "c-0000" {
		t.Fatalf("event %d", len(ev.Records))
	}
	// Full retry: nothing written, no event.
	res = e.Dossier(e.Health, "AppendRecords", cctest.JSON(t, b2))
	if br = cctest.Decode[wire.BatchResult](t, e.OK(res)); br.Created != 0 || res.Writes != 0 || res.Event != nil {
		t.Fatalf("retry %+v", br)
	}

	// The largest batch passes.
	_, big := batchOf(t, "max", wire.MaxBatch, cctest.BirthCert)
	if br = cctest.Decode[wire.BatchResult](t, e.OK(e.Dossier(e.Health, "AppendRecords", big))); br.Created != wire.MaxBatch {
		t.Fatalf("max batch %+v", br)
	}
}

func TestAppendRecordsAllOrNothing(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	e.Append(e.Health, cctest.Req("x-0003", cctest.Subject("3"), cctest.BirthCert))
	before := len(e.Net.Channel(cctest.Municipal).Keys())

	b, _ := batchOf(t, "x", 10, cctest.BirthCert)
	b.Records[5].Type = cctest.Licence // Health is not accredited for it
	e.Code(e.Dossier(e.Health, "AppendRecords", cctest.JSON(t, b)), wire.CodeForbidden)

	b, _ = batchOf(t, "x", 10, cctest.BirthCert)
	b.Records[3].NoteCID = "" // x-0003 exists with other content
	e.Code(e.Dossier(e.Health, "AppendRecords", cctest.JSON(t, b)), wire.CodeConflict)

	b, _ = batchOf(t, "x", 10, cctest.BirthCert)
	b.Records[7].CID = "bad"
	e.Code(e.Dossier(e.Health, "AppendRecords", cctest.JSON(t, b)), wire.CodeInvalid)

	b, _ = batchOf(t, "y", 10, cctest.BirthCert)
	b.Records[9].RecordID = b.Records[2].RecordID
	e.Code(e.Dossier(e.Health, "AppendRecords", cctest.JSON(t, b)), wire.CodeInvalid)

	_, over := batchOf(t, "z", wire.MaxBatch+1, cctest.BirthCert)
	e.Code(e.Dossier(e.Health, "AppendRecords", over), wire.CodeInvalid)
	for _, s := range []string{`{"records":[]}`, `{}`, `{"records":null}`, `[]`, `{"records":[{}]}`, `{"records":[],"x":1}`} {
		e.Code(e.Dossier(e.Health, "AppendRecords", s), wire.CodeInvalid)
	}
	_, ok := batchOf(t, "o", 3, cctest.BirthCert)
	e.Code(e.Dossier(e.Outsider, "AppendRecords", ok), wire.CodeForbidden)
	if after := len(e.Net.Channel(cctest.Municipal).Keys()); after != before {
		t.Fatalf("refused batches wrote: %d -> %d keys", before, after)
	}
}

func TestRevokeRecord(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	orig := e.Append(e.Health, cctest.Req("r1", cctest.Subject("1"), cctest.BirthCert))
	e.Code(e.Dossier(e.Health, "RevokeRecord", "nope", cctest.ReasonError), wire.CodeNotFound)
	e.Code(e.Dossier(e.Civil, "RevokeRecord", "r1", cctest.ReasonError), wire.CodeForbidden)
	e.Code(e.Dossier(e.Outsider, "RevokeRecord", "r1", cctest.ReasonError), wire.CodeForbidden)
	e.Code(e.Dossier(e.Health, "RevokeRecord", "r1", ""), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "RevokeRecord", "r1", strings.Repeat("r", wire.MaxCodeLen+1)), wire.CodeInvalid)
	// Free text (personal data) is no reason code; an unregistered code is refused too.
	e.Code(e.Dossier(e.Health, "RevokeRecord", "r1", "李小明 身份证110101202611201235 出错"), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "RevokeRecord", "r1", "issued in error"), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "RevokeRecord", "r1", "not-registered"), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "RevokeRecord", "", cctest.ReasonError), wire.CodeInvalid)

	e.Net.Advance(time.Hour)
	res := e.Dossier(e.Health, "RevokeRecord", "r1", cctest.ReasonError)
	rec := cctest.Decode[wire.Record](t, e.OK(res))
	want := orig
	want.Status, want.Reason, want.StatusChangedAt, want.StatusTxID = wire.StatusRevoked, cctest.ReasonError, "2025-03-01T09:00:00Z", res.TxID
	if rec != want {
		t.Fatalf("got %+v", rec)
	}
	ev := cctest.Decode[wire.RecordRevokedEvent](t, res.Event.Payload)
	if res.Event.Name != wire.EventRecordRevoked || ev.RecordID != "r1" || ev.Reason != cctest.ReasonError || ev.SubjectID != cctest.Subject("1") || ev.TxID != res.TxID {
		t.Fatalf("event %+v", ev)
	}
	// The key-level policy set at append time is kept.
	if orgs := policyOrgs(t, e.Net.Channel(cctest.Municipal).ValidationParameter(key(t, "record", "r1"))); orgs[0] != cctest.Health {
		t.Fatal("policy lost")
	}
	// Same revocation again: unchanged, nothing written.
	res = e.Dossier(e.Health, "RevokeRecord", "r1", cctest.ReasonError)
	if again := cctest.Decode[wire.Record](t, e.OK(res)); again != want || res.Writes != 0 {
		t.Fatal("repeat changed something")
	}
	e.Code(e.Dossier(e.Health, "RevokeRecord", "r1", cctest.ReasonFraud), wire.CodeConflict)

	// A superseded record cannot be revoked.
	e.Append(e.Health, cctest.Req("r2", cctest.Subject("1"), cctest.BirthCert))
	e.OK(e.Dossier(e.Health, "SupersedeRecord", "r2", cctest.JSON(t, cctest.Req("r3", cctest.Subject("1"), cctest.BirthCert))))
	e.Code(e.Dossier(e.Health, "RevokeRecord", "r2", cctest.ReasonError), wire.CodeConflict)
}

func TestSupersedeRecord(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	old := e.Append(e.Health, cctest.Req("r1", cctest.Subject("1"), cctest.BirthCert))
	e.Net.Advance(time.Hour)
	newReq := cctest.Req("r1-v2", cctest.Subject("1"), cctest.Marriage)
	arg := cctest.JSON(t, newReq)

	e.Code(e.Dossier(e.Health, "SupersedeRecord", "nope", arg), wire.CodeNotFound)
	e.Code(e.Dossier(e.Civil, "SupersedeRecord", "r1", arg), wire.CodeForbidden)
	e.Code(e.Dossier(e.Health, "SupersedeRecord", "", arg), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "SupersedeRecord", "r1", "{"), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "SupersedeRecord", "r1", cctest.JSON(t, cctest.Req("r1", cctest.Subject("1"), cctest.BirthCert))), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "SupersedeRecord", "r1", cctest.JSON(t, cctest.Req("r9", cctest.Subject("2"), cctest.BirthCert))), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "SupersedeRecord", "r1", cctest.JSON(t, cctest.Req("r9", cctest.Subject("1"), cctest.Licence))), wire.CodeForbidden)
	e.Append(e.Health, cctest.Req("taken", cctest.Subject("1"), cctest.BirthCert))
	e.Code(e.Dossier(e.Health, "SupersedeRecord", "r1", cctest.JSON(t, cctest.Req("taken", cctest.Subject("1"), cctest.BirthCert))), wire.CodeConflict)

	res := e.Dossier(e.Health, "SupersedeRecord", "r1", arg)
	sr := cctest.Decode[wire.SupersedeResult](t, e.OK(res))
	wantOld := old
	wantOld.Status, wantOld.SupersededBy, wantOld.StatusChangedAt, wantOld.StatusTxID = wire.StatusSuperseded, "r1-v2", "2025-03-01T09:00:00Z", res.TxID
	if sr.Superseded != wantOld {
		t.Fatalf("old %+v", sr.Superseded)
	}
	if sr.Record.Supersedes != "r1" || sr.Record.Issuer != cctest.Health || sr.Record.Status != wire.StatusActive || sr.Record.TxID != res.TxID || sr.Record.Type != cctest.Marriage {
		t.Fatalf("new %+v", sr.Record)
	}
	if res.Writes != 4 {
		t.Fatalf("writes %d", res.Writes)
	}
	ev := cctest.Decode[wire.RecordSupersededEvent](t, res.Event.Payload)
	if res.Event.Name != wire.EventRecordSuperseded || ev.OldRecordID != "r1" || ev.NewRecord.RecordID != "r1-v2" || ev.SubjectID != cctest.Subject("1") {
		t.Fatalf("event %+v", ev)
	}
	if orgs := policyOrgs(t, e.Net.Channel(cctest.Municipal).ValidationParameter(key(t, "record", "r1-v2"))); orgs[0] != cctest.Health {
		t.Fatal("new record has no policy")
	}
	// Repeat: same result, nothing written.
	e.Net.Advance(time.Hour)
	res = e.Dossier(e.Health, "SupersedeRecord", "r1", arg)
	if again := cctest.Decode[wire.SupersedeResult](t, e.OK(res)); again != sr || res.Writes != 0 || res.Event != nil {
		t.Fatalf("repeat %+v", again)
	}
	// Superseding it again with another record: conflict.
	e.Code(e.Dossier(e.Health, "SupersedeRecord", "r1", cctest.JSON(t, cctest.Req("r1-v3", cctest.Subject("1"), cctest.BirthCert))), wire.CodeConflict)
	// A revoked record cannot be superseded.
	e.Append(e.Health, cctest.Req("r5", cctest.Subject("1"), cctest.BirthCert))
	e.OK(e.Dossier(e.Health, "RevokeRecord", "r5", cctest.ReasonError))
	e.Code(e.Dossier(e.Health, "SupersedeRecord", "r5", cctest.JSON(t, cctest.Req("r6", cctest.Subject("1"), cctest.BirthCert))), wire.CodeConflict)
}

func TestGetRecordAndHistory(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	e.Code(e.DossierQ(e.Outsider, "GetRecord", "r1"), wire.CodeNotFound)
	e.Code(e.DossierQ(e.Outsider, "GetRecord", "bad id"), wire.CodeInvalid)
	e.Code(e.DossierQ(e.Outsider, "GetRecordHistory", "r1"), wire.CodeNotFound)
	e.Code(e.DossierQ(e.Outsider, "GetRecordHistory", ""), wire.CodeInvalid)
	r := e.Append(e.Health, cctest.Req("r1", cctest.Subject("1"), cctest.BirthCert))
	if got := cctest.Decode[wire.Record](t, e.OK(e.DossierQ(e.Op, "GetRecord", "r1"))); got != r {
		t.Fatalf("got %+v", got)
	}
	e.Net.Advance(time.Minute)
	rv := e.Dossier(e.Health, "RevokeRecord", "r1", cctest.ReasonError)
	e.OK(rv)
	h := cctest.Decode[[]wire.RecordVersion](t, e.OK(e.DossierQ(e.Op, "GetRecordHistory", "r1")))
	if len(h) != 2 || h[0].TxID != rv.TxID || h[0].Record.Status != wire.StatusRevoked || h[0].Timestamp != "2025-03-01T08:01:00Z" ||
		h[1].TxID != r.TxID || h[1].Record != r || h[1].Timestamp != "2025-03-01T08:00:00Z" {
		t.Fatalf("history %+v", h)
	}
}

func TestListDossier(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	for i := 0; i < 5; i++ {
		e.Append(e.Health, cctest.Req(fmt.Sprintf("b%d", i), cctest.Subject("1"), cctest.BirthCert))
	}
	e.Append(e.Health, cctest.Req("m1", cctest.Subject("1"), cctest.Marriage))
	e.Append(e.Civil, cctest.Req("l1", cctest.Subject("1"), cctest.Licence))
	e.Append(e.Health, cctest.Req("other", cctest.Subject("10"), cctest.BirthCert)) // prefix of p-1 must not leak in
	e.OK(e.Dossier(e.Health, "RevokeRecord", "b1", cctest.ReasonError))

	var ids []string
	bookmark := ""
	pages := 0
	for {
		p := cctest.Decode[wire.RecordPage](t, e.OK(e.DossierQ(e.Op, "ListDossier", cctest.Subject("1"), "", "3", bookmark)))
		pages++
		for _, r := range p.Records {
			ids = append(ids, r.RecordID)
		}
		if p.Bookmark == "" {
			break
		}
		bookmark = p.Bookmark
	}
	if got := strings.Join(ids, ","); got != "b0,b1,b2,b3,b4,l1,m1" || pages != 3 {
		t.Fatalf("ids %s in %d pages", got, pages)
	}
	p := cctest.Decode[wire.RecordPage](t, e.OK(e.DossierQ(e.Op, "ListDossier", cctest.Subject("1"), cctest.Marriage, "", "")))
	if len(p.Records) != 1 || p.Records[0].RecordID != "m1" || p.Bookmark != "" {
		t.Fatalf("filtered %+v", p)
	}
	p = cctest.Decode[wire.RecordPage](t, e.OK(e.DossierQ(e.Outsider, "ListDossier", cctest.Subject("9"), "", "", "")))
	if len(p.Records) != 0 {
		t.Fatal("unknown subject has records")
	}
	if raw := e.OK(e.DossierQ(e.Outsider, "ListDossier", cctest.Subject("9"), "", "", "")); !strings.Contains(string(raw), `"records":[]`) {
		t.Fatalf("empty page encodes as %s", raw)
	}
	// Bookmark from another subject's range, or garbage: refused.
	first := cctest.Decode[wire.RecordPage](t, e.OK(e.DossierQ(e.Op, "ListDossier", cctest.Subject("1"), "", "1", "")))
	e.Code(e.DossierQ(e.Outsider, "ListDossier", cctest.Subject("10"), "", "1", first.Bookmark), wire.CodeInvalid)
	e.Code(e.DossierQ(e.Outsider, "ListDossier", cctest.Subject("1"), "", "1", "garbage"), wire.CodeInvalid)
	for _, ps := range []string{"-1", "201", "abc", "01", "1.5"} {
		e.Code(e.DossierQ(e.Outsider, "ListDossier", cctest.Subject("1"), "", ps, ""), wire.CodeInvalid)
	}
	e.Code(e.DossierQ(e.Outsider, "ListDossier", "", "", "", ""), wire.CodeInvalid)
	e.Code(e.DossierQ(e.Outsider, "ListDossier", cctest.Subject("1"), "bad type", "", ""), wire.CodeInvalid)
	// Max page size.
	p = cctest.Decode[wire.RecordPage](t, e.OK(e.DossierQ(e.Op, "ListDossier", cctest.Subject("1"), "", "200", "")))
	if len(p.Records) != 7 {
		t.Fatalf("got %d", len(p.Records))
	}
}

func TestFindByCID(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	a := cctest.Req("a", cctest.Subject("1"), cctest.BirthCert)
	b := cctest.Req("b", cctest.Subject("2"), cctest.BirthCert)
	b.CID = a.CID // the same file in two dossiers
	e.Append(e.Health, a)
	e.Append(e.Health, b)
	e.Append(e.Health, cctest.Req("c", cctest.Subject("1"), cctest.BirthCert))
	recs := cctest.Decode[[]wire.Record](t, e.OK(e.DossierQ(e.Outsider, "FindByCID", a.CID)))
	if len(recs) != 2 || recs[0].RecordID != "a" || recs[1].RecordID != "b" {
		t.Fatalf("got %+v", recs)
	}
	if raw := e.OK(e.DossierQ(e.Outsider, "FindByCID", cctest.FileCID("unknown"))); string(raw) != "[]" {
		t.Fatalf("unknown CID gives %s", raw)
	}
	e.Code(e.DossierQ(e.Outsider, "FindByCID", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"), wire.CodeInvalid)
	e.Code(e.DossierQ(e.Outsider, "FindByCID", ""), wire.CodeInvalid)
	// One index read.
	stub := e.Net.NewStub(cctest.Municipal, e.Outsider)
	c := dossier.New(dossier.Config{})
	if _, err := c.FindByCID(&fakeledger.Context{Stub: stub, Identity: &fakeledger.ClientIdentity{MSP: cctest.Outsider}}, a.CID); err != nil {
		t.Fatal(err)
	}
	if stub.Calls["GetStateByPartialCompositeKey"] != 1 || stub.Calls["GetMultipleStates"] != 1 || stub.Calls["GetState"] != 0 {
		t.Fatalf("calls %v", stub.Calls)
	}
	// An index entry written without its record (index keys have no key-level
	// policy) does not make another file verify as record a.
	forged := cctest.FileCID("forged")
	w := e.Net.NewStub(cctest.Municipal, e.Outsider)
	key, _ := w.CreateCompositeKey("cid~record", []string{forged, "a"})
	if err := w.PutState(key, []byte{0}); err != nil {
		t.Fatal(err)
	}
	w.Commit()
	if raw := e.OK(e.DossierQ(e.Outsider, "FindByCID", forged)); string(raw) != "[]" {
		t.Fatalf("forged index entry gives %s", raw)
	}
}

func TestFindByCIDCap(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	b, _ := batchOf(t, "same", dossier.MaxFindResults+5, cctest.BirthCert)
	for i := range b.Records {
		b.Records[i].CID = cctest.FileCID("one file")
	}
	e.OK(e.Dossier(e.Health, "AppendRecords", cctest.JSON(t, b)))
	recs := cctest.Decode[[]wire.Record](t, e.OK(e.DossierQ(e.Outsider, "FindByCID", cctest.FileCID("one file"))))
	if len(recs) != dossier.MaxFindResults {
		t.Fatalf("got %d", len(recs))
	}
}

// Direct calls with a hand-set context: identity and stub failures.
func TestDirectContextFailures(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	c := dossier.New(dossier.Config{OperatorMSP: cctest.Operator})
	req := cctest.JSON(t, cctest.Req("r1", cctest.Subject("1"), cctest.BirthCert))
	code := func(err error) wire.Code {
		t.Helper()
		if err == nil {
			t.Fatal("want an error")
		}
		we, ok := err.(*wire.Error)
		if !ok {
			t.Fatalf("not a *wire.Error: %T %v", err, err)
		}
		return we.Code
	}
	ctx := func(id *fakeledger.ClientIdentity, fail bool) *fakeledger.Context {
		s := e.Net.NewStub(cctest.Municipal, e.Health)
		s.FailState = fail
		return &fakeledger.Context{Stub: s, Identity: id}
	}
	health := &fakeledger.ClientIdentity{MSP: cctest.Health, Cert: e.Health.Cert}
	appendErr := func(ctx *fakeledger.Context, req string) error {
		_, err := c.AppendRecord(ctx, req)
		return err
	}

	// The hand-set identity works like the real one.
	if _, err := c.AppendRecord(ctx(health, false), req); err != nil {
		t.Fatal(err)
	}
	if got := code(appendErr(ctx(&fakeledger.ClientIdentity{Fail: true}, false), req)); got != wire.CodeForbidden {
		t.Fatalf("broken identity: %s", got)
	}
	if got := code(appendErr(&fakeledger.Context{Stub: e.Net.NewStub(cctest.Municipal, e.Health)}, req)); got != wire.CodeForbidden {
		t.Fatalf("no identity: %s", got)
	}
	if got := code(appendErr(ctx(health, true), req)); got != wire.CodeInternal {
		t.Fatalf("state failure: %s", got)
	}
	if _, err := c.GetRecord(ctx(health, true), "r1"); code(err) != wire.CodeInternal {
		t.Fatal("GetRecord state failure")
	}
	if _, err := c.ListDossier(ctx(health, true), cctest.Subject("1"), "", "", ""); code(err) != wire.CodeInternal {
		t.Fatal("ListDossier state failure")
	}
	if _, err := c.FindByCID(ctx(health, true), cctest.FileCID("x")); code(err) != wire.CodeInternal {
		t.Fatal("FindByCID state failure")
	}
	if _, err := c.GetRecordHistory(ctx(health, true), "r1"); code(err) != wire.CodeInternal {
		t.Fatal("GetRecordHistory state failure")
	}
	if _, err := c.ListDepartments(ctx(health, true)); code(err) != wire.CodeInternal {
		t.Fatal("ListDepartments state failure")
	}
	op := &fakeledger.ClientIdentity{MSP: cctest.Operator}
	if _, err := c.RegisterDepartment(ctx(op, true), cctest.Civil, "n", "C"); code(err) != wire.CodeInternal {
		t.Fatal("RegisterDepartment state failure")
	}
	// A panic (nil stub) becomes an internal error, not a crash.
	if _, err := c.GetRecord(&fakeledger.Context{Identity: health}, "r1"); code(err) != wire.CodeInternal {
		t.Fatal("panic not guarded")
	}
}
