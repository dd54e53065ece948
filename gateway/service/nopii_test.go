package service

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Personal data the tests try to put on the ledger.
const (
	rawIDNumber   = "110101202611201235" // resident identity number, valid check digit
	rawCreditCode = "91350100M000100Y43" // unified social credit code, valid check character
	piiText       = "出生医学证明 李小明 身份证110101202611201235"
)

func mustCode(t *testing.T, what string, err error, want gateway.Code) {
	t.Helper()
	if gateway.ErrorCode(err) != want {
		t.Fatalf("%s: got %v, want %s", what, err, want)
	}
	if strings.Contains(gateway.ErrorMessage(err), rawIDNumber) || strings.Contains(gateway.ErrorMessage(err), rawCreditCode) {
		t.Fatalf("%s: the message repeats the number: %s", what, gateway.ErrorMessage(err))
	}
	if err != nil && strings.Contains(err.Error(), rawIDNumber) {
		t.Fatalf("%s: the logged error repeats the number: %v", what, err)
	}
}

func TestCheckSubjectID(t *testing.T) {
	mustCode(t, "pseudonym", CheckSubjectID("subjectId", subj), "")
	for _, raw := range []string{rawIDNumber, rawCreditCode, " " + strings.ToLower(rawCreditCode) + " ", "11010120261120123x"[:17] + "5"} {
		mustCode(t, raw, CheckSubjectID("subjectId", raw), gateway.CodeRawIDNumber)
	}
	for _, bad := range []string{"", "p-1", "110101202611201234" /* wrong check digit */, "李小明", "P-AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH"} {
		mustCode(t, bad, CheckSubjectID("subjectId", bad), gateway.CodeInvalid)
	}
	if !strings.Contains(gateway.ErrorMessage(CheckSubjectID("subjectId", rawIDNumber)), "POST /v1/subjects/resolve") {
		t.Fatal("the message does not say how to resolve the number")
	}
}

// TestRawIDNumberNeverReachesTheLedger: every use case that takes a subject ID refuses a
// raw ID number before reading a file or calling the ledger (the fake ledger panics on
// any call it does not implement).
func TestRawIDNumberNeverReachesTheLedger(t *testing.T) {
	l, b, s := newFakes()
	ctx := context.Background()
	op := gateway.Principal{Role: gateway.RoleOperator, Org: "operator", MSPID: "OperatorMSP", User: "ops"}
	for _, raw := range []string{rawIDNumber, rawCreditCode} {
		in := appendInput("file")
		in.Meta.SubjectID = raw
		_, err := s.AppendRecord(ctx, health, in)
		mustCode(t, "append", err, gateway.CodeRawIDNumber)
		_, err = s.SupersedeRecord(ctx, health, "r-1", in)
		mustCode(t, "supersede", err, gateway.CodeRawIDNumber)
		next, items := files("a", "b")
		items[1].SubjectID = raw
		_, err = s.AppendBatch(ctx, health, items, next)
		mustCode(t, "batch", err, gateway.CodeRawIDNumber)
		_, err = s.ListDossier(ctx, health, raw, "", 0, "")
		mustCode(t, "list dossier", err, gateway.CodeRawIDNumber)
		_, err = s.ListGrants(ctx, op, raw, 0, "")
		mustCode(t, "list grants", err, gateway.CodeRawIDNumber)
		_, err = s.AccessLog(ctx, op, raw, 0, "")
		mustCode(t, "access log", err, gateway.CodeRawIDNumber)
		_, err = s.SubjectKeys(ctx, op, raw)
		mustCode(t, "list keys", err, gateway.CodeRawIDNumber)
		_, err = s.KeyEvents(ctx, op, raw, 0, "")
		mustCode(t, "key events", err, gateway.CodeRawIDNumber)
		_, err = s.CompleteKeyRecovery(ctx, raw, "r1")
		mustCode(t, "complete recovery", err, gateway.CodeRawIDNumber)
		_, err = s.CreateGrant(ctx, gateway.Principal{Role: gateway.RoleCitizen, SubjectID: raw}, raw, "e30=", "sig")
		mustCode(t, "create grant", err, gateway.CodeRawIDNumber)
	}
	if b.puts != 0 || l.endorsed != 0 || l.checks != 0 {
		t.Fatalf("files read %d, endorsements %d, checks %d", b.puts, l.endorsed, l.checks)
	}
}

