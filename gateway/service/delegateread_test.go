package service

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

func (l *logLedger) RecordDelegateAccess(_ context.Context, a gateway.Actor, statement, signature string) (*wire.AccessEntry, gateway.Receipt, error) {
	if l.logErr != nil {
		return nil, gateway.Receipt{}, l.logErr
	}
	st, _, err := wire.ParseDelegateRead([]byte(statement))
	if err != nil {
		return nil, gateway.Receipt{}, err
	}
	e := wire.AccessEntry{Kind: wire.AccessDelegate, Action: st.Action, SubjectID: st.SubjectID, RecordID: st.RecordID, DelegateID: st.DelegateID, DelegationID: st.DelegationID, TxID: "tx-deleg"}
	l.entries = append(l.entries, e)
	l.actors = append(l.actors, a)
	return &e, gateway.Receipt{Channel: "datashare", TxID: "tx-deleg", Block: 11}, nil
}

func readStatement(t *testing.T, subject, delegate, action, recordID string) DelegateRead {
	t.Helper()
	b, err := wire.Marshal(wire.DelegateRead{Kind: wire.DelegateReadKind, SubjectID: subject, DelegateID: delegate, DelegationID: "d-1",
		Action: action, RecordID: recordID, IssuedAt: "2026-12-01T10:00:00Z", Nonce: "nonce-0000000001"})
	if err != nil {
		t.Fatal(err)
	}
	return DelegateRead{Document: base64.StdEncoding.EncodeToString(b), Signature: "sig"}
}

func TestDelegateReads(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l, s := newLogFakes(OwnershipLimits{}, &now)
	ctx := context.Background()
	child, parent := testSubj("1"), testSubj("parent")
	me := gateway.Principal{Role: gateway.RoleCitizen, SubjectID: parent}
	page, err := s.DelegateListDossier(ctx, me, child, readStatement(t, child, parent, wire.SelfList, ""), "", 0, "")
	if err != nil || len(page.Records) != 1 || page.Records[0].RecordID != "r1" {
		t.Fatalf("child's dossier: %+v %v", page, err)
	}
	c, err := s.DelegateReadContent(ctx, me, "r1", readStatement(t, child, parent, wire.SelfContent, "r1"))
	if err != nil || c.Receipt.TxID != "tx-deleg" || c.Entry.DelegateID != parent {
		t.Fatalf("child's file: %+v %v", c, err)
	}
	c.Body.Close()
	if len(l.entries) != 2 || l.entries[0].Kind != wire.AccessDelegate || l.actors[0] != platform || l.entries[1].RecordID != "r1" {
		t.Fatalf("log %+v by %+v", l.entries, l.actors)
	}
	// Refusals before the ledger: nothing logged.
	stranger := gateway.Principal{Role: gateway.RoleCitizen, SubjectID: testSubj("stranger")}
	noSig := readStatement(t, child, parent, wire.SelfList, "")
	noSig.Signature = ""
	for name, c := range map[string]struct {
		err  error
		code gateway.Code
	}{
		"another delegate's statement": {func() error {
			_, err := s.DelegateListDossier(ctx, stranger, child, readStatement(t, child, parent, wire.SelfList, ""), "", 0, "")
			return err
		}(), gateway.CodeForbidden},
		"a statement for another subject": {func() error {
			_, err := s.DelegateListDossier(ctx, me, testSubj("2"), readStatement(t, child, parent, wire.SelfList, ""), "", 0, "")
			return err
		}(), gateway.CodeInvalid},
		"a listing statement used for a file": {func() error {
			_, err := s.DelegateReadContent(ctx, me, "r1", readStatement(t, child, parent, wire.SelfList, ""))
			return err
		}(), gateway.CodeInvalid},
		"a statement for another file": {func() error {
			_, err := s.DelegateReadContent(ctx, me, "r1", readStatement(t, child, parent, wire.SelfContent, "r2"))
			return err
		}(), gateway.CodeInvalid},
		"another subject's record": {func() error {
			_, err := s.DelegateReadContent(ctx, me, "r2", readStatement(t, child, parent, wire.SelfContent, "r2"))
			return err
		}(), gateway.CodeNotFound},
		"no signature": {func() error {
			_, err := s.DelegateListDossier(ctx, me, child, noSig, "", 0, "")
			return err
		}(), gateway.CodeBadSignature},
		"not base64": {func() error {
			_, err := s.DelegateListDossier(ctx, me, child, DelegateRead{Document: "%%", Signature: "x"}, "", 0, "")
			return err
		}(), gateway.CodeInvalid},
		"a department": {func() error {
			_, err := s.DelegateListDossier(ctx, social, child, readStatement(t, child, parent, wire.SelfList, ""), "", 0, "")
			return err
		}(), gateway.CodeForbidden},
	} {
		if gateway.ErrorCode(c.err) != c.code {
			t.Errorf("%s: %v, want %s", name, c.err, c.code)
		}
	}
	if len(l.entries) != 2 {
		t.Fatalf("refusals logged: %+v", l.entries[2:])
	}
	// The delegate's signed request without a statement is not a self read of the child.
	if _, err := s.ListDossier(ctx, me, child, "", 0, ""); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("delegate listing without a statement: %v", err)
	}
	if _, err := s.ReadContent(ctx, me, "r1", "", ""); gateway.ErrorCode(err) != gateway.CodeNotFound {
		t.Fatalf("delegate file without a statement: %v", err)
	}
	// No answer without the log entry.
	l.logErr = gateway.Errorf(gateway.CodeUnavailable, "down")
	if _, err := s.DelegateReadContent(ctx, me, "r1", readStatement(t, child, parent, wire.SelfContent, "r1")); gateway.ErrorCode(err) != gateway.CodeUnavailable {
		t.Fatalf("unlogged file: %v", err)
	}
	if len(l.entries) != 2 {
		t.Fatalf("entries %+v", l.entries)
	}
}
