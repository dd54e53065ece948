package service

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// keyLedger answers the key calls of the service with canned state and records what
// reached it.
type keyLedger struct {
	fakeLedger
	keys    map[string]wire.SubjectKey // by subject/keyId
	lookups int
	writes  []string
}

func (k *keyLedger) GetSubjectKey(_ context.Context, _ gateway.Actor, subjectID, keyID string) (*wire.SubjectKey, error) {
	k.lookups++
	v, ok := k.keys[KeyRef(subjectID, keyID)]
	if !ok {
		return nil, gateway.Errorf(gateway.CodeNotFound, "no key")
	}
	return &v, nil
}

func (k *keyLedger) AddSubjectKey(_ context.Context, a gateway.Actor, doc, sig, pop string) (*wire.SubjectKey, gateway.Receipt, error) {
	k.writes = append(k.writes, "add as "+a.Org)
	return &wire.SubjectKey{}, gateway.Receipt{}, nil
}

func (k *keyLedger) BindSubjectKey(_ context.Context, a gateway.Actor, doc, pop string) (*wire.SubjectKey, gateway.Receipt, error) {
	k.writes = append(k.writes, "bind as "+a.Org)
	return &wire.SubjectKey{}, gateway.Receipt{}, nil
}

func (k *keyLedger) RemoveSubjectKey(_ context.Context, a gateway.Actor, doc, sig string) (*wire.SubjectKey, gateway.Receipt, error) {
	k.writes = append(k.writes, "remove as "+a.Org)
	return &wire.SubjectKey{}, gateway.Receipt{}, nil
}