// TestNoteIsKeptOffChain: a note goes to the blob store as a salted document in the
// request's blob batch (durable before the transaction); the ledger request carries
// only its CID; its readers get the text back.
func TestNoteIsKeptOffChain(t *testing.T) {
	l, b, s := newFakes()
	ctx := context.Background()
	in := appendInput("the file")
	in.Meta.Note = piiText
	res, err := s.AppendRecord(ctx, health, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.requests) != 1 || l.requests[0].NoteCID == "" || res.Record.NoteCID != l.requests[0].NoteCID {
		t.Fatalf("requests %+v", l.requests)
	}
	req, _ := json.Marshal(l.requests[0])
	if strings.Contains(string(req), "李小明") || strings.Contains(string(req), rawIDNumber) {
		t.Fatalf("the ledger request carries the note: %s", req)
	}
	if !l.durableAtSubmit || !b.isDurable(l.requests[0].NoteCID) {
		t.Fatal("the note was not durable before the transaction")
	}
	var doc NoteDocument
	if err := json.Unmarshal(b.data[l.requests[0].NoteCID], &doc); err != nil || doc.Text != piiText || len(doc.Salt) != 44 {
		t.Fatalf("note document %q: %v", b.data[l.requests[0].NoteCID], err)
	}
	// The same text again: another salt, another CID (a guessed text cannot be tested).
	in = appendInput("the file")
	in.Meta.Note = piiText
	in.IdempotencyKey = "second"
	if _, err := s.AppendRecord(ctx, health, in); err != nil {
		t.Fatal(err)
	}
	if l.requests[1].NoteCID == l.requests[0].NoteCID {
		t.Fatal("the same note got the same CID twice")
	}
	// An idempotent retry names the same note document (keyed salt), another key another.
	for _, key := range []string{"line-7", "line-7", "line-8"} {
		in = appendInput("retried file")
		in.Meta.Note = piiText
		in.IdempotencyKey = key
		if _, err := s.AppendRecord(ctx, health, in); err != nil {
			t.Fatal(err)
		}
	}
	n := len(l.requests)
	if a, b, c := l.requests[n-3].NoteCID, l.requests[n-2].NoteCID, l.requests[n-1].NoteCID; a != b || a == c || a == l.requests[0].NoteCID {
		t.Fatalf("note CIDs of retries: %s %s %s", a, b, c)
	}
	if s2 := New(l, b, nil, Config{NoteKey: NoteKey([]byte("another platform secret of 32 bytes"))}); s2.noteSalt("M", "r", "t", true) == nil ||
		bytes.Equal(s2.noteSalt("M", "r", "t", true), s.noteSalt("M", "r", "t", true)) {
		t.Fatal("the note key does not key the salt")
	}
	// The issuer reads the note back; the public never gets it.
	view, err := s.GetRecord(ctx, health, res.Record.RecordID)
	if err != nil || view.Note != piiText || view.NoteCID != res.Record.NoteCID {
		t.Fatalf("GetRecord = %+v, %v", view, err)
	}
	other := gateway.Principal{Role: gateway.RoleDepartment, Org: "social", MSPID: "SocialMSP", User: "clerk"}
	if _, err := s.GetRecord(ctx, other, res.Record.RecordID); gateway.ErrorCode(err) != gateway.CodeNotFound {
		t.Fatalf("another department without a grant: %v", err)
	}
	if _, err := s.GetRecord(ctx, gateway.Principal{Role: gateway.RolePublic}, res.Record.RecordID); err == nil {
		t.Fatal("the public reads record metadata")
	}
	// No note, no note CID; a note too long is refused before anything is read.
	if _, err := s.AppendRecord(ctx, health, appendInput("plain")); err != nil || l.requests[len(l.requests)-1].NoteCID != "" {
		t.Fatalf("append without a note: %v %+v", err, l.requests[len(l.requests)-1])
	}
	puts := b.puts
	in = appendInput("x")
	in.Meta.Note = strings.Repeat("字", wire.MaxNoteBytes)
	if _, err := s.AppendRecord(ctx, health, in); gateway.ErrorCode(err) != gateway.CodeInvalid || b.puts != puts {
		t.Fatalf("long note: %v", err)
	}
	// A refused transaction stores neither the file nor the note.
	l2, b2, s2 := newFakes()
	l2.checkErr = gateway.Errorf(gateway.CodeForbidden, "not accredited")
	in = appendInput("refused")
	in.Meta.Note = piiText
	if _, err := s2.AppendRecord(ctx, health, in); gateway.ErrorCode(err) != gateway.CodeForbidden || b2.count() != 0 || b2.staged != 0 {
		t.Fatalf("refused append: %v, blobs %d, staged %d", err, b2.count(), b2.staged)
	}
}

