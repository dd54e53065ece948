package service

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// logLedger adds the access-log writes and the queries of the self-service and
// ownership paths to fakeLedger; entries are the committed log entries.
type logLedger struct {
	*fakeLedger
	entries []wire.AccessEntry
	actors  []gateway.Actor
	logErr  error
}

func (l *logLedger) TxBlock(context.Context, gateway.Actor, string, string) (uint64, error) {
	return 3, nil
}
func (l *logLedger) MunicipalChannel() string { return "municipal" }

func (l *logLedger) RecordOwnershipCheck(_ context.Context, a gateway.Actor, subjectID, cid, checker string) (*wire.AccessEntry, gateway.Receipt, error) {
	if l.logErr != nil {
		return nil, gateway.Receipt{}, l.logErr
	}
	e := wire.AccessEntry{Kind: wire.AccessOwnership, SubjectID: subjectID, CID: cid, Checker: checker, Result: wire.OwnershipNotInDossier, TxID: "tx-own"}
	recs, _ := l.FindByCID(context.Background(), a, cid)
	for _, r := range recs {
		if r.SubjectID == subjectID {
			e.Result = wire.OwnershipInDossier
		}
	}
	l.entries = append(l.entries, e)
	l.actors = append(l.actors, a)
	return &e, gateway.Receipt{Channel: "datashare", TxID: "tx-own", Block: 9}, nil
}

func (l *logLedger) RecordSelfAccess(_ context.Context, a gateway.Actor, subjectID, recordID, action string) (*wire.AccessEntry, gateway.Receipt, error) {
	if l.logErr != nil {
		return nil, gateway.Receipt{}, l.logErr
	}
	e := wire.AccessEntry{Kind: wire.AccessSelf, Action: action, SubjectID: subjectID, RecordID: recordID, TxID: "tx-self"}
	l.entries = append(l.entries, e)
	l.actors = append(l.actors, a)
	return &e, gateway.Receipt{Channel: "datashare", TxID: "tx-self", Block: 10}, nil
}

func (l *logLedger) ListDossier(_ context.Context, _ gateway.Actor, subjectID, _ string, _ int, _ string) (*wire.RecordPage, error) {
	page := &wire.RecordPage{}
	for _, r := range l.records {
		if r.SubjectID == subjectID {
			page.Records = append(page.Records, r)
		}
	}
	return page, nil
}

func (l *logLedger) RecordHistory(_ context.Context, _ gateway.Actor, id string) ([]wire.RecordVersion, error) {
	return []wire.RecordVersion{{TxID: "tx1", Record: l.records[id]}}, nil
}

// subjectsFunc derives subject IDs in tests: testSubj(the ID number), "bad" is invalid.
type subjectsFunc func(kind, id string) (string, error)

func (f subjectsFunc) SubjectID(kind, id string) (string, error) { return f(kind, id) }

var testSubjects = subjectsFunc(func(kind, id string) (string, error) {
	if kind != "person" || id == "" || id == "bad" {
		return "", gateway.Errorf(gateway.CodeInvalid, "not a valid ID number")
	}
	return testSubj(id), nil
})

// testSubj is the test pseudonym of an ID number: "p-" and 32 base32 characters.
func testSubj(id string) string {
	h := sha256.Sum256([]byte(id))
	return "p-" + strings.ToLower(base32.StdEncoding.EncodeToString(h[:20]))
}

type fakeOpenBlobs struct{ *fakeBlobs }

func (fakeOpenBlobs) Open(cid string) (io.ReadCloser, BlobInfo, error) {
	return io.NopCloser(strings.NewReader("file " + cid)), BlobInfo{CID: cid}, nil
}

var platform = gateway.Actor{Org: "operator", User: "ops"}

