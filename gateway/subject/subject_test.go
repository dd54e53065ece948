package subject

import (
	"bytes"
	"errors"
	"github.com/edossier-city/edossier/gateway"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
)

func newDeriver(t testing.TB) *Deriver {
	t.Helper()
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i + 1)
	}
	d, err := NewDeriver(secret)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Resident ID numbers and credit codes constructed for these tests (check
// characters computed separately); they identify nobody.
var (
	validPersons = []string{
		"440305199003071236",
		"33010220000229004X", // 29 February of a leap year, check character X
		"510107198512123319",
		"532500199912319991",
		"310115200808080883",
		"420106201212317652",
		"11010519491231002X", // the sample number of GB 11643-1999
	}
	validEnterprises = []string{
		"91440300MA5FUTR2XX",
		"91110108551385082Q",
		"121000004000000124",
		"52310115MJ4986543G",
		"93330782MA28T0K2WW",
		"Y1440300ABCDEFGHJR",
	}
)

// TestDerivedIDsPassTheLedgerRule: the pseudonym form is one rule, owned by
// wire; every ID this package derives (many random secrets and inputs) passes
// it, and no ID number does.
func TestDerivedIDsPassTheLedgerRule(t *testing.T) {
	for i := 0; i < 200; i++ {
		secret := make([]byte, MinSecretLen)
		secret[0], secret[1] = byte(i), byte(i>>8)
		d, err := NewDeriver(secret)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ kind, id string }{{KindPerson, validPersons[i%len(validPersons)]}, {KindEnterprise, validEnterprises[i%len(validEnterprises)]}} {
			sid, err := d.SubjectID(c.kind, c.id)
			if err != nil {
				t.Fatal(err)
			}
			if err := wire.ValidateSubjectID("subjectId", sid); err != nil || !ValidSubjectID(sid) {
				t.Fatalf("%s: %v", sid, err)
			}
			if wire.ValidateSubjectID("subjectId", c.id) == nil || ValidSubjectID(c.id) {
				t.Fatalf("the ID number %s passes as a subject ID", c.id)
			}
		}
	}
}

func TestKnownAnswers(t *testing.T) {
	// Expected values computed independently (Python hmac + base64).
	d := newDeriver(t)
	for _, tc := range []struct{ kind, id, want string }{
		{KindPerson, "440305199003071236", "p-s7my2cvzoa2fvc5oi2seewep6uw2plzo"},
		{KindEnterprise, "91440300MA5FUTR2XX", "e-5hchylwszvbcajzepxsnfnchn55x4cfj"},
	} {
		got, err := d.SubjectID(tc.kind, tc.id)
		if err != nil || got != tc.want {
			t.Errorf("SubjectID(%s, %s) = %q, %v; want %q", tc.kind, tc.id, got, err, tc.want)
		}
	}
}

