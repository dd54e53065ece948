package sharing_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// defineNewborn defines the test's "newborn" matter: civil affairs reads the birth
// certificate, health the licence (any two departments with distinct parts will do).
func defineNewborn(t *testing.T, e *cctest.Env, civilTypes ...string) wire.Matter {
	t.Helper()
	if len(civilTypes) == 0 {
		civilTypes = []string{cctest.BirthCert}
	}
	d := wire.MatterDefinition{Code: "newborn", Name: "Newborn", Parts: []wire.MatterPart{
		{Department: cctest.Civil, RecordTypes: civilTypes, Purpose: cctest.PurposeOneThing},
		{Department: cctest.Health, RecordTypes: []string{cctest.Licence}, Purpose: cctest.PurposeMarriage},
	}}
	return cctest.Decode[wire.Matter](t, e.OK(e.Dossier(e.Op, "DefineMatter", cctest.JSON(t, d))))
}

func (s *subject) matterGrant(id string, m wire.Matter) wire.Grant {
	return wire.Grant{Kind: wire.GrantKind, GrantID: id, SubjectID: s.id, Matter: &wire.MatterRef{Code: m.Code, Version: m.Version},
		Parts: m.GrantParts(), ValidFrom: "2025-03-01T00:00:00Z", ExpiresAt: "2025-04-01T00:00:00Z"}
}

func TestMatterGrantEachDepartmentItsPart(t *testing.T) {
	e, s := setup(t)
	m := defineNewborn(t, e)
	st := s.create(t, e, s.matterGrant("g-nb", m))
	if st.Grantee != "" || len(st.Grant.Parts) != 2 || st.Grant.Matter == nil || st.Grant.Matter.Version != 1 {
		t.Fatalf("matter grant %+v", st)
	}
	// Civil affairs reads the birth certificate under its part (part 1: parts are
	// ordered by department), health the licence under its part (part 2).
	civ := cctest.Decode[wire.AccessEntry](t, e.OK(e.Sharing(e.Civil, "RecordAccess", "g-nb", "b1", "")))
	if civ.Part != 1 || civ.Purpose != cctest.PurposeOneThing || civ.Matter == nil || *civ.Matter != (wire.MatterRef{Code: "newborn", Version: 1}) || civ.GrantID != "g-nb" {
		t.Fatalf("civil entry %+v", civ)
	}
	hea := cctest.Decode[wire.AccessEntry](t, e.OK(e.Sharing(e.Health, "RecordAccess", "g-nb", "l1", "")))
	if hea.Part != 2 || hea.Purpose != cctest.PurposeMarriage {
		t.Fatalf("health entry %+v", hea)
	}
	// Neither uses the other's part: health issued b1 and civil's part covers birth
	// certificates, yet health's own part does not.
	e.Code(e.Sharing(e.Health, "RecordAccess", "g-nb", "b1", ""), wire.CodeOutOfScope)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g-nb", "l1", ""), wire.CodeOutOfScope)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g-nb", "m1", ""), wire.CodeOutOfScope)
	// A department without a part, registered or not.
	e.Code(e.Sharing(e.Authority, "RecordAccess", "g-nb", "b1", ""), wire.CodeForbidden)
	e.Code(e.Sharing(e.Outsider, "RecordAccess", "g-nb", "b1", ""), wire.CodeForbidden)
	// Metadata reads follow the same rule.
	e.OK(e.Sharing(e.Civil, "RecordMetadataAccess", s.id, `["b1"]`, wire.MetadataGet))
	e.Code(e.Sharing(e.Civil, "RecordMetadataAccess", s.id, `["m1"]`, wire.MetadataGet), wire.CodeOutOfScope)
	md := cctest.Decode[[]wire.AccessEntry](t, e.OK(e.Sharing(e.Health, "RecordMetadataAccess", s.id, `["l1"]`, wire.MetadataGet)))
	if md[0].Part != 2 || md[0].Purpose != cctest.PurposeMarriage {
		t.Fatalf("metadata entry %+v", md[0])
	}
	// The dossier contract shows each department its part only.
	if e.DossierQ(e.Health, "GetRecord", "l1").OK() != true || e.DossierQ(e.Civil, "GetRecord", "m1").OK() {
		t.Fatal("dossier visibility does not follow the parts")
	}
	// Both departments see the grant; a department without a part does not.
	e.OK(e.SharingQ(e.Health, "GetGrant", "g-nb"))
	e.Code(e.SharingQ(e.Authority, "GetGrant", "g-nb"), wire.CodeNotFound)

	// One revocation ends every part.
	rev := s.revocation(t, "g-nb")
	e.OK(e.Sharing(e.Op, "RevokeGrant", string(rev), s.sign(t, rev)))
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g-nb", "b1", ""), wire.CodeRevoked)
	e.Code(e.Sharing(e.Health, "RecordAccess", "g-nb", "l1", ""), wire.CodeRevoked)
}

