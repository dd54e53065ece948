package sharing_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
	"github.com/edossier-city/edossier/chaincode/wire"
)

var nonceSeq int

// statement encodes a key statement of kind for s, issued at the fake clock's time.
func (s *subject) statement(t *testing.T, e *cctest.Env, kind string, mod func(*wire.KeyStatement)) []byte {
	t.Helper()
	nonceSeq++
	if kind != wire.KeyBindKind {
		e.Net.Advance(time.Second) // key log entries of one subject sort by time
	}
	st := wire.KeyStatement{Kind: kind, SubjectID: s.id, IssuedAt: wire.FormatTime(e.Net.Now), Nonce: fmt.Sprintf("nonce-%012d", nonceSeq)}
	switch kind {
	case wire.KeyBindKind, wire.KeyAddKind, wire.KeyRecoveryKind:
		st.PublicKeyPEM = s.pem
	}
	if mod != nil {
		mod(&st)
	}
	b, err := wire.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bindBy submits s's bind statement (proof of possession by s) as id.
func (s *subject) bindBy(t *testing.T, e *cctest.Env, id *fakeledger.Identity) fakeledger.Result {
	t.Helper()
	doc := s.statement(t, e, wire.KeyBindKind, nil)
	return e.Sharing(id, "BindSubjectKey", string(doc), s.sign(t, doc))
}

// bind binds s as its subject's first key through the identity authority.
func (s *subject) bind(t *testing.T, e *cctest.Env) wire.SubjectKey {
	t.Helper()
	return cctest.Decode[wire.SubjectKey](t, e.OK(s.bindBy(t, e, e.Authority)))
}

// addBy adds device (a key of the same subject) with the signature of signer.
func (s *subject) add(t *testing.T, e *cctest.Env, signer *subject) fakeledger.Result {
	t.Helper()
	doc := s.statement(t, e, wire.KeyAddKind, nil)
	return e.Sharing(e.Outsider, "AddSubjectKey", string(doc), signer.sign(t, doc), s.sign(t, doc))
}

func (s *subject) keyID(t *testing.T) string {
	t.Helper()
	_, _, id, err := wire.ParseSubjectPublicKey(s.pem)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *subject) remove(t *testing.T, e *cctest.Env, signer *subject) fakeledger.Result {
	t.Helper()
	doc := s.statement(t, e, wire.KeyRemoveKind, func(st *wire.KeyStatement) { st.KeyID = s.keyID(t) })
	return e.Sharing(e.Outsider, "RemoveSubjectKey", string(doc), signer.sign(t, doc))
}

// grantWorks reports whether a fresh grant signed by s is accepted.
func (s *subject) grantWorks(t *testing.T, e *cctest.Env) wire.Code {
	t.Helper()
	nonceSeq++
	g := s.grant(fmt.Sprintf("g-%d", nonceSeq), cctest.Civil, []string{cctest.BirthCert}, nil)
	g.ExpiresAt = "2026-01-01T00:00:00Z"
	doc := encode(t, g)
	r := e.Sharing(e.Civil, "CreateGrant", string(doc), s.sign(t, doc))
	if r.OK() {
		return ""
	}
	return r.Err().Code
}

func keyEvents(t *testing.T, e *cctest.Env, subjectID string) []wire.KeyEvent {
	t.Helper()
	return cctest.Decode[wire.KeyEventPage](t, e.OK(e.SharingQ(e.Op, "KeyEvents", subjectID, "", ""))).Events
}

func TestBindSubjectKey(t *testing.T) {
	e := cctest.NewEnv(t)
	e.BootstrapSharing()
	s := newSubject(t, cctest.Subject("1"))

	// Nobody but an identity authority attests a first key: not the operator (even
	// though this test network lists it as one), not a department, not an outsider.
	for _, id := range []*fakeledger.Identity{e.Op, e.Health, e.Outsider} {
		r := s.bindBy(t, e, id)
		if r.OK() || r.Err().Code != wire.CodeForbidden || r.Writes != 0 {
			t.Fatalf("%s bound a key: %v", id.MSPID, r.Err())
		}
	}
	// Proof of possession: signed by another key, not at all, or by the new key over
	// other bytes.
	doc := s.statement(t, e, wire.KeyBindKind, nil)
	for i, sig := range []string{newSubject(t, cctest.Subject("1")).sign(t, doc), "", s.sign(t, append(doc, ' '))} {
		r := e.Sharing(e.Authority, "BindSubjectKey", string(doc), sig)
		if r.OK() || r.Err().Code != wire.CodeBadSignature || r.Writes != 0 {
			t.Fatalf("pop %d: %v", i, r.Err())
		}
	}
	// Malformed statements and keys.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	privDER, _ := x509.MarshalECPrivateKey(s.priv)
	raw := string(s.statement(t, e, wire.KeyBindKind, nil))
	invalid := []string{
		"", "{}", raw + "{}", strings.Replace(raw, `"kind":`, `"Kind":`, 1),
		strings.Replace(raw, `"nonce":`, `"extra":1,"nonce":`, 1),
		strings.Replace(raw, `"subjectId":"`+cctest.Subject("1")+`"`, `"subjectId":"p 1"`, 1),
		string(s.statement(t, e, wire.KeyAddKind, nil)), // another kind
		string(s.statement(t, e, wire.KeyBindKind, func(st *wire.KeyStatement) { st.Nonce = "short" })),
		string(s.statement(t, e, wire.KeyBindKind, func(st *wire.KeyStatement) { st.KeyID = strings.Repeat("a", 64) })),
		string(s.statement(t, e, wire.KeyBindKind, func(st *wire.KeyStatement) { st.IssuedAt = "yesterday" })),
		string(s.statement(t, e, wire.KeyBindKind, func(st *wire.KeyStatement) {
			st.IssuedAt = wire.FormatTime(e.Net.Now.Add(10 * time.Minute))
		})),
	}
	for _, pemText := range []string{"", "garbage", pubPEM(t, &rsaKey.PublicKey), pubPEM(t, &p384.PublicKey),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: privDER})), s.pem + "trailing"} {
		invalid = append(invalid, string(s.statement(t, e, wire.KeyBindKind, func(st *wire.KeyStatement) { st.PublicKeyPEM = pemText })))
	}
	for i, d := range invalid {
		r := e.Sharing(e.Authority, "BindSubjectKey", d, s.sign(t, []byte(d)))
		if r.OK() || r.Err().Code != wire.CodeInvalid || r.Writes != 0 {
			t.Errorf("invalid %d: %v", i, r.Err())
		}
	}
	// A statement signed more than an hour ago.
	old := s.statement(t, e, wire.KeyBindKind, func(st *wire.KeyStatement) {
		st.IssuedAt = wire.FormatTime(e.Net.Now.Add(-wire.MaxStatementAge - time.Second))
	})
	e.Code(e.Sharing(e.Authority, "BindSubjectKey", string(old), s.sign(t, old)), wire.CodeExpired)

	// The authority binds the key the subject proved it holds.
	doc = s.statement(t, e, wire.KeyBindKind, nil)
	pop := s.sign(t, doc)
	res := e.Sharing(e.Authority, "BindSubjectKey", string(doc), pop)
	k := cctest.Decode[wire.SubjectKey](t, e.OK(res))
	_, canon, keyID, _ := wire.ParseSubjectPublicKey(s.pem)
	if k.SubjectID != s.id || k.KeyID != keyID || k.PublicKeyPEM != canon || k.Status != wire.KeyActive ||
		k.AddedBy != "attestation:"+cctest.Authority || k.AddedTx != res.TxID || k.AddedAt != wire.FormatTime(e.Net.Now) {
		t.Fatalf("got %+v", k)
	}
	// No key-level policy: the chaincode's majority policy guards the key, not one
	// organisation's peer.
	if p := e.Net.Channel(cctest.Datashare).ValidationParameter(compositeKey(t, "skey", s.id, keyID)); p != nil {
		t.Fatalf("key has a key-level endorsement policy %x", p)
	}
	if res.Event.Name != wire.EventSubjectKeyChanged {
		t.Fatalf("event %q", res.Event.Name)
	}
	// The same statement again is a replay; a new statement for a subject that has a
	// key is a conflict (add a key with it, or recover).
	e.Code(e.Sharing(e.Authority, "BindSubjectKey", string(doc), pop), wire.CodeConflict)
	e.Code(newSubject(t, cctest.Subject("1")).bindBy(t, e, e.Authority), wire.CodeConflict)

	if got := cctest.Decode[wire.SubjectKey](t, e.OK(e.SharingQ(e.Op, "GetSubjectKey", s.id, keyID))); got != k {
		t.Fatalf("got %+v", got)
	}
	ev := keyEvents(t, e, s.id)
	if len(ev) != 1 || ev[0].Type != wire.KeyEventBound || ev[0].KeyID != keyID || ev[0].Org != cctest.Authority || ev[0].TxID != res.TxID {
		t.Fatalf("events %+v", ev)
	}
	if s.grantWorks(t, e) != "" {
		t.Fatal("bound key cannot sign a grant")
	}

	// An identity authority that the operator deactivated attests nothing.
	e.OK(e.Dossier(e.Op, "DeactivateDepartment", cctest.Authority))
	e.Code(newSubject(t, cctest.Subject("2")).bindBy(t, e, e.Authority), wire.CodeForbidden)
}