func newLogFakes(limits OwnershipLimits, now *time.Time) (*logLedger, *Service) {
	b := &fakeBlobs{data: map[string][]byte{}}
	l := &logLedger{fakeLedger: &fakeLedger{records: map[string]wire.Record{}, blobs: b}}
	cid := func(s string) string { c, _, _ := wire.CIDOf(strings.NewReader(s)); return c.String() }
	l.records["r1"] = wire.Record{RecordID: "r1", SubjectID: testSubj("1"), Type: "birth", CID: cid("birth of 1"), Issuer: "HealthMSP", Status: wire.StatusActive, TxID: "t1"}
	l.records["r2"] = wire.Record{RecordID: "r2", SubjectID: testSubj("2"), Type: "birth", CID: cid("birth of 2"), Issuer: "HealthMSP", Status: wire.StatusActive, TxID: "t2"}
	return l, New(l, fakeOpenBlobs{b}, testSubjects, Config{Platform: platform, Ownership: limits, Now: func() time.Time { return *now }})
}

var (
	bank   = gateway.Principal{Role: gateway.RoleVerifier, Org: "operator", User: "ops", KeyID: "bankkey", Verifier: "city-bank"}
	anon   = gateway.Principal{Role: gateway.RolePublic}
	oper   = gateway.Principal{Role: gateway.RoleOperator, Org: "operator", MSPID: "OperatorMSP", User: "ops", KeyID: "opkey"}
	social = gateway.Principal{Role: gateway.RoleDepartment, Org: "social", MSPID: "SocialMSP", User: "clerk", KeyID: "socialkey"}
)

func TestOwnershipCheckRefusals(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l, s := newLogFakes(OwnershipLimits{}, &now)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		p    gateway.Principal
		kind string
		id   string
		code gateway.Code
	}{
		{"anonymous", anon, "person", "1", gateway.CodeUnauthorized},
		{"anonymous, ID number only", anon, "", "1", gateway.CodeUnauthorized},
		{"citizen", gateway.Principal{Role: gateway.RoleCitizen, SubjectID: testSubj("1")}, "person", "1", gateway.CodeForbidden},
		{"operator", oper, "person", "1", gateway.CodeForbidden},
		{"bad ID number", bank, "person", "bad", gateway.CodeInvalid},
	} {
		_, err := s.VerifyFile(ctx, c.p, strings.NewReader("birth of 1"), c.kind, c.id)
		if gateway.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	if len(l.entries) != 0 {
		t.Fatalf("refusals logged: %+v", l.entries)
	}
	// Anonymous verification without a subject still works, and names nobody.
	v, err := s.VerifyFile(ctx, anon, strings.NewReader("birth of 1"), "", "")
	if err != nil || !v.Verified || v.InDossier != nil || len(l.entries) != 0 {
		t.Fatalf("anonymous verify: %+v %v", v, err)
	}
}

func TestOwnershipCheckAnswerAndLog(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l, s := newLogFakes(OwnershipLimits{}, &now)
	ctx := context.Background()
	// In the dossier: verified, logged first with the verifier's name, as the platform.
	v, err := s.VerifyFile(ctx, bank, strings.NewReader("birth of 1"), "person", "1")
	if err != nil || !v.Verified || v.Status != Verified || v.InDossier == nil || !*v.InDossier || len(v.Records) != 1 || v.CheckReceipt == nil || v.CheckReceipt.TxID != "tx-own" {
		t.Fatalf("in dossier: %+v %v", v, err)
	}
	if len(l.entries) != 1 || l.entries[0].SubjectID != testSubj("1") || l.entries[0].Checker != "city-bank" || l.actors[0] != platform {
		t.Fatalf("log %+v by %+v", l.entries, l.actors)
	}
	// A genuine document of another dossier is not verified for this subject, and the
	// other dossier's records are not shown.
	v, err = s.VerifyFile(ctx, social, strings.NewReader("birth of 2"), "person", "1")
	if err != nil || v.Verified || v.Status != NotInDossier || *v.InDossier || len(v.Records) != 0 {
		t.Fatalf("other dossier: %+v %v", v, err)
	}
	if l.entries[1].Checker != "" || l.actors[1] != social.Actor() {
		t.Fatalf("department check: %+v by %+v", l.entries[1], l.actors[1])
	}
	// Unknown document.
	v, err = s.VerifyFile(ctx, social, strings.NewReader("never issued"), "person", "1")
	if err != nil || v.Verified || v.Status != Unknown || *v.InDossier {
		t.Fatalf("unknown: %+v %v", v, err)
	}
	// No answer without the log entry.
	l.logErr = gateway.Errorf(gateway.CodeUnavailable, "down")
	if v, err := s.VerifyFile(ctx, bank, strings.NewReader("birth of 1"), "person", "1"); gateway.ErrorCode(err) != gateway.CodeUnavailable || v != nil {
		t.Fatalf("unlogged answer: %+v %v", v, err)
	}
}

