package sharing_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

type subject struct {
	id   string
	priv *ecdsa.PrivateKey
	pem  string
}

func newSubject(t *testing.T, id string) *subject {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &subject{id: id, priv: k, pem: pubPEM(t, &k.PublicKey)}
}

func pubPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func (s *subject) sign(t *testing.T, doc []byte) string {
	t.Helper()
	sig, err := wire.SignDocument(s.priv, doc)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func (s *subject) grant(id, grantee string, types, ids []string) wire.Grant {
	return wire.Grant{
		Kind: wire.GrantKind, GrantID: id, SubjectID: s.id, Grantee: grantee,
		Scope:     wire.GrantScope{RecordTypes: types, RecordIDs: ids},
		Purpose:   cctest.PurposeOneThing,
		ValidFrom: "2025-03-01T00:00:00Z", ExpiresAt: "2025-04-01T00:00:00Z",
	}
}

func encode(t *testing.T, g wire.Grant) []byte {
	t.Helper()
	b, err := wire.EncodeGrant(g)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *subject) revocation(t *testing.T, grantID string) []byte {
	t.Helper()
	b, err := wire.EncodeRevocation(wire.Revocation{Kind: wire.RevocationKind, GrantID: grantID, SubjectID: s.id, IssuedAt: "2025-03-02T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setup: departments registered, citizen p-1 with a bound key, records of
// p-1 (birth b1, marriage m1, licence l1 by Civil) and of p-2.
func setup(t *testing.T) (*cctest.Env, *subject) {
	e := cctest.NewEnv(t)
	e.BootstrapSharing()
	s := newSubject(t, cctest.Subject("1"))
	s.bind(t, e)
	e.Append(e.Health, cctest.Req("b1", cctest.Subject("1"), cctest.BirthCert))
	e.Append(e.Health, cctest.Req("m1", cctest.Subject("1"), cctest.Marriage))
	e.Append(e.Civil, cctest.Req("l1", cctest.Subject("1"), cctest.Licence))
	e.Append(e.Health, cctest.Req("b2", cctest.Subject("2"), cctest.BirthCert))
	return e, s
}

func (s *subject) create(t *testing.T, e *cctest.Env, g wire.Grant) wire.GrantState {
	t.Helper()
	doc := encode(t, g)
	return cctest.Decode[wire.GrantState](t, e.OK(e.Sharing(e.Civil, "CreateGrant", string(doc), s.sign(t, doc))))
}

func compositeKey(t *testing.T, obj string, attrs ...string) string {
	t.Helper()
	k, err := shim.CreateCompositeKey(obj, attrs)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCreateGrant(t *testing.T) {
	e, s := setup(t)
	g := s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, []string{"m1"})
	// A valid document in a non-recommended encoding is stored as signed.
	doc := []byte(" " + strings.Replace(string(encode(t, g)), `,"purpose"`, ",\n  \"purpose\"", 1) + "\n")
	sig := s.sign(t, doc)
	res := e.Sharing(e.Civil, "CreateGrant", string(doc), sig)
	st := cctest.Decode[wire.GrantState](t, e.OK(res))
	if st.GrantID != "g1" || st.SubjectID != cctest.Subject("1") || st.Grantee != cctest.Civil || st.Status != wire.GrantActive ||
		st.Signature != sig || st.SignerKeyID != s.keyID(t) || st.CreatedAt != "2025-03-01T08:00:00Z" || st.CreatedTx != res.TxID ||
		st.RevokedAt != "" || st.Revocation != "" {
		t.Fatalf("state %+v", st)
	}
	if raw, _ := base64.StdEncoding.DecodeString(st.Document); string(raw) != string(doc) {
		t.Fatal("document not stored as signed")
	}
	if st.Grant.Scope.RecordTypes[0] != cctest.BirthCert || st.Grant.Scope.RecordIDs[0] != "m1" || st.Grant.ExpiresAt != "2025-04-01T00:00:00Z" {
		t.Fatalf("grant %+v", st.Grant)
	}
	ev := cctest.Decode[wire.GrantCreatedEvent](t, res.Event.Payload)
	if res.Event.Name != wire.EventGrantCreated || ev.GrantID != "g1" || ev.Grantee != cctest.Civil || ev.TxID != res.TxID {
		t.Fatalf("event %+v", ev)
	}
	if e.Net.Channel(cctest.Datashare).Get(compositeKey(t, "subject~grant", cctest.Subject("1"), "g1")) == nil {
		t.Fatal("index missing")
	}
	// Replay of the same signed document: refused.
	e.Code(e.Sharing(e.Civil, "CreateGrant", string(doc), sig), wire.CodeConflict)
	// Anyone may submit a signed grant (the signature is the authority).
	g2 := s.grant("g2", cctest.Health, []string{cctest.Licence}, nil)
	g2.Nonce = "n-42"
	d2 := encode(t, g2)
	e.OK(e.Sharing(e.Outsider, "CreateGrant", string(d2), s.sign(t, d2)))
	got := cctest.Decode[wire.GrantState](t, e.OK(e.SharingQ(e.Op, "GetGrant", "g2")))
	if got.Grant.Scope.RecordIDs == nil || len(got.Grant.Scope.RecordIDs) != 0 {
		t.Fatal("empty scope list not normalised to []")
	}
}

func TestCreateGrantRefusals(t *testing.T) {
	e, s := setup(t)
	base := s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, nil)
	create := func(doc []byte, sig string) wire.Code {
		t.Helper()
		r := e.Sharing(e.Civil, "CreateGrant", string(doc), sig)
		if r.OK() {
			t.Fatalf("accepted %s", doc)
		}
		if r.Writes != 0 {
			t.Fatal("refusal wrote")
		}
		return r.Err().Code
	}
	signed := func(doc []byte) wire.Code { return create(doc, s.sign(t, doc)) }
	raw := string(encode(t, base))

	invalid := []string{
		"", "{}", "[]", "null", raw + "{}", raw + " x",
		strings.Replace(raw, `"kind":"edossier.grant.v1"`, `"kind":"edossier.grant-revocation.v1"`, 1),
		strings.Replace(raw, `"grantId"`, `"GrantId"`, 1),                           // case variant
		strings.Replace(raw, `"purpose":`, `"purpose":"x","purpose":`, 1),           // duplicate key
		strings.Replace(raw, `"purpose":`, `"extra":1,"purpose":`, 1),               // unknown field
		strings.Replace(raw, `"recordTypes":["birth-cert"]`, `"recordTypes":[]`, 1), // empty scope
		strings.Replace(raw, `"recordTypes":["birth-cert"]`, `"recordTypes":["birth-cert","birth-cert"]`, 1),
		strings.Replace(raw, `"grantee":"CivilMSP"`, `"grantee":"Civil MSP"`, 1),
		strings.Replace(raw, `"validFrom":"2025-03-01T00:00:00Z"`, `"validFrom":"2025-04-01T00:00:00Z"`, 1),
		strings.Replace(raw, `"validFrom":"2025-03-01T00:00:00Z"`, `"validFrom":"soon"`, 1),
		strings.Replace(raw, `"purpose":"one-thing-application"`, `"purpose":""`, 1),
		// Free text, personal data or an unregistered code as the purpose.
		strings.Replace(raw, `"purpose":"one-thing-application"`, `"purpose":"出生登记 李小明 110101202611201235"`, 1),
		strings.Replace(raw, `"purpose":"one-thing-application"`, `"purpose":"one thing application"`, 1),
		strings.Replace(raw, `"purpose":"one-thing-application"`, `"purpose":"not-registered"`, 1),
		// A raw ID number where the subject ID goes.
		strings.Replace(raw, `"subjectId":"`+base.SubjectID+`"`, `"subjectId":"110101202611201235"`, 1),
		strings.Replace(raw, `"grantId":"g1"`, `"grantId":"g\u0000"`, 1),
		"{\"kind\":\"\xff\"}",
	}
	for i, d := range invalid {
		if got := signed([]byte(d)); got != wire.CodeInvalid {
			t.Errorf("case %d: got %s", i, got)
		}
	}
	// Expiry at or before the transaction time.
	past := base
	past.ValidFrom, past.ExpiresAt = "2025-01-01T00:00:00Z", "2025-03-01T08:00:00Z"
	if got := signed(encode(t, past)); got != wire.CodeExpired {
		t.Errorf("expired: %s", got)
	}
	// No key bound to the subject.
	stranger := newSubject(t, cctest.Subject("2"))
	g := stranger.grant("g1", cctest.Civil, []string{cctest.BirthCert}, nil)
	if got := create(encode(t, g), stranger.sign(t, encode(t, g))); got != wire.CodeUnknownKey {
		t.Errorf("unknown key: %s", got)
	}
	doc := encode(t, base)
	// Signatures: missing, malformed, by another key, over other bytes,
	// over a grant for another subject.
	other := newSubject(t, cctest.Subject("1"))
	for i, sig := range []string{"", "!!!", "AAAA", base64.RawStdEncoding.EncodeToString([]byte("xx")), other.sign(t, doc),
		s.sign(t, append([]byte(" "), doc...)), strings.Repeat("A", wire.MaxSignatureLen+4)} {
		if got := create(doc, sig); got != wire.CodeBadSignature {
			t.Errorf("signature %d: %s", i, got)
		}
	}
	// Grantee not registered, or inactive.
	g = s.grant("g1", cctest.Outsider, []string{cctest.BirthCert}, nil)
	if got := signed(encode(t, g)); got != wire.CodeInvalid {
		t.Errorf("unknown grantee: %s", got)
	}
	e.OK(e.Dossier(e.Op, "DeactivateDepartment", cctest.Health))
	g = s.grant("g1", cctest.Health, []string{cctest.BirthCert}, nil)
	if got := signed(encode(t, g)); got != wire.CodeInvalid {
		t.Errorf("inactive grantee: %s", got)
	}
	// After its removal, a key no longer signs new grants; another active key does.
	s2 := newSubject(t, cctest.Subject("1"))
	e.OK(s2.add(t, e, s))
	e.OK(s.remove(t, e, s2))
	if got := create(doc, s.sign(t, doc)); got != wire.CodeBadSignature {
		t.Errorf("old key: %s", got)
	}
	st := cctest.Decode[wire.GrantState](t, e.OK(e.Sharing(e.Civil, "CreateGrant", string(doc), s2.sign(t, doc))))
	if st.SignerKeyID != s2.keyID(t) {
		t.Fatalf("signer key %s", st.SignerKeyID)
	}
	// grant ID reuse, even with a new document, is a replay.
	g = s2.grant("g1", cctest.Civil, []string{cctest.Licence}, nil)
	g.Nonce = "n2"
	if got := create(encode(t, g), s2.sign(t, encode(t, g))); got != wire.CodeConflict {
		t.Errorf("reuse: %s", got)
	}
}

func TestRevokeGrant(t *testing.T) {
	e, s := setup(t)
	s.create(t, e, s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, nil))
	rev := s.revocation(t, "g1")

	e.Code(e.Sharing(e.Civil, "RevokeGrant", string(s.revocation(t, "g9")), s.sign(t, s.revocation(t, "g9"))), wire.CodeNotFound)
	e.Code(e.Sharing(e.Civil, "RevokeGrant", "{}", s.sign(t, []byte("{}"))), wire.CodeInvalid)
	bad := strings.Replace(string(rev), wire.RevocationKind, wire.GrantKind, 1)
	e.Code(e.Sharing(e.Civil, "RevokeGrant", bad, s.sign(t, []byte(bad))), wire.CodeInvalid)
	e.Code(e.Sharing(e.Civil, "RevokeGrant", string(rev), ""), wire.CodeBadSignature)
	e.Code(e.Sharing(e.Civil, "RevokeGrant", string(rev), newSubject(t, cctest.Subject("1")).sign(t, rev)), wire.CodeBadSignature)
	// A revocation naming another subject.
	mallory := newSubject(t, cctest.Subject("2"))
	mallory.bind(t, e)
	mrev := mallory.revocation(t, "g1")
	e.Code(e.Sharing(e.Civil, "RevokeGrant", string(mrev), mallory.sign(t, mrev)), wire.CodeForbidden)

	e.Net.Advance(time.Hour)
	sig := s.sign(t, rev)
	res := e.Sharing(e.Outsider, "RevokeGrant", string(rev), sig)
	st := cctest.Decode[wire.GrantState](t, e.OK(res))
	if st.Status != wire.GrantRevoked || st.RevokedAt != "2025-03-01T09:00:00Z" || st.RevokedTx != res.TxID ||
		st.Revocation != base64.StdEncoding.EncodeToString(rev) || st.RevocationSignature != sig || st.RevocationKeyID != s.keyID(t) {
		t.Fatalf("state %+v", st)
	}
	ev := cctest.Decode[wire.GrantRevokedEvent](t, res.Event.Payload)
	if res.Event.Name != wire.EventGrantRevoked || ev.GrantID != "g1" || ev.Grantee != cctest.Civil {
		t.Fatalf("event %+v", ev)
	}
	// The same revocation again: unchanged.
	if r := e.Sharing(e.Civil, "RevokeGrant", string(rev), sig); e.OK(r) != nil && r.Writes != 0 {
		t.Fatal("repeat wrote")
	}
	// Another revocation document for an already revoked grant.
	// A revocation reason must be a registered code (free text is refused by the
	// document rules, an unknown code by the registry).
	for _, reason := range []string{"not-registered", "李小明 asked me to"} {
		doc := []byte(`{"kind":"edossier.grant-revocation.v1","grantId":"g1","subjectId":"` + s.id + `","issuedAt":"2025-03-03T00:00:00Z","reason":"` + reason + `"}`)
		e.Code(e.Sharing(e.Civil, "RevokeGrant", string(doc), s.sign(t, doc)), wire.CodeInvalid)
	}
	rev2, _ := wire.EncodeRevocation(wire.Revocation{Kind: wire.RevocationKind, GrantID: "g1", SubjectID: cctest.Subject("1"), IssuedAt: "2025-03-03T00:00:00Z", Reason: cctest.ReasonRequest})
	e.Code(e.Sharing(e.Civil, "RevokeGrant", string(rev2), s.sign(t, rev2)), wire.CodeConflict)

	// Any active key revokes, also a grant another key signed; a removed key does not.
	s.create(t, e, s.grant("g2", cctest.Civil, []string{cctest.BirthCert}, nil))
	s2 := newSubject(t, cctest.Subject("1"))
	e.OK(s2.add(t, e, s))
	e.OK(s.remove(t, e, s2))
	r2 := s.revocation(t, "g2")
	e.Code(e.Sharing(e.Civil, "RevokeGrant", string(r2), s.sign(t, r2)), wire.CodeBadSignature)
	if st := cctest.Decode[wire.GrantState](t, e.OK(e.Sharing(e.Civil, "RevokeGrant", string(r2), s2.sign(t, r2)))); st.RevocationKeyID != s2.keyID(t) {
		t.Fatal("revocation key")
	}
}

func TestGrantQueries(t *testing.T) {
	e, s := setup(t)
	e.Code(e.SharingQ(e.Outsider, "GetGrant", "g1"), wire.CodeNotFound)
	e.Code(e.SharingQ(e.Outsider, "GetGrant", ""), wire.CodeInvalid)
	for _, id := range []string{"g3", "g1", "g2"} {
		s.create(t, e, s.grant(id, cctest.Civil, []string{cctest.BirthCert}, nil))
	}
	other := newSubject(t, cctest.Subject("10"))
	other.bind(t, e)
	other.create(t, e, other.grant("gx", cctest.Civil, []string{cctest.BirthCert}, nil))

	p := cctest.Decode[wire.GrantPage](t, e.OK(e.SharingQ(e.Op, "ListGrants", cctest.Subject("1"), "2", "")))
	if len(p.Grants) != 2 || p.Grants[0].GrantID != "g1" || p.Grants[1].GrantID != "g2" || p.Bookmark == "" {
		t.Fatalf("page 1 %+v", p)
	}
	p = cctest.Decode[wire.GrantPage](t, e.OK(e.SharingQ(e.Op, "ListGrants", cctest.Subject("1"), "2", p.Bookmark)))
	if len(p.Grants) != 1 || p.Grants[0].GrantID != "g3" || p.Bookmark != "" {
		t.Fatalf("page 2 %+v", p)
	}
	if raw := e.OK(e.SharingQ(e.Op, "ListGrants", cctest.Subject("9"), "", "")); string(raw) != `{"grants":[],"bookmark":""}` {
		t.Fatalf("empty: %s", raw)
	}
	e.Code(e.SharingQ(e.Op, "ListGrants", "", "", ""), wire.CodeInvalid)
	e.Code(e.SharingQ(e.Op, "ListGrants", cctest.Subject("1"), "x", ""), wire.CodeInvalid)
	e.Code(e.SharingQ(e.Op, "ListGrants", cctest.Subject("1"), "", "bogus"), wire.CodeInvalid)
	if g := cctest.Decode[wire.GrantState](t, e.OK(e.SharingQ(e.Op, "GetGrant", "g2"))); g.GrantID != "g2" {
		t.Fatal("GetGrant")
	}
	// Grants are answered to the operator and to their grantee only; to anyone else
	// a grant is indistinguishable from a missing one.
	other.create(t, e, other.grant("gh", cctest.Health, []string{cctest.BirthCert}, nil))
	e.Code(e.SharingQ(e.Outsider, "GetGrant", "g2"), wire.CodeNotFound)
	e.Code(e.SharingQ(e.Health, "GetGrant", "g2"), wire.CodeNotFound)
	e.OK(e.SharingQ(e.Civil, "GetGrant", "g2"))
	e.OK(e.SharingQ(e.Health, "GetGrant", "gh"))
	if p := cctest.Decode[wire.GrantPage](t, e.OK(e.SharingQ(e.Health, "ListGrants", cctest.Subject("10"), "", ""))); len(p.Grants) != 1 || p.Grants[0].GrantID != "gh" {
		t.Fatalf("grantee's list %+v", p)
	}
	if p := cctest.Decode[wire.GrantPage](t, e.OK(e.SharingQ(e.Outsider, "ListGrants", cctest.Subject("1"), "", ""))); len(p.Grants) != 0 {
		t.Fatalf("outsider's list %+v", p)
	}
}
