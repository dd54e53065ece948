package wire

import (
	"bytes"
	"testing"
	"time"
)

func partsGrant() Grant {
	return Grant{Kind: GrantKind, GrantID: "g-parts", SubjectID: "p-" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		Matter: &MatterRef{Code: "newborn", Version: 2},
		Parts: []GrantPart{
			{Grantee: "CivilAffairsMSP", Scope: GrantScope{RecordTypes: []string{"birth-medical-certificate"}}, Purpose: "newborn-registration"},
			{Grantee: "SocialSecurityMSP", Scope: GrantScope{RecordTypes: []string{"birth-medical-certificate", "household-register"}}, Purpose: "social-insurance-enrolment"},
		},
		ValidFrom: "2026-01-01T00:00:00Z", ExpiresAt: "2026-02-01T00:00:00Z"}
}

// A single-grantee grant encodes byte for byte as before parts existed.
func TestSingleGrantEncodingUnchanged(t *testing.T) {
	g := Grant{Kind: GrantKind, GrantID: "g-1", SubjectID: "p-" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Grantee: "HealthMSP",
		Scope: GrantScope{RecordTypes: []string{"t"}}, Purpose: "p", ValidFrom: "2026-01-01T00:00:00Z", ExpiresAt: "2026-02-01T00:00:00Z"}
	doc, err := EncodeGrant(g)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"edossier.grant.v1","grantId":"g-1","subjectId":"p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","grantee":"HealthMSP","scope":{"recordTypes":["t"],"recordIds":[]},"purpose":"p","validFrom":"2026-01-01T00:00:00Z","expiresAt":"2026-02-01T00:00:00Z"}`
	if string(doc) != want {
		t.Fatalf("single grant encodes as\n%s\nwant\n%s", doc, want)
	}
}

func TestPartsGrantParseAndCoverage(t *testing.T) {
	doc, err := EncodeGrant(partsGrant())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(doc, []byte(`"scope":{"recordTypes":null`)) || bytes.Contains(doc, []byte(`"grantee":""`)) {
		t.Fatalf("a grant with parts carries empty single-grantee fields: %s", doc)
	}
	g, _, err := ParseGrant(doc)
	if err != nil {
		t.Fatal(err)
	}
	st := &GrantState{GrantID: g.GrantID, SubjectID: g.SubjectID, Status: GrantActive, Grant: g}
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	birth := &Record{SubjectID: g.SubjectID, Type: "birth-medical-certificate", RecordID: "r1"}
	household := &Record{SubjectID: g.SubjectID, Type: "household-register", RecordID: "r2"}
	for _, c := range []struct {
		msp  string
		rec  *Record
		want bool
	}{
		{"CivilAffairsMSP", birth, true},
		{"CivilAffairsMSP", household, false}, // social security's part, not civil affairs'
		{"SocialSecurityMSP", household, true},
		{"SocialSecurityMSP", birth, true},
		{"HealthMSP", birth, false}, // no part at all
	} {
		if got := st.Allows(c.msp, c.rec, now); got != c.want {
			t.Fatalf("Allows(%s, %s) = %v, want %v", c.msp, c.rec.Type, got, c.want)
		}
	}
	if _, pos, ok := g.PartFor("SocialSecurityMSP"); !ok || pos != 2 {
		t.Fatalf("PartFor(social) = %d %v", pos, ok)
	}
	if st.Allows("CivilAffairsMSP", birth, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal("allowed at expiry")
	}
}

func TestPartsGrantRefusals(t *testing.T) {
	for name, mod := range map[string]func(*Grant){
		"single and parts":  func(g *Grant) { g.Grantee = "HealthMSP" },
		"purpose and parts": func(g *Grant) { g.Purpose = "x" },
		"scope and parts":   func(g *Grant) { g.Scope.RecordTypes = []string{"t"} },
		"unordered":         func(g *Grant) { g.Parts[0], g.Parts[1] = g.Parts[1], g.Parts[0] },
		"department twice":  func(g *Grant) { g.Parts[1].Grantee = g.Parts[0].Grantee },
		"empty part scope":  func(g *Grant) { g.Parts[0].Scope = GrantScope{} },
		"bad part purpose":  func(g *Grant) { g.Parts[0].Purpose = "Free text" },
		"bad grantee":       func(g *Grant) { g.Parts[0].Grantee = "not an msp" },
		"matter version 0":  func(g *Grant) { g.Matter.Version = 0 },
		"matter bad code":   func(g *Grant) { g.Matter.Code = "New born" },
		"matter no parts":   func(g *Grant) { g.Parts = nil },
		"too many parts": func(g *Grant) {
			for i := 0; i < MaxMatterParts; i++ {
				g.Parts = append(g.Parts, GrantPart{Grantee: "Z" + pad3(i) + "MSP", Scope: GrantScope{RecordTypes: []string{"t"}}, Purpose: "p"})
			}
		},
	} {
		g := partsGrant()
		mod(&g)
		if _, err := EncodeGrant(g); AsError(err) == nil || AsError(err).Code != CodeInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func pad3(i int) string {
	return string([]byte{byte('0' + i/100), byte('0' + i/10%10), byte('0' + i%10)})
}

func TestMatterCheckGrant(t *testing.T) {
	m := Matter{Code: "newborn", Version: 2, Parts: []MatterPart{
		{Department: "CivilAffairsMSP", RecordTypes: []string{"birth-medical-certificate"}, Purpose: "newborn-registration"},
		{Department: "SocialSecurityMSP", RecordTypes: []string{"birth-medical-certificate", "household-register"}, Purpose: "social-insurance-enrolment"},
	}}
	g := partsGrant()
	if err := m.CheckGrant(&g); err != nil {
		t.Fatal(err)
	}
	g2 := Grant{Matter: &MatterRef{Code: "newborn", Version: 2}, Parts: m.GrantParts()}
	if err := m.CheckGrant(&g2); err != nil {
		t.Fatalf("GrantParts does not pass CheckGrant: %v", err)
	}
	for name, mod := range map[string]func(*Grant){
		"other version": func(g *Grant) { g.Matter = &MatterRef{Code: "newborn", Version: 1} },
		"no matter":     func(g *Grant) { g.Matter = nil },
		"extra type":    func(g *Grant) { g.Parts[0].Scope.RecordTypes = append(g.Parts[0].Scope.RecordTypes, "marriage-record") },
		"record ID":     func(g *Grant) { g.Parts[0].Scope.RecordIDs = []string{"r-1"} },
		"other purpose": func(g *Grant) { g.Parts[1].Purpose = "identity-verification" },
		"missing part":  func(g *Grant) { g.Parts = g.Parts[:1] },
		"other grantee": func(g *Grant) { g.Parts[0].Grantee = "HealthMSP" },
	} {
		g := partsGrant()
		mod(&g)
		if err := m.CheckGrant(&g); AsError(err) == nil || AsError(err).Code != CodeInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}