func TestMatterGrantVersions(t *testing.T) {
	e, s := setup(t)
	v1 := defineNewborn(t, e)
	old := s.create(t, e, s.matterGrant("g-v1", v1))
	v2 := defineNewborn(t, e, cctest.BirthCert, cctest.Marriage)
	if v2.Version != 2 {
		t.Fatalf("second definition is version %d", v2.Version)
	}
	try := func(g wire.Grant, want wire.Code) {
		t.Helper()
		doc := encode(t, g)
		r := e.Sharing(e.Civil, "CreateGrant", string(doc), s.sign(t, doc))
		if r.OK() || r.Err().Code != want || r.Writes != 0 {
			t.Fatalf("grant %s: %v, want %s", g.GrantID, r.Err(), want)
		}
	}
	// A version that no longer exists (superseded), one that does not exist, a matter
	// that is not defined.
	try(s.matterGrant("g-v1b", v1), wire.CodeUnknownMatter)
	v3 := v2
	v3.Version = 3
	try(s.matterGrant("g-v3", v3), wire.CodeUnknownMatter)
	none := v2
	none.Code = "no-such-matter"
	try(s.matterGrant("g-none", none), wire.CodeUnknownMatter)
	// The current version, but with parts that are not the version's.
	g := s.matterGrant("g-more", v2)
	g.Parts[0].Scope.RecordTypes = []string{cctest.BirthCert, cctest.Licence, cctest.Marriage}
	try(g, wire.CodeInvalid)
	s.create(t, e, s.matterGrant("g-v2", v2))
	// A grant signed against version 1 stays what its subject signed: civil affairs
	// reads the birth certificate, not the marriage record version 2 added.
	if old.Grant.Matter.Version != 1 {
		t.Fatalf("old grant %+v", old.Grant.Matter)
	}
	e.OK(e.Sharing(e.Civil, "RecordAccess", "g-v1", "b1", ""))
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g-v1", "m1", ""), wire.CodeOutOfScope)
	e.OK(e.Sharing(e.Civil, "RecordAccess", "g-v2", "m1", ""))
}

func TestFreeCombinationGrant(t *testing.T) {
	e, s := setup(t)
	g := wire.Grant{Kind: wire.GrantKind, GrantID: "g-free", SubjectID: s.id, Parts: []wire.GrantPart{
		{Grantee: cctest.Civil, Scope: wire.GrantScope{RecordIDs: []string{"m1"}}, Purpose: cctest.PurposeMarriage},
		{Grantee: cctest.Health, Scope: wire.GrantScope{RecordTypes: []string{cctest.Licence}}, Purpose: cctest.PurposeOneThing},
	}, ValidFrom: "2025-03-01T00:00:00Z", ExpiresAt: "2025-04-01T00:00:00Z"}
	for name, mod := range map[string]func(*wire.Grant){
		"unregistered department": func(g *wire.Grant) { g.Parts[0].Grantee = "AaaMSP" },
		"unregistered purpose":    func(g *wire.Grant) { g.Parts[1].Purpose = "not-registered" },
	} {
		bad := g
		bad.Parts = append([]wire.GrantPart{}, g.Parts...)
		mod(&bad)
		doc := encode(t, bad)
		r := e.Sharing(e.Civil, "CreateGrant", string(doc), s.sign(t, doc))
		if r.OK() || r.Err().Code != wire.CodeInvalid || r.Writes != 0 {
			t.Fatalf("%s: %v, want invalid", name, r.Err())
		}
	}
	s.create(t, e, g)
	e.OK(e.Sharing(e.Civil, "RecordAccess", "g-free", "m1", ""))
	e.OK(e.Sharing(e.Health, "RecordAccess", "g-free", "l1", ""))
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g-free", "l1", ""), wire.CodeOutOfScope)
	e.Code(e.Sharing(e.Health, "RecordAccess", "g-free", "m1", ""), wire.CodeOutOfScope)
	e.Net.Advance(40 * 24 * time.Hour)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g-free", "m1", ""), wire.CodeExpired)
	e.Code(e.Sharing(e.Health, "RecordAccess", "g-free", "l1", ""), wire.CodeExpired)
}

// A department asks for the whole matter (it is one of its departments); the subject
// approves by signing exactly the requested grant, and every part works.
func TestMatterConsentRequest(t *testing.T) {
	e, s := setup(t)
	m := defineNewborn(t, e)
	g := s.matterGrant("g-req", m)
	g.ValidFrom, g.ExpiresAt = wire.FormatTime(e.Net.Now), wire.FormatTime(e.Net.Now.Add(30*24*time.Hour))
	in := func(g wire.Grant) string {
		return cctest.JSON(t, wire.ConsentRequestInput{Grant: g, Reference: "app-nb-1", ExpiresAt: wire.FormatTime(e.Net.Now.Add(24 * time.Hour))})
	}
	e.Code(e.Sharing(e.Authority, "RequestConsent", in(g)), wire.CodeForbidden) // no part of the matter
	stale := g
	stale.Matter = &wire.MatterRef{Code: "newborn", Version: 7}
	e.Code(e.Sharing(e.Civil, "RequestConsent", in(stale)), wire.CodeUnknownMatter)
	req := cctest.Decode[wire.ConsentRequest](t, e.OK(e.Sharing(e.Civil, "RequestConsent", in(g))))
	doc, _ := base64.StdEncoding.DecodeString(req.Document)
	// Altered after the request: a part dropped.
	alt := req.Grant
	alt.Parts = alt.Parts[:1]
	altDoc := encode(t, alt)
	e.Code(e.Sharing(e.Op, "ApproveConsentRequest", req.RequestID, string(altDoc), s.sign(t, altDoc)), wire.CodeInvalid)
	e.OK(e.Sharing(e.Op, "ApproveConsentRequest", req.RequestID, string(doc), s.sign(t, doc)))
	e.OK(e.Sharing(e.Civil, "RecordAccess", "g-req", "b1", ""))
	e.OK(e.Sharing(e.Health, "RecordAccess", "g-req", "l1", ""))
}