func TestOwnershipLimits(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l, s := newLogFakes(OwnershipLimits{PerKeyInterval: time.Minute, PerKeyBurst: 5, PerDocument: 3, Window: 24 * time.Hour}, &now)
	ctx := context.Background()
	check := func(p gateway.Principal, doc, id string) error {
		_, err := s.VerifyFile(ctx, p, strings.NewReader(doc), "person", id)
		return err
	}
	// Per document: 3 distinct ID numbers per window, by all callers together.
	for _, id := range []string{"100", "101", "102"} {
		if err := check(bank, "birth of 1", id); err != nil {
			t.Fatal(err)
		}
	}
	err := check(social, "birth of 1", "103")
	if gateway.ErrorCode(err) != gateway.CodeRateLimited || gateway.RetryAfter(err) != 24*time.Hour {
		t.Fatalf("4th ID number for one document: %v (retry after %s)", err, gateway.RetryAfter(err))
	}
	// Asking again about a subject already checked is allowed (it costs a token).
	if err := check(social, "birth of 1", "101"); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	logged := len(l.entries)
	// Per key: burst 5 (bank used 3), then one a minute.
	if err := check(bank, "birth of 2", "1"); err != nil {
		t.Fatal(err)
	}
	if err := check(bank, "birth of 2", "2"); err != nil {
		t.Fatal(err)
	}
	err = check(bank, "birth of 2", "3")
	if gateway.ErrorCode(err) != gateway.CodeRateLimited || gateway.RetryAfter(err) <= 0 || gateway.RetryAfter(err) > time.Minute {
		t.Fatalf("past the burst: %v (retry after %s)", err, gateway.RetryAfter(err))
	}
	// The refused check used up nothing: another key may still check "3" on doc 2.
	if err := check(social, "birth of 2", "3"); err != nil {
		t.Fatalf("refusal consumed the document budget: %v", err)
	}
	if len(l.entries) != logged+3 {
		t.Fatalf("%d entries, want %d (refusals are not logged)", len(l.entries), logged+3)
	}
	now = now.Add(time.Minute)
	if err := check(bank, "never issued", "1"); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	// A new window admits new ID numbers for the document.
	now = now.Add(24 * time.Hour)
	if err := check(social, "birth of 1", "103"); err != nil {
		t.Fatalf("next window: %v", err)
	}
}