func keyPEM(t *testing.T) (string, string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	_, canon, id, err := wire.ParseSubjectPublicKey(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	if err != nil {
		t.Fatal(err)
	}
	return canon, id
}

func stmtB64(t *testing.T, st wire.KeyStatement) string {
	t.Helper()
	st.IssuedAt, st.Nonce = wire.FormatTime(time.Now()), "nonce-0123456789abcdef"
	doc, err := wire.EncodeKeyStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(doc)
}

func TestKeyStatementsReachTheLedgerOnlyForTheirSubject(t *testing.T) {
	l := &keyLedger{keys: map[string]wire.SubjectKey{}}
	s := New(l, nil, nil, Config{Platform: gateway.Actor{Org: "operator", User: "ops"}})
	ctx := context.Background()
	pemText, keyID := keyPEM(t)
	me := gateway.Principal{Role: gateway.RoleCitizen, SubjectID: "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"}
	add := stmtB64(t, wire.KeyStatement{Kind: wire.KeyAddKind, SubjectID: "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", PublicKeyPEM: pemText})
	addOther := stmtB64(t, wire.KeyStatement{Kind: wire.KeyAddKind, SubjectID: "p-oooooooooooooooooooooooooooooooo", PublicKeyPEM: pemText})
	bind := stmtB64(t, wire.KeyStatement{Kind: wire.KeyBindKind, SubjectID: "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", PublicKeyPEM: pemText})
	remove := stmtB64(t, wire.KeyStatement{Kind: wire.KeyRemoveKind, SubjectID: "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", KeyID: keyID})
	police := gateway.Principal{Role: gateway.RoleDepartment, Org: "police", MSPID: "PublicSecurityMSP", User: "clerk"}
	operator := gateway.Principal{Role: gateway.RoleOperator, Org: "operator", MSPID: "OperatorMSP", User: "ops"}

	for name, err := range map[string]error{
		"add for another subject":   second(s.AddSubjectKey(ctx, me, "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", addOther, "s", "p")),
		"add on another path":       second(s.AddSubjectKey(ctx, me, "p-oooooooooooooooooooooooooooooooo", add, "s", "p")),
		"add by a department":       second(s.AddSubjectKey(ctx, police, "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", add, "s", "p")),
		"bind as add":               second(s.AddSubjectKey(ctx, me, "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", bind, "s", "p")),
		"bind by the operator":      second(s.BindSubjectKey(ctx, operator, bind, "p")),
		"bind by a citizen":         second(s.BindSubjectKey(ctx, me, bind, "p")),
		"add statement as bind":     second(s.BindSubjectKey(ctx, police, add, "p")),
		"not base64":                second(s.BindSubjectKey(ctx, police, "%%%", "p")),
		"remove another key ID":     second(s.RemoveSubjectKey(ctx, me, "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", strings.Repeat("0", 64), remove, "s")),
		"remove for another":        second(s.RemoveSubjectKey(ctx, me, "p-oooooooooooooooooooooooooooooooo", keyID, remove, "s")),
		"cancel with a remove stmt": second(s.CancelKeyRecovery(ctx, me, "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", "r1", remove, "s")),
		"key events of another":     second(s.KeyEvents(ctx, me, "p-oooooooooooooooooooooooooooooooo", 0, "")),
	} {
		if code := gateway.ErrorCode(err); code != gateway.CodeForbidden && code != gateway.CodeInvalid && code != gateway.CodeUnauthorized {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(l.writes) != 0 {
		t.Fatalf("refused statements reached the ledger: %v", l.writes)
	}
	// Citizens' statements go out as the platform (the signatures are the authority);
	// the identity authority's bind goes out with its own identity (its attestation).
	if _, err := s.AddSubjectKey(ctx, me, "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", add, "s", "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BindSubjectKey(ctx, police, bind, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveSubjectKey(ctx, me, "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", keyID, remove, "s"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.writes, ","); got != "add as operator,bind as police,remove as operator" {
		t.Fatalf("writes %s", got)
	}
}

func second[T any](_ T, err error) error { return err }

func TestSubjectKeyResolver(t *testing.T) {
	pemText, keyID := keyPEM(t)
	_, removedID := keyPEM(t)
	l := &keyLedger{keys: map[string]wire.SubjectKey{
		KeyRef("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", keyID):     {SubjectID: "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", KeyID: keyID, PublicKeyPEM: pemText, Status: wire.KeyActive},
		KeyRef("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", removedID): {SubjectID: "p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", KeyID: removedID, PublicKeyPEM: pemText, Status: wire.KeyRemoved},
	}}
	now := time.Now()
	s := New(l, nil, nil, Config{Now: func() time.Time { return now }})
	r := s.SubjectKeyResolver(30 * time.Second)
	ctx := context.Background()
	if _, err := r.Key(ctx, KeyRef("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", keyID)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Key(ctx, KeyRef("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", keyID)); err != nil || l.lookups != 1 {
		t.Fatalf("not cached: %d lookups, %v", l.lookups, err)
	}
	now = now.Add(31 * time.Second)
	if _, err := r.Key(ctx, KeyRef("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", keyID)); err != nil || l.lookups != 2 {
		t.Fatalf("cache outlived its TTL: %d lookups, %v", l.lookups, err)
	}
	// The block that removes the key, seen by the follower: refused at once, although
	// the answer cached a moment ago (and a lagging peer) still say active.
	r.Observe("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", keyID, false)
	if _, err := r.Key(ctx, KeyRef("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", keyID)); gateway.ErrorCode(err) != gateway.CodeUnknownKey || l.lookups != 2 {
		t.Fatalf("an observed removal: %d lookups, %v", l.lookups, err)
	}
	// A key written active again (e.g. recovered) is looked up afresh.
	r.Observe("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", keyID, true)
	if _, err := r.Key(ctx, KeyRef("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", keyID)); err != nil || l.lookups != 3 {
		t.Fatalf("an observed active key: %d lookups, %v", l.lookups, err)
	}
	// A catch-up replays every removal on the ledger: the cache stays bounded.
	for i := range 100_010 {
		r.Observe("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", fmt.Sprintf("%064x", i), false)
	}
	if n := len(r.cache); n > 100_001 {
		t.Fatalf("%d cached keys after a replay", n)
	}
	for ref, want := range map[string]gateway.Code{
		KeyRef("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", removedID): gateway.CodeUnknownKey, // removed keys sign no request
		KeyRef("p-oooooooooooooooooooooooooooooooo", keyID):     gateway.CodeUnknownKey,
		"p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm":                    gateway.CodeUnauthorized, // the old keyid form
		"p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm/short":              gateway.CodeUnauthorized,
		"p me/" + keyID: gateway.CodeUnauthorized,
		KeyRef("p-mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", strings.ToUpper(keyID)): gateway.CodeUnauthorized,
	} {
		if _, err := r.Key(ctx, ref); gateway.ErrorCode(err) != want {
			t.Errorf("%q: %v, want %s", ref, err, want)
		}
	}
}