func TestBatchNotes(t *testing.T) {
	l, b, s := newFakes()
	next, items := files("a", "b")
	items[0].Note = piiText
	if _, err := s.AppendBatch(context.Background(), health, items, next); err != nil {
		t.Fatal(err)
	}
	if len(l.requests) != 2 || l.requests[0].NoteCID == "" || l.requests[1].NoteCID != "" || !b.isDurable(l.requests[0].NoteCID) {
		t.Fatalf("requests %+v", l.requests)
	}
}

// TestCodesNotText: revocation reasons and read purposes are codes; free text is refused
// before the ledger is asked.
func TestCodesNotText(t *testing.T) {
	_, _, s := newFakes()
	ctx := context.Background()
	for _, text := range []string{piiText, "issued in error", ""} {
		if _, err := s.RevokeRecord(ctx, health, "r-1", text); gateway.ErrorCode(err) != gateway.CodeInvalid {
			t.Fatalf("revoke with %q: %v", text, err)
		}
		if _, err := s.ReadContent(ctx, health, "r-1", "g-1", text); gateway.ErrorCode(err) != gateway.CodeInvalid {
			t.Fatalf("read with purpose %q: %v", text, err)
		}
	}
}

type verifyLedger struct {
	*fakeLedger
}

func (verifyLedger) TxBlock(context.Context, gateway.Actor, string, string) (uint64, error) {
	return 3, nil
}
func (verifyLedger) MunicipalChannel() string { return "municipal" }
func (verifyLedger) Registry(context.Context, gateway.Actor) (*wire.Registry, error) {
	return &wire.Registry{
		RecordTypes: []wire.RecordType{{Code: "birth", Name: "Birth medical certificate"}},
		Departments: []wire.Department{{MSPID: "HealthMSP", Name: "Health Commission", Code: "health", Active: true}},
		Reasons:     []wire.Reason{{Code: "issued-in-error", Name: "Issued in error"}},
	}, nil
}

// TestVerifyAnswerHasNoFreeText: the public answer names codes and their registered
// names; it carries no note (nor its CID) and no subject.
func TestVerifyAnswerHasNoFreeText(t *testing.T) {
	fl, b, _ := newFakes()
	s := New(verifyLedger{fl}, b, nil, Config{OrphanGrace: fakeGrace})
	in := appendInput("verify me")
	in.Meta.Note = piiText
	res, err := s.AppendRecord(context.Background(), health, in)
	if err != nil {
		t.Fatal(err)
	}
	r := fl.records[res.Record.RecordID]
	r.Status, r.Reason = wire.StatusRevoked, "issued-in-error"
	fl.records[r.RecordID] = r
	v, err := s.VerifyFile(context.Background(), gateway.Principal{Role: gateway.RolePublic}, strings.NewReader("verify me"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(v)
	for _, leak := range []string{"李小明", rawIDNumber, r.NoteCID, r.SubjectID, `"note`, `"title"`} {
		if strings.Contains(string(got), leak) {
			t.Fatalf("verify answer carries %q: %s", leak, got)
		}
	}
	vr := v.Records[0]
	if vr.TypeName != "Birth medical certificate" || vr.IssuerName != "Health Commission" || vr.Reason != "issued-in-error" || vr.ReasonName != "Issued in error" || v.Status != Revoked {
		t.Fatalf("verify answer %s", got)
	}
}