func TestAddAndRemoveKeys(t *testing.T) {
	e := cctest.NewEnv(t)
	e.BootstrapSharing()
	phone := newSubject(t, cctest.Subject("1"))
	laptop := newSubject(t, cctest.Subject("1"))
	stranger := newSubject(t, cctest.Subject("1"))
	// No key yet: nothing can add one.
	e.Code(laptop.add(t, e, phone), wire.CodeUnknownKey)
	phone.bind(t, e)

	// Signed by a key that is not the subject's, or without proof of possession.
	e.Code(laptop.add(t, e, stranger), wire.CodeBadSignature)
	doc := laptop.statement(t, e, wire.KeyAddKind, nil)
	e.Code(e.Sharing(e.Op, "AddSubjectKey", string(doc), phone.sign(t, doc), stranger.sign(t, doc)), wire.CodeBadSignature)
	e.Code(e.Sharing(e.Op, "AddSubjectKey", string(phone.statement(t, e, wire.KeyBindKind, nil)), "", ""), wire.CodeInvalid)

	// Added by the phone: works at once.
	k := cctest.Decode[wire.SubjectKey](t, e.OK(laptop.add(t, e, phone)))
	if k.Status != wire.KeyActive || k.AddedBy != "key:"+phone.keyID(t) {
		t.Fatalf("added %+v", k)
	}
	if c := laptop.grantWorks(t, e); c != "" {
		t.Fatalf("added key cannot sign: %s", c)
	}
	e.Code(laptop.add(t, e, phone), wire.CodeConflict) // known already

	// The laptop removes the phone (lost); the phone signs nothing any more.
	r := cctest.Decode[wire.SubjectKey](t, e.OK(phone.remove(t, e, laptop)))
	if r.Status != wire.KeyRemoved || r.RemovedBy != "key:"+laptop.keyID(t) {
		t.Fatalf("removed %+v", r)
	}
	if c := phone.grantWorks(t, e); c != wire.CodeBadSignature {
		t.Fatalf("removed key signed a grant: %s", c)
	}
	e.Code(stranger.add(t, e, phone), wire.CodeBadSignature)
	e.Code(phone.remove(t, e, laptop), wire.CodeNotFound)
	e.Code(phone.add(t, e, laptop), wire.CodeConflict) // a removed key never comes back
	// The last active key stays.
	e.Code(laptop.remove(t, e, laptop), wire.CodeConflict)

	// At most MaxActiveKeys active keys.
	for i := 1; i < wire.MaxActiveKeys; i++ {
		e.OK(newSubject(t, cctest.Subject("1")).add(t, e, laptop))
	}
	e.Code(newSubject(t, cctest.Subject("1")).add(t, e, laptop), wire.CodeConflict)

	types := []string{}
	for _, ev := range keyEvents(t, e, cctest.Subject("1")) {
		types = append(types, ev.Type)
	}
	if strings.Join(types[:3], ",") != "bound,added,removed" || len(types) != 3+wire.MaxActiveKeys-1 {
		t.Fatalf("events %v", types)
	}
}

