package httpsig

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// serializeDictionary is the RFC 8941 §4.1.2 serialization (tests only).
func serializeDictionary(ms []member) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.key)
		switch {
		case m.isList:
			b.WriteByte('=')
			b.WriteString(serializeInnerList(m.list))
		case m.item.val.kind == kindBoolean && m.item.val.bo:
			writeParams(&b, m.item.params)
		default:
			b.WriteByte('=')
			writeBareItem(&b, m.item.val)
			writeParams(&b, m.item.params)
		}
	}
	return b.String()
}

// normalize maps nil and empty slices together for comparison.
func normalize(ms []member) []member {
	out := make([]member, len(ms))
	for i, m := range ms {
		if len(m.list.items) == 0 {
			m.list.items = nil
		}
		if len(m.list.params) == 0 {
			m.list.params = nil
		}
		if len(m.item.params) == 0 {
			m.item.params = nil
		}
		for j := range m.list.items {
			if len(m.list.items[j].params) == 0 {
				m.list.items[j].params = nil
			}
		}
		out[i] = m
	}
	return out
}

// FuzzParseDictionary: the parser never panics, and whatever it accepts
// serializes to a canonical form that parses back to the same value.
func FuzzParseDictionary(f *testing.F) {
	// More seeds live in testdata/fuzz/FuzzParseDictionary.
	f.Add(`sig1=("@method" "@path" "@query");created=1618884473;keyid="k";alg="ecdsa-p256-sha256";nonce="abcdefgh"`)
	f.Add(`sig1=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:`)
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := parseDictionary(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		canon := serializeDictionary(ms)
		again, err := parseDictionary(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if !reflect.DeepEqual(normalize(ms), normalize(again)) {
			t.Fatalf("round trip changed the value:\n%q\n%q", s, canon)
		}
		if canon2 := serializeDictionary(again); canon2 != canon {
			t.Fatalf("serialization not stable: %q vs %q", canon, canon2)
		}
	})
}

// FuzzVerify: arbitrary signature headers never make Verify panic or
// succeed without a valid signature, and every refusal is a known one.
func FuzzVerify(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1618884473, 0)
	f.Add(`sig1=("@method" "@path" "@query");created=1618884473;keyid="k";alg="ecdsa-p256-sha256";nonce="abcdefgh"`,
		`sig1=:`+strings.Repeat("A", 86)+`==:`, "")
	f.Add(`sig1=("@method" "@path" "@query" "content-digest");created=1618884473;keyid="k";alg="ecdsa-p256-sha256";nonce="abcdefgh"`,
		`sig1=:`+strings.Repeat("A", 86)+`==:`, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
	f.Fuzz(func(t *testing.T, input, sig, digest string) {
		ns := NewMemoryNonceStore(0, WithMaxEntries(10))
		v := &Verifier{
			KeyFunc: func(_ context.Context, id string) (*ecdsa.PublicKey, error) {
				return &key.PublicKey, nil
			},
			Nonces: ns,
			Now:    func() time.Time { return now },
		}
		req := httptest.NewRequest("POST", "/v1/x?y=1", strings.NewReader(`{"hello": "world"}`))
		req.Header.Set("Signature-Input", input)
		req.Header.Set("Signature", sig)
		if digest != "" {
			req.Header.Set("Content-Digest", digest)
		}
		id, err := v.Verify(req)
		if err == nil {
			t.Fatalf("verified a random signature (keyid %q)", id)
		}
		known := []error{ErrMissingSignature, ErrMalformed, ErrUnsupportedAlg, ErrMissingComponent,
			ErrStale, ErrReplay, ErrUnknownKey, ErrDigestMismatch, ErrBadSignature, ErrBodyTooLarge}
		for _, k := range known {
			if errors.Is(err, k) {
				return
			}
		}
		t.Fatalf("unclassified error %v", err)
	})
}
