package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/ (go test fuzz v1 files);
// `go test` runs them as regular tests, `go test -fuzz=FuzzX` explores.

func mustInvalid(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is not a *wire.Error: %T %v", err, err)
	}
	if e.Code != CodeInvalid {
		t.Fatalf("decoding failure with code %s", e.Code)
	}
}

// FuzzValidateSubjectID: accepted values are exactly the pseudonym form, and a
// refusal never repeats the value.
func FuzzValidateSubjectID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateSubjectID("subjectId", s)
		if err != nil {
			mustInvalid(t, err)
			if len(s) >= 6 && bytes.Contains([]byte(AsError(err).Message), []byte(s)) {
				t.Fatalf("message echoes the value: %s", AsError(err).Message)
			}
			return
		}
		if len(s) != SubjectIDLen || (s[:2] != "p-" && s[:2] != "e-") {
			t.Fatalf("accepted %q", s)
		}
		for _, c := range []byte(s[2:]) {
			if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
				t.Fatalf("accepted %q", s)
			}
		}
		if err := ValidateID("subjectId", s); err != nil {
			t.Fatalf("a pseudonym is no valid key part: %v", err)
		}
	})
}

func FuzzDecodeAppendRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeAppendRequest(data)
		if err != nil {
			mustInvalid(t, err)
			return
		}
		// Accepted input is normalised: normalising again changes nothing,
		// and its encoding decodes to the same request.
		again := r
		if err := again.Normalize(); err != nil || again != r {
			t.Fatalf("Normalize not idempotent: %v %+v %+v", err, again, r)
		}
		b, err := Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := DecodeAppendRequest(b)
		if err != nil || r2 != r {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, r, r2)
		}
		if _, err := ParseCID(r.CID); err != nil {
			t.Fatalf("accepted a bad CID %q", r.CID)
		}
	})
}

func FuzzDecodeAppendBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeAppendBatch(data)
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if len(b.Records) == 0 || len(b.Records) > MaxBatch {
			t.Fatalf("accepted %d records", len(b.Records))
		}
		seen := map[string]bool{}
		for _, r := range b.Records {
			if seen[r.RecordID] {
				t.Fatalf("accepted duplicate %s", r.RecordID)
			}
			seen[r.RecordID] = true
		}
		enc, err := Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := DecodeAppendBatch(enc)
		if err != nil || !reflect.DeepEqual(b, b2) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzParseCID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCID(s)
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if c.String() != s {
			t.Fatalf("accepted %q but String() is %q", s, c.String())
		}
		p := c.Prefix()
		if p.Version != 1 || p.Codec != CodecRaw || p.MhType != mhSHA2_256 || p.MhLength != 32 {
			t.Fatalf("accepted prefix %+v", p)
		}
		digest := c.Hash()[2:]
		if CIDFromSHA256(digest).String() != s {
			t.Fatal("CIDFromSHA256 disagrees")
		}
	})
}

func FuzzParseGrant(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc []byte) {
		g, times, err := ParseGrant(doc)
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if !times.ValidFrom.Before(times.ExpiresAt) {
			t.Fatal("accepted validFrom >= expiresAt")
		}
		if g.Scope.RecordTypes == nil || g.Scope.RecordIDs == nil {
			t.Fatal("scope lists not normalised")
		}
		if len(g.Scope.RecordTypes)+len(g.Scope.RecordIDs) == 0 {
			t.Fatal("accepted empty scope")
		}
		if b, _ := Marshal(g); len(b) > MaxDocumentBytes {
			return // a near-limit document whose compact form grew (added [] lists)
		}
		enc, err := EncodeGrant(g)
		if err != nil {
			t.Fatalf("EncodeGrant of an accepted grant: %v", err)
		}
		g2, times2, err := ParseGrant(enc)
		if err != nil || !reflect.DeepEqual(g, g2) || !times.ValidFrom.Equal(times2.ValidFrom) || !times.ExpiresAt.Equal(times2.ExpiresAt) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, g, g2)
		}
		enc2, _ := EncodeGrant(g2)
		if !bytes.Equal(enc, enc2) {
			t.Fatal("EncodeGrant not stable")
		}
		_ = g.Scope.InScope("t", "r")
	})
}

func FuzzParseRevocation(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := ParseRevocation(doc)
		if err != nil {
			mustInvalid(t, err)
			return
		}
		enc, err := EncodeRevocation(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseRevocation(enc)
		if err != nil || r2 != r {
			t.Fatalf("round trip: %v %+v %+v", err, r, r2)
		}
	})
}

func FuzzParseError(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := ParseError(s)
		if !ok {
			return
		}
		if e.Code == "" {
			t.Fatal("parsed an error without code")
		}
		e2, ok := ParseError("wrapped: " + e.Error() + " trailing")
		if !ok || *e2 != *e {
			t.Fatalf("Error() does not parse back: %q", e.Error())
		}
	})
}

func FuzzParseKeyStatement(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseKeyStatement(data)
		if err != nil {
			mustInvalid(t, err)
			return
		}
		// An accepted statement re-encodes to a statement that parses the same way, and
		// it carries exactly the parts its kind needs.
		b, err := EncodeKeyStatement(st.KeyStatement)
		if err != nil {
			t.Fatalf("accepted statement does not encode: %v", err)
		}
		st2, err := ParseKeyStatement(b)
		if err != nil || st2.KeyStatement != st.KeyStatement || st2.NewKeyID != st.NewKeyID {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, st, st2)
		}
		switch st.Kind {
		case KeyBindKind, KeyAddKind, KeyRecoveryKind:
			if st.NewKey == nil || st.KeyID != "" || st.RecoveryID != "" {
				t.Fatalf("%s statement parts %+v", st.Kind, st.KeyStatement)
			}
		case KeyRemoveKind:
			if st.NewKey != nil || ValidateKeyID("keyId", st.KeyID) != nil {
				t.Fatalf("remove statement parts %+v", st.KeyStatement)
			}
		case KeyRecoveryCancelKind:
			if st.NewKey != nil || st.RecoveryID == "" {
				t.Fatalf("cancel statement parts %+v", st.KeyStatement)
			}
		default:
			t.Fatalf("accepted kind %q", st.Kind)
		}
	})
}

func FuzzParseDelegateRead(f *testing.F) {
	f.Add([]byte(`{"kind":"edossier.delegate-read.v1","subjectId":"p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","delegateId":"p-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","delegationId":"d1","action":"content","recordId":"r1","issuedAt":"2026-12-01T20:00:00Z","nonce":"nonce-0000000001"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, _, err := ParseDelegateRead(doc)
		if err != nil {
			mustInvalid(t, err)
			return
		}
		// An accepted statement names two different subjects and a coherent read.
		if r.SubjectID == r.DelegateID || CheckReadAction(r.Action, r.RecordID) != nil {
			t.Fatalf("accepted %+v", r)
		}
		b, err := Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if r2, _, err := ParseDelegateRead(b); err != nil || r2 != r {
			t.Fatalf("round trip: %v %+v %+v", err, r, r2)
		}
	})
}