func TestKeyRecovery(t *testing.T) {
	e := cctest.NewEnv(t)
	e.BootstrapSharing()
	phone := newSubject(t, cctest.Subject("1"))
	newPhone := newSubject(t, cctest.Subject("1"))
	request := func(id *fakeledger.Identity, s *subject) fakeledger.Result {
		doc := s.statement(t, e, wire.KeyRecoveryKind, nil)
		return e.Sharing(id, "RequestKeyRecovery", string(doc), s.sign(t, doc))
	}
	cancel := func(recoveryID string, signer *subject) fakeledger.Result {
		doc := phone.statement(t, e, wire.KeyRecoveryCancelKind, func(st *wire.KeyStatement) { st.RecoveryID = recoveryID })
		return e.Sharing(e.Outsider, "CancelKeyRecovery", string(doc), signer.sign(t, doc))
	}
	complete := func(id string) fakeledger.Result {
		e.Net.Advance(time.Second)
		return e.Sharing(e.Outsider, "CompleteKeyRecovery", cctest.Subject("1"), id)
	}
	e.Code(request(e.Authority, newPhone), wire.CodeUnknownKey) // nothing to recover: bind instead
	phone.bind(t, e)
	e.Code(request(e.Op, newPhone), wire.CodeForbidden)
	e.Code(request(e.Health, newPhone), wire.CodeForbidden)

	// A recovery the citizen cancels never takes effect.
	rec := cctest.Decode[wire.KeyRecovery](t, e.OK(request(e.Authority, newPhone)))
	if rec.Status != wire.RecoveryPending || rec.EffectiveAt != wire.FormatTime(e.Net.Now.Add(cctest.RecoveryDelay)) || rec.AttestedBy != cctest.Authority {
		t.Fatalf("recovery %+v", rec)
	}
	e.Code(request(e.Authority, newSubject(t, cctest.Subject("1"))), wire.CodeConflict) // one pending at a time
	e.Code(complete(rec.RecoveryID), wire.CodeNotYetValid)
	if c := newPhone.grantWorks(t, e); c != wire.CodeBadSignature {
		t.Fatalf("pending key signed a grant: %s", c)
	}
	e.Code(cancel(rec.RecoveryID, newPhone), wire.CodeBadSignature) // the pending key cannot cancel
	e.Code(cancel("no-such", phone), wire.CodeNotFound)
	c := cctest.Decode[wire.KeyRecovery](t, e.OK(cancel(rec.RecoveryID, phone)))
	if c.Status != wire.RecoveryCancelled || c.ClosedBy != "key:"+phone.keyID(t) {
		t.Fatalf("cancelled %+v", c)
	}
	e.Net.Advance(cctest.RecoveryDelay + time.Hour)
	e.Code(complete(rec.RecoveryID), wire.CodeConflict)
	e.Code(cancel(rec.RecoveryID, phone), wire.CodeConflict)
	if code := newPhone.grantWorks(t, e); code != wire.CodeBadSignature {
		t.Fatalf("cancelled recovery's key signed: %s", code)
	}
	if phone.grantWorks(t, e) != "" {
		t.Fatal("the phone lost its key")
	}

	// A recovery nobody cancels takes effect after the time lock: the old keys go.
	other := newSubject(t, cctest.Subject("1"))
	rec2 := cctest.Decode[wire.KeyRecovery](t, e.OK(request(e.Authority, other)))
	e.Net.Advance(cctest.RecoveryDelay - time.Minute)
	e.Code(complete(rec2.RecoveryID), wire.CodeNotYetValid)
	e.Net.Advance(time.Minute)
	nk := cctest.Decode[wire.SubjectKey](t, e.OK(complete(rec2.RecoveryID)))
	if nk.KeyID != other.keyID(t) || nk.Status != wire.KeyActive || nk.AddedBy != "recovery:"+rec2.RecoveryID {
		t.Fatalf("recovered key %+v", nk)
	}
	if code := phone.grantWorks(t, e); code != wire.CodeBadSignature {
		t.Fatalf("old key still signs: %s", code)
	}
	if other.grantWorks(t, e) != "" {
		t.Fatal("recovered key cannot sign")
	}
	e.Code(complete(rec2.RecoveryID), wire.CodeConflict)

	keys := cctest.Decode[wire.SubjectKeys](t, e.OK(e.SharingQ(e.Op, "ListSubjectKeys", cctest.Subject("1"))))
	if len(keys.Keys) != 2 || len(keys.Recoveries) != 2 {
		t.Fatalf("keys %+v", keys)
	}
	types := []string{}
	for _, ev := range keyEvents(t, e, cctest.Subject("1")) {
		types = append(types, ev.Type)
	}
	if got := strings.Join(types, ","); got != "bound,recovery-requested,recovery-cancelled,recovery-requested,recovery-effective" {
		t.Fatalf("events %s", got)
	}
}

func TestKeyQueriesOperatorOnly(t *testing.T) {
	e := cctest.NewEnv(t)
	e.BootstrapSharing()
	s := newSubject(t, cctest.Subject("1"))
	s.bind(t, e)
	for _, id := range []*fakeledger.Identity{e.Health, e.Authority, e.Outsider} {
		e.Code(e.SharingQ(id, "GetSubjectKey", s.id, s.keyID(t)), wire.CodeForbidden)
		e.Code(e.SharingQ(id, "ListSubjectKeys", s.id), wire.CodeForbidden)
		e.Code(e.SharingQ(id, "KeyEvents", s.id, "", ""), wire.CodeForbidden)
	}
	e.Code(e.SharingQ(e.Op, "GetSubjectKey", s.id, strings.Repeat("0", 64)), wire.CodeNotFound)
	e.Code(e.SharingQ(e.Op, "GetSubjectKey", s.id, "short"), wire.CodeInvalid)
	if raw := e.OK(e.SharingQ(e.Op, "ListSubjectKeys", cctest.Subject("none"))); string(raw) != `{"subjectId":"`+cctest.Subject("none")+`","keys":[],"recoveries":[]}` {
		t.Fatalf("no keys: %s", raw)
	}
}