func TestSelfService(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l, s := newLogFakes(OwnershipLimits{}, &now)
	ctx := context.Background()
	me := gateway.Principal{Role: gateway.RoleCitizen, SubjectID: testSubj("1")}
	page, err := s.ListDossier(ctx, me, testSubj("1"), "", 0, "")
	if err != nil || len(page.Records) != 1 || page.Records[0].RecordID != "r1" {
		t.Fatalf("own dossier: %+v %v", page, err)
	}
	if rec, err := s.GetRecord(ctx, me, "r1"); err != nil || rec.RecordID != "r1" {
		t.Fatalf("own record: %+v %v", rec, err)
	}
	if h, err := s.RecordHistory(ctx, me, "r1"); err != nil || len(h.Versions) != 1 {
		t.Fatalf("own history: %+v %v", h, err)
	}
	c, err := s.ReadContent(ctx, me, "r1", "", "")
	if err != nil || c.Receipt.TxID != "tx-self" {
		t.Fatalf("own file: %+v %v", c, err)
	}
	c.Body.Close()
	want := []string{wire.SelfList, wire.SelfGet, wire.SelfHistory, wire.SelfContent}
	if len(l.entries) != len(want) {
		t.Fatalf("log %+v", l.entries)
	}
	for i, e := range l.entries {
		if e.Kind != wire.AccessSelf || e.Action != want[i] || e.SubjectID != testSubj("1") || l.actors[i] != platform {
			t.Fatalf("entry %d: %+v by %+v", i, e, l.actors[i])
		}
	}
	// Another subject's dossier and records: refused, nothing logged.
	for name, err := range map[string]error{
		"list":    func() error { _, err := s.ListDossier(ctx, me, testSubj("2"), "", 0, ""); return err }(),
		"get":     func() error { _, err := s.GetRecord(ctx, me, "r2"); return err }(),
		"history": func() error { _, err := s.RecordHistory(ctx, me, "r2"); return err }(),
		"content": func() error { _, err := s.ReadContent(ctx, me, "r2", "", ""); return err }(),
		"missing": func() error { _, err := s.GetRecord(ctx, me, "r-none"); return err }(),
	} {
		want := gateway.CodeNotFound
		if name == "list" {
			want = gateway.CodeForbidden
		}
		if gateway.ErrorCode(err) != want {
			t.Errorf("%s of another subject: %v, want %s", name, err, want)
		}
	}
	if _, err := s.ReadContent(ctx, me, "r1", "g-1", ""); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Errorf("own file with a grant ID: %v", err)
	}
	if _, err := s.GetRecord(ctx, me, "../x"); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Errorf("bad record ID: %v", err)
	}
	if len(l.entries) != len(want) {
		t.Fatalf("refusals logged: %+v", l.entries[len(want):])
	}
	// No answer without the log entry.
	l.logErr = gateway.Errorf(gateway.CodeUnavailable, "down")
	if _, err := s.ListDossier(ctx, me, testSubj("1"), "", 0, ""); gateway.ErrorCode(err) != gateway.CodeUnavailable {
		t.Fatalf("unlogged listing: %v", err)
	}
	if _, err := s.ReadContent(ctx, me, "r1", "", ""); gateway.ErrorCode(err) != gateway.CodeUnavailable {
		t.Fatalf("unlogged file: %v", err)
	}
}

func TestRecordHistoryVisibility(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	_, s := newLogFakes(OwnershipLimits{}, &now)
	ctx := context.Background()
	if h, err := s.RecordHistory(ctx, health, "r1"); err != nil || h.RecordID != "r1" {
		t.Fatalf("issuer: %+v %v", h, err)
	}
	if _, err := s.RecordHistory(ctx, social, "r1"); gateway.ErrorCode(err) != gateway.CodeNotFound {
		t.Fatalf("department without a grant: %v", err)
	}
	if _, err := s.RecordHistory(ctx, anon, "r1"); gateway.ErrorCode(err) != gateway.CodeUnauthorized {
		t.Fatalf("anonymous: %v", err)
	}
	if _, err := s.RecordHistory(ctx, bank, "r1"); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("verifier: %v", err)
	}
}

// fakeKeyAdmin is a KeyAdmin over a map.
type fakeKeyAdmin struct{ keys map[string]APIKey }