func TestValidPersons(t *testing.T) {
	d := newDeriver(t)
	for _, id := range validPersons {
		sid, err := d.SubjectID(KindPerson, id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if err := wire.ValidateSubjectID("subjectId", sid); err != nil {
			t.Errorf("derived %s fails the ledger's rule: %v", sid, err)
		}
		if !ValidSubjectID(sid) || !strings.HasPrefix(sid, "p-") || len(sid) != 34 {
			t.Errorf("%s -> %q", id, sid)
		}
		if k, ok := KindOf(sid); !ok || k != KindPerson {
			t.Errorf("KindOf(%q) = %q, %v", sid, k, ok)
		}
		c, err := ResidentCheckChar(id[:17])
		if err != nil || c != id[17] {
			t.Errorf("ResidentCheckChar(%s) = %c, %v", id[:17], c, err)
		}
	}
}

func TestValidEnterprises(t *testing.T) {
	d := newDeriver(t)
	for _, id := range validEnterprises {
		sid, err := d.SubjectID(KindEnterprise, id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if err := wire.ValidateSubjectID("subjectId", sid); err != nil {
			t.Errorf("derived %s fails the ledger's rule: %v", sid, err)
		}
		if !ValidSubjectID(sid) || !strings.HasPrefix(sid, "e-") {
			t.Errorf("%s -> %q", id, sid)
		}
		if k, ok := KindOf(sid); !ok || k != KindEnterprise {
			t.Errorf("KindOf(%q) = %q, %v", sid, k, ok)
		}
		c, err := CreditCheckChar(id[:17])
		if err != nil || c != id[17] {
			t.Errorf("CreditCheckChar(%s) = %c, %v", id[:17], c, err)
		}
	}
}

func TestNormalisation(t *testing.T) {
	d := newDeriver(t)
	ref, err := d.SubjectID(KindPerson, "33010220000229004X")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"33010220000229004x", " 33010220000229004X ", "\t33010220000229004x\n"} {
		got, err := d.SubjectID(KindPerson, v)
		if err != nil || got != ref {
			t.Errorf("SubjectID(%q) = %q, %v; want %q", v, got, err, ref)
		}
	}
	ref, _ = d.SubjectID(KindEnterprise, "91440300MA5FUTR2XX")
	if got, err := d.SubjectID(KindEnterprise, " 91440300ma5futr2xx"); err != nil || got != ref {
		t.Errorf("lower-case credit code: %q, %v", got, err)
	}
	if n, err := Normalize(KindEnterprise, " 91440300ma5futr2xx "); err != nil || n != "91440300MA5FUTR2XX" {
		t.Errorf("Normalize = %q, %v", n, err)
	}
}

func TestInvalidPersons(t *testing.T) {
	d := newDeriver(t)
	for _, id := range []string{
		"",
		"440305199003071237",  // wrong check digit
		"44030519900307123X",  // wrong check character
		"33010220000229004Y",  // not a check character
		"330102200002290040",  // X expected
		"44030519900307123",   // 17 characters
		"4403051990030712366", // 19 characters
		"110105199902291235",  // 29 February 1999 (valid check digit)
		"110105190002291239",  // 29 February 1900
		"110105202313011236",  // month 13
		"110105202301001233",  // day 0
		"110105199904311236",  // 31 April
		"110105179912311238",  // before 1800
		"040305199003071234",  // region code starting with 0 (check digit irrelevant)
		"44030519900307A236",  // letter among the digits
		"4403 5199003071236",  // inner space
		"４40305199003071236",  // full-width digit
		"44030519900307123ｘ",  // full-width x
		"91440300MA5FUTR2XX",  // a credit code
	} {
		if sid, err := d.SubjectID(KindPerson, id); !errors.Is(err, ErrInvalidIDNumber) || gateway.ErrorCode(err) != gateway.CodeInvalid {
			t.Errorf("SubjectID(person, %q) = %q, %v", id, sid, err)
		}
	}
}

func TestInvalidEnterprises(t *testing.T) {
	d := newDeriver(t)
	for _, id := range []string{
		"",
		"91440300MA5FUTR2XY", // wrong check character
		"91440300MA5FUTR2X",  // 17 characters
		"91440300MA5FUTR2XXX",
		"9144030OMA5FUTR2XX", // letter O in the division code
		"91A40300MA5FUTR2XX", // letter in the division code
		"91440300MI5FUTR2XX", // I is not in the alphabet
		"91440300MO5FUTR2XX", // O
		"91440300MS5FUTR2XX", // S
		"91440300MV5FUTR2XX", // V
		"91440300MZ5FUTR2XX", // Z
		"91440300MA5FUTR2X-",
		"440305199003071236", // a resident ID: the MOD 31 check fails
	} {
		if sid, err := d.SubjectID(KindEnterprise, id); !errors.Is(err, ErrInvalidIDNumber) {
			t.Errorf("SubjectID(enterprise, %q) = %q, %v", id, sid, err)
		}
	}
}

func TestInvalidKind(t *testing.T) {
	d := newDeriver(t)
	for _, k := range []string{"", "Person", "PERSON", "p", "org", "enterprise "} {
		if _, err := d.SubjectID(k, validPersons[0]); !errors.Is(err, ErrInvalidKind) {
			t.Errorf("kind %q: %v", k, err)
		}
	}
}

func TestDeterminismAndSeparation(t *testing.T) {
	d1 := newDeriver(t)
	d2 := newDeriver(t)
	a, _ := d1.SubjectID(KindPerson, validPersons[0])
	b, _ := d2.SubjectID(KindPerson, validPersons[0])
	if a != b {
		t.Fatal("same secret and input, different IDs")
	}
	other, err := NewDeriver(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := other.SubjectID(KindPerson, validPersons[0]); c == a {
		t.Fatal("different secrets, same ID")
	}
	seen := map[string]bool{}
	for _, id := range validPersons {
		s, _ := d1.SubjectID(KindPerson, id)
		if seen[s] {
			t.Fatalf("collision for %s", id)
		}
		seen[s] = true
	}
	// A number valid both as a resident ID and as a credit code gets two
	// unrelated subject IDs (the kind is part of the MAC input).
	const both = "110105195409279322"
	p, err1 := d1.SubjectID(KindPerson, both)
	e, err2 := d1.SubjectID(KindEnterprise, both)
	if err1 != nil || err2 != nil {
		t.Fatalf("%v, %v", err1, err2)
	}
	if p[2:] == e[2:] {
		t.Fatal("kind does not separate the MACs")
	}
}

func TestNewDeriver(t *testing.T) {
	for _, n := range []int{0, 1, 31} {
		if _, err := NewDeriver(make([]byte, n)); err == nil {
			t.Errorf("accepted a %d-byte secret", n)
		}
	}
	secret := bytes.Repeat([]byte{1}, 32)
	d, err := NewDeriver(secret)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := d.SubjectID(KindPerson, validPersons[0])
	secret[0] = 2 // the Deriver keeps its own copy
	if after, _ := d.SubjectID(KindPerson, validPersons[0]); after != before {
		t.Fatal("Deriver shares the caller's secret slice")
	}
}

func TestValidSubjectID(t *testing.T) {
	good := "p-s7my2cvzoa2fvc5oi2seewep6uw2plzo"
	if !ValidSubjectID(good) || !ValidSubjectID("e-"+good[2:]) {
		t.Fatal("valid ID refused")
	}
	for _, s := range []string{
		"", "p-", "x-" + good[2:], "P-" + good[2:], good + "a", good[:33],
		"p-S7MY2CVZOA2FVC5OI2SEEWEP6UW2PLZO", "p-s7my2cvzoa2fvc5oi2seewep6uw2plz0",
		"p-s7my2cvzoa2fvc5oi2seewep6uw2plz1", "p-s7my2cvzoa2fvc5oi2seewep6uw2plz=",
		"p-../../../../../../../../etc/pass", "p-s7my2cvzoa2fvc5oi2seewep6uw2plz/",
		"p_s7my2cvzoa2fvc5oi2seewep6uw2plzo", "p-s7my2cvzoa2fvc5oi2seewep6uw2plzé",
	} {
		if ValidSubjectID(s) {
			t.Errorf("ValidSubjectID(%q) = true", s)
		}
		if _, ok := KindOf(s); ok {
			t.Errorf("KindOf(%q) ok", s)
		}
	}
}

// FuzzSubjectID: no panics; accepted inputs give syntactically valid,
// deterministic IDs, invariant under normalisation; refusals are typed.
func FuzzSubjectID(f *testing.F) {
	// More seeds live in testdata/fuzz/FuzzSubjectID.
	f.Add(KindPerson, "440305199003071236")
	f.Add(KindEnterprise, "91440300MA5FUTR2XX")
	d := newDeriver(f)
	f.Fuzz(func(t *testing.T, kind, id string) {
		sid, err := d.SubjectID(kind, id)
		if err != nil {
			if !errors.Is(err, ErrInvalidKind) && !errors.Is(err, ErrInvalidIDNumber) {
				t.Fatalf("untyped error %v", err)
			}
			if sid != "" {
				t.Fatal("ID returned with an error")
			}
			return
		}
		if !ValidSubjectID(sid) {
			t.Fatalf("invalid subject ID %q", sid)
		}
		if k, _ := KindOf(sid); k != kind {
			t.Fatalf("KindOf(%q) = %q, want %q", sid, k, kind)
		}
		norm, err := Normalize(kind, id)
		if err != nil {
			t.Fatalf("Normalize refused what SubjectID accepted: %v", err)
		}
		if again, err := d.SubjectID(kind, norm); err != nil || again != sid {
			t.Fatalf("normalised form gives %q, %v; want %q", again, err, sid)
		}
		if len(norm) != 18 || strings.ToUpper(norm) != norm {
			t.Fatalf("normalised form %q", norm)
		}
	})
}
