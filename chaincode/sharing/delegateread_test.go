package sharing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// readDoc is a delegate's read statement.
func readDoc(t *testing.T, e *cctest.Env, subjectID, delegateID, delegationID, action, recordID string) []byte {
	t.Helper()
	nonceSeq++
	b, err := wire.Marshal(wire.DelegateRead{Kind: wire.DelegateReadKind, SubjectID: subjectID, DelegateID: delegateID, DelegationID: delegationID,
		Action: action, RecordID: recordID, IssuedAt: wire.FormatTime(e.Net.Now), Nonce: fmt.Sprintf("nonce-%012d", nonceSeq)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRecordDelegateAccess(t *testing.T) {
	e, child := setup(t) // subject p-1 holds b1, m1, l1
	parent := newSubject(t, cctest.Subject("parent"))
	parent.bind(t, e)
	stranger := newSubject(t, cctest.Subject("stranger"))
	stranger.bind(t, e)
	ends := e.Net.Now.Add(48 * time.Hour)
	doc := delegationDoc(t, e, child.id, parent, wire.RelationGuardian, ends)
	d := cctest.Decode[wire.Delegation](t, e.OK(bindDelegation(e, e.Authority, doc, parent.sign(t, doc))))

	// The guardian lists the child's dossier and reads a file: each entry names the
	// delegate, the delegation, the relation and the key that signed.
	list := readDoc(t, e, child.id, parent.id, d.DelegationID, wire.SelfList, "")
	res := e.Sharing(e.Op, "RecordDelegateAccess", string(list), parent.sign(t, list))
	a := cctest.Decode[wire.AccessEntry](t, e.OK(res))
	if a.Kind != wire.AccessDelegate || a.Action != wire.SelfList || a.SubjectID != child.id || a.DelegateID != parent.id ||
		a.DelegationID != d.DelegationID || a.Relation != wire.RelationGuardian || a.SignerKeyID != parent.keyID(t) || a.Org != cctest.Operator || a.TxID != res.TxID {
		t.Fatalf("entry %+v", a)
	}
	if res.Writes != 2 || res.Event == nil || res.Event.Name != wire.EventAccessRecorded {
		t.Fatalf("writes %d (the entry and the statement's marker), event %+v", res.Writes, res.Event)
	}
	e.Net.Advance(time.Second)
	content := readDoc(t, e, child.id, parent.id, d.DelegationID, wire.SelfContent, "b1")
	a = cctest.Decode[wire.AccessEntry](t, e.OK(e.Sharing(e.Op, "RecordDelegateAccess", string(content), parent.sign(t, content))))
	if a.Action != wire.SelfContent || a.RecordID != "b1" || a.RecordType != cctest.BirthCert || a.DelegateID != parent.id {
		t.Fatalf("entry %+v", a)
	}

	// Refusals write nothing.
	sig := parent.sign(t, content)
	e.Code(e.Sharing(e.Op, "RecordDelegateAccess", string(content), sig), wire.CodeConflict) // replayed statement
	for name, c := range map[string]struct {
		doc  []byte
		sign *subject
		by   string
		code wire.Code
	}{
		"the child's own key signs a delegate read":    {readDoc(t, e, child.id, parent.id, d.DelegationID, wire.SelfList, ""), child, "op", wire.CodeBadSignature},
		"a stranger signs as the parent":               {readDoc(t, e, child.id, parent.id, d.DelegationID, wire.SelfList, ""), stranger, "op", wire.CodeBadSignature},
		"a stranger names the parent's delegation":     {readDoc(t, e, child.id, stranger.id, d.DelegationID, wire.SelfList, ""), stranger, "op", wire.CodeForbidden},
		"the delegation of another subject":            {readDoc(t, e, cctest.Subject("2"), parent.id, d.DelegationID, wire.SelfList, ""), parent, "op", wire.CodeNotFound},
		"a record of another dossier":                  {readDoc(t, e, child.id, parent.id, d.DelegationID, wire.SelfContent, "b2"), parent, "op", wire.CodeNotFound},
		"a listing naming a record":                    {readDoc(t, e, child.id, parent.id, d.DelegationID, wire.SelfList, "b1"), parent, "op", wire.CodeInvalid},
		"a department submits it":                      {readDoc(t, e, child.id, parent.id, d.DelegationID, wire.SelfList, ""), parent, "civil", wire.CodeForbidden},
		"the subject names itself as its own delegate": {readDoc(t, e, child.id, child.id, d.DelegationID, wire.SelfList, ""), child, "op", wire.CodeInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			by := e.Op
			if c.by == "civil" {
				by = e.Civil
			}
			e.Code(e.Sharing(by, "RecordDelegateAccess", string(c.doc), c.sign.sign(t, c.doc)), c.code)
		})
	}
	// A stale statement.
	old := readDoc(t, e, child.id, parent.id, d.DelegationID, wire.SelfList, "")
	e.Net.Advance(wire.MaxStatementAge + time.Minute)
	e.EndorserClock = nil
	e.Code(e.Sharing(e.Op, "RecordDelegateAccess", string(old), parent.sign(t, old)), wire.CodeExpired)

	// Past the delegation's end date: expired.
	e.Net.Advance(ends.Sub(e.Net.Now) + time.Second)
	late := readDoc(t, e, child.id, parent.id, d.DelegationID, wire.SelfList, "")
	e.Code(e.Sharing(e.Op, "RecordDelegateAccess", string(late), parent.sign(t, late)), wire.CodeExpired)

	// The log shows two delegate reads and no self read.
	log := cctest.Decode[wire.AccessPage](t, e.OK(e.SharingQ(e.Op, "AccessLog", child.id, "", "")))
	if len(log.Entries) != 2 || log.Entries[0].Kind != wire.AccessDelegate || log.Entries[1].Kind != wire.AccessDelegate {
		t.Fatalf("log %+v", log.Entries)
	}
}

func TestRecordDelegateAccessAfterRevocation(t *testing.T) {
	e, child := setup(t)
	rep := newSubject(t, cctest.Subject("rep"))
	rep.bind(t, e)
	doc := delegationDoc(t, e, child.id, rep, wire.RelationGuardian, e.Net.Now.Add(time.Hour))
	d := cctest.Decode[wire.Delegation](t, e.OK(bindDelegation(e, e.Authority, doc, rep.sign(t, doc))))
	ok := readDoc(t, e, child.id, rep.id, d.DelegationID, wire.SelfGet, "m1")
	e.OK(e.Sharing(e.Op, "RecordDelegateAccess", string(ok), rep.sign(t, ok)))
	rev := revocationOfDelegation(t, e, child.id, d.DelegationID)
	e.OK(e.Sharing(e.Outsider, "RevokeDelegation", string(rev), child.sign(t, rev)))
	after := readDoc(t, e, child.id, rep.id, d.DelegationID, wire.SelfGet, "m1")
	e.Code(e.Sharing(e.Op, "RecordDelegateAccess", string(after), rep.sign(t, after)), wire.CodeRevoked)
}