func (f *fakeKeyAdmin) ListKeys() []APIKey {
	out := []APIKey{}
	for _, id := range []string{"health1", "health2", "social1", "op1", "bank1"} {
		if k, ok := f.keys[id]; ok {
			out = append(out, k)
		}
	}
	return out
}
func (f *fakeKeyAdmin) GetKey(id string) (APIKey, error) {
	k, ok := f.keys[id]
	if !ok {
		return APIKey{}, gateway.Errorf(gateway.CodeNotFound, "no key")
	}
	return k, nil
}
func (f *fakeKeyAdmin) RevokeKey(id, by string) (APIKey, error) {
	k := f.keys[id]
	k.Revoked, k.RevokedBy = true, by
	f.keys[id] = k
	return k, nil
}
func (f *fakeKeyAdmin) IssueVerifierKey(name, label string) (string, APIKey, error) {
	k := APIKey{ID: "bank1", Role: gateway.RoleVerifier, Verifier: name, Label: label}
	f.keys[k.ID] = k
	return "edk_bank1_secret", k, nil
}

func TestAPIKeyAdministration(t *testing.T) {
	fl, b, _ := newFakes()
	ka := &fakeKeyAdmin{keys: map[string]APIKey{
		"health1": {ID: "health1", Role: gateway.RoleDepartment, MSPID: "HealthMSP"},
		"health2": {ID: "health2", Role: gateway.RoleDepartment, MSPID: "HealthMSP"},
		"social1": {ID: "social1", Role: gateway.RoleDepartment, MSPID: "SocialMSP"},
		"op1":     {ID: "op1", Role: gateway.RoleOperator, MSPID: "OperatorMSP"},
	}}
	s := New(fl, b, nil, Config{OrphanGrace: fakeGrace, KeyAdmin: ka})
	health := gateway.Principal{Role: gateway.RoleDepartment, MSPID: "HealthMSP", KeyID: "health1"}
	if list, err := s.ListAPIKeys(health); err != nil || len(list) != 2 {
		t.Fatalf("health lists %+v %v", list, err)
	}
	if list, err := s.ListAPIKeys(oper); err != nil || len(list) != 4 {
		t.Fatalf("operator lists %+v %v", list, err)
	}
	for _, c := range []struct {
		name string
		p    gateway.Principal
		id   string
		code gateway.Code
	}{
		{"department revokes another organisation's key", health, "social1", gateway.CodeForbidden},
		{"department revokes the operator's key", health, "op1", gateway.CodeForbidden},
		{"unknown key", oper, "nope", gateway.CodeNotFound},
		{"bad key ID", oper, "../x", gateway.CodeInvalid},
		{"anonymous", anon, "health2", gateway.CodeUnauthorized},
		{"verifier", bank, "health2", gateway.CodeForbidden},
		{"citizen", gateway.Principal{Role: gateway.RoleCitizen, SubjectID: testSubj("1")}, "health2", gateway.CodeForbidden},
	} {
		if _, err := s.RevokeAPIKey(c.p, c.id); gateway.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	for _, k := range ka.keys {
		if k.Revoked {
			t.Fatalf("a refusal revoked %s", k.ID)
		}
	}
	if k, err := s.RevokeAPIKey(health, "health2"); err != nil || !k.Revoked || k.RevokedBy != "health1" {
		t.Fatalf("own organisation's key: %+v %v", k, err)
	}
	if k, err := s.RevokeAPIKey(oper, "social1"); err != nil || !k.Revoked {
		t.Fatalf("operator: %+v %v", k, err)
	}
	// Verifier keys: operator only, name is a code.
	if _, err := s.CreateVerifier(health, "city-bank", ""); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("department issues a verifier key: %v", err)
	}
	if _, err := s.CreateVerifier(oper, "City Bank\n", ""); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("bad verifier name: %v", err)
	}
	v, err := s.CreateVerifier(oper, "city-bank", "loans")
	if err != nil || v.Key == "" || v.Verifier != "city-bank" || v.Role != gateway.RoleVerifier {
		t.Fatalf("verifier key: %+v %v", v, err)
	}
}

// The registry names a verify answer carries (none in these tests).
func (l *logLedger) Registry(context.Context, gateway.Actor) (*wire.Registry, error) {
	return &wire.Registry{}, nil
}
