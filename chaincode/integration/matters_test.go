package integration

import (
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/network"
	"github.com/edossier-city/edossier/network/nettest"
)

// portMatters is the base port of the "one thing" test's network (nine
// organisations: 40 + 10*9 ports from it).
const portMatters = 23450

// oneThingOrgs are the departments network/one-thing.yaml adds to the default network
// (medical insurance, transport, education, market regulation as the representative
// authority); the test adds them with nettest's Mutate (see
// docs/network.md#departments-for-one-thing-matters for why the default network does
// not carry them).
func oneThingOrgs(t *testing.T) []network.OrgSpec {
	root, err := nettest.Root()
	if err != nil {
		t.Fatal(err)
	}
	def, err := network.LoadSpec(filepath.Join(root, "network", "network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := network.LoadSpec(filepath.Join(root, "network", "one-thing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	extra, err := network.ExtraOrganizations(def, s)
	if err != nil {
		t.Fatal(err)
	}
	return extra
}

// Record types and purposes of the "one thing" test.
const (
	typeLicence    = "business-licence"   // market regulation is accredited
	typeInspection = "vehicle-inspection" // transport is accredited

	purposeNewborn   = "newborn-registration"
	purposeSocial    = "social-insurance-enrolment"
	purposeMedIns    = "medical-insurance-enrolment"
	purposeChild     = "child-health-record"
	purposeSchoolBus = "school-bus-permit"
)

type matters struct {
	*flow
	depts                                map[string]*actor // by organisation name
	social, medins, transport, education *actor
	market                               *actor
	parent, stranger, rep                *citizen
	baby, otherBaby, firm                string
	birth, household, vaccine            string // record IDs of the baby
	licence, inspection                  string // record IDs of the firm
	newborn, schoolBus                   wire.Matter
	request                              wire.ConsentRequest
	grant                                wire.GrantState
	reads                                []wire.AccessEntry
}

// TestOneThingMatters: the "one thing" matters on a real network of nine
// organisations. A parent, as guardian of a newborn (no key of its own), approves the
// civil affairs bureau's consent request for the newborn matter: one signature for
// five departments; each reads exactly its part and is refused outside it; the access
// log names the grant and the part of every read; one revocation ends every part; a
// superseded or undefined matter version gets no new consent; the guardian relation
// ends at its end date (transaction timestamps, not sleeps). An enterprise's legal
// representative, attested by market regulation, grants the school-bus permit matter
// to transport and education.
func TestOneThingMatters(t *testing.T) {
	orgs := oneThingOrgs(t)
	n := nettest.Start(t, nettest.Options{BasePort: portMatters, Mutate: func(s *network.Spec) {
		s.Organizations = append(s.Organizations, orgs...)
	}})
	m := &matters{flow: &flow{peers: map[string]*client.Gateway{}}, depts: map[string]*actor{}}
	for _, o := range n.Profile.Organizations {
		m.peers[o.Name] = n.Gateway(t, o.Name, "admin")
	}
	m.op = newActor(t, n, "operator", "ops", mspOperator)
	m.civil = newActor(t, n, "civil", "clerk", mspCivil)
	m.health = newActor(t, n, "health", "clerk", mspHealth)
	m.police = newActor(t, n, "police", "clerk", mspPolice)
	m.social = newActor(t, n, "social", "clerk", "SocialSecurityMSP")
	m.medins = newActor(t, n, "medins", "clerk", "MedicalInsuranceMSP")
	m.transport = newActor(t, n, "transport", "clerk", "TransportMSP")
	m.education = newActor(t, n, "education", "clerk", "EducationMSP")
	m.market = newActor(t, n, "market", "clerk", "MarketRegulationMSP")
	for _, a := range []*actor{m.civil, m.health, m.police, m.social, m.medins, m.transport, m.education, m.market} {
		m.depts[a.msp] = a
	}
	steps := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"registry", m.registry},
		{"guardian", m.guardian},
		{"consent-request", m.consentRequest},
		{"each-department-its-part", m.parts},
		{"access-log-by-grant", m.accessLog},
		{"revocation-ends-all-parts", m.revocation},
		{"matter-versions", m.versions},
		{"guardian-ends-at-end-date", m.guardianEnds},
		{"school-bus-permit", m.schoolBusPermit},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("step %q failed; the later steps depend on its ledger state", s.name)
		}
	}
}

func (m *matters) registry(t *testing.T) {
	op := m.op
	for _, a := range m.depts {
		submit[wire.Department](t, m.flow, op, op.dossier, "RegisterDepartment", a.msp, a.msp, a.name[:len(a.name)-len("/clerk")])
	}
	for _, rt := range []string{typeBirth, typeHousehold, typeVaccine, typeLicence, typeInspection} {
		submit[wire.RecordType](t, m.flow, op, op.dossier, "DefineRecordType", rt, rt)
	}
	for _, a := range []struct{ msp, typ string }{
		{mspHealth, typeBirth}, {mspHealth, typeVaccine}, {mspCivil, typeHousehold},
		{m.market.msp, typeLicence}, {m.transport.msp, typeInspection},
	} {
		submit[wire.Accreditation](t, m.flow, op, op.dossier, "Accredit", a.msp, a.typ)
	}
	for _, p := range []string{purposeNewborn, purposeHousehold, purposeSocial, purposeMedIns, purposeChild, purposeSchoolBus, purposeIdentity} {
		submit[wire.Purpose](t, m.flow, op, op.dossier, "DefinePurpose", p, p)
	}
	submit[wire.Reason](t, m.flow, op, op.dossier, "DefineReason", reasonRequest, "At the subject's request")
	m.newborn = m.defineNewborn(t, false)
	if len(m.newborn.Parts) != 5 || m.newborn.Version != 1 {
		t.Fatalf("newborn matter %+v", m.newborn)
	}
	m.schoolBus, _ = submit[wire.Matter](t, m.flow, op, op.dossier, "DefineMatter", mustJSON(t, wire.MatterDefinition{
		Code: "school-bus-permit", Name: "School-bus permit", Parts: []wire.MatterPart{
			{Department: m.transport.msp, RecordTypes: []string{typeLicence, typeInspection}, Purpose: purposeSchoolBus},
			{Department: m.education.msp, RecordTypes: []string{typeLicence}, Purpose: purposeSchoolBus},
		}}))
}

// defineNewborn defines the newborn matter: five departments, each its own records
// and purpose; withVaccine adds the vaccination record to health's part (a new
// version).
func (m *matters) defineNewborn(t *testing.T, withVaccine bool) wire.Matter {
	healthTypes := []string{typeHousehold}
	if withVaccine {
		healthTypes = append(healthTypes, typeVaccine)
	}
	d := wire.MatterDefinition{Code: "newborn", Name: "Newborn: eight procedures in one application", Parts: []wire.MatterPart{
		{Department: mspCivil, RecordTypes: []string{typeBirth}, Purpose: purposeNewborn},
		{Department: mspPolice, RecordTypes: []string{typeBirth, typeHousehold}, Purpose: purposeHousehold},
		{Department: m.social.msp, RecordTypes: []string{typeBirth}, Purpose: purposeSocial},
		{Department: m.medins.msp, RecordTypes: []string{typeBirth}, Purpose: purposeMedIns},
		{Department: mspHealth, RecordTypes: healthTypes, Purpose: purposeChild},
	}}
	v, _ := submit[wire.Matter](t, m.flow, m.op, m.op.dossier, "DefineMatter", mustJSON(t, d))
	return v
}

// bindKey binds c's first key with the identity authority's attestation.
func (m *matters) bindKey(t *testing.T, c *citizen) {
	doc := c.statement(t, wire.KeyBindKind, nil)
	submit[wire.SubjectKey](t, m.flow, m.police, m.police.sharing, "BindSubjectKey", string(doc), c.sign(t, doc))
}

// delegation is the statement (and the delegate's signature) that delegate acts for subject in relation until end.
func (m *matters) delegation(t *testing.T, delegate *citizen, subject, relation string, end time.Time) (string, string) {
	st := wire.DelegationStatement{Kind: wire.DelegationKind, SubjectID: subject, DelegateID: delegate.id, Relation: relation,
		EndsAt: wire.FormatTime(end), IssuedAt: wire.FormatTime(time.Now()), Nonce: fmt.Sprintf("n-%d", time.Now().UnixNano())}
	doc := mustJSON(t, st)
	return doc, delegate.sign(t, []byte(doc))
}

func (m *matters) guardian(t *testing.T) {
	m.parent = newCitizen(t, pseudonym("parent"))
	m.stranger = newCitizen(t, pseudonym("stranger")) // guardian of another baby
	m.baby, m.otherBaby = pseudonym("newborn"), pseudonym("other newborn")
	m.bindKey(t, m.parent)
	m.bindKey(t, m.stranger)
	eighteen := time.Now().Add(18 * 365 * 24 * time.Hour)
	doc, sig := m.delegation(t, m.parent, m.baby, wire.RelationGuardian, eighteen)
	// Market regulation attests legal representatives, not guardians.
	refuse(t, m.market, m.market.sharing, wire.CodeForbidden, "BindDelegation", doc, sig)
	d, _ := submit[wire.Delegation](t, m.flow, m.police, m.police.sharing, "BindDelegation", doc, sig)
	if d.AttestedBy != mspPolice || d.DelegateID != m.parent.id {
		t.Fatalf("delegation %+v", d)
	}
	doc, sig = m.delegation(t, m.stranger, m.otherBaby, wire.RelationGuardian, eighteen)
	submit[wire.Delegation](t, m.flow, m.police, m.police.sharing, "BindDelegation", doc, sig)

	m.birth, m.household, m.vaccine = "r-nb-birth", "r-nb-household", "r-nb-vaccine"
	for _, r := range []struct {
		a       *actor
		id, typ string
	}{{m.health, m.birth, typeBirth}, {m.civil, m.household, typeHousehold}, {m.health, m.vaccine, typeVaccine}} {
		submit[wire.Record](t, m.flow, r.a, r.a.dossier, "AppendRecord", mustJSON(t, request(r.id, m.baby, r.typ, newFile(t, "%PDF "+r.id), "")))
	}
	m.settle(t, m.op, chMunicipal)
}

// matterGrant is a grant of subject for every part of matter.
func matterGrant(id, subject string, mt wire.Matter, from, until time.Time) wire.Grant {
	ref := mt.Ref()
	return wire.Grant{Kind: wire.GrantKind, GrantID: id, SubjectID: subject, Matter: &ref, Parts: mt.GrantParts(),
		ValidFrom: wire.FormatTime(from), ExpiresAt: wire.FormatTime(until)}
}

func (m *matters) consentRequest(t *testing.T) {
	now := time.Now()
	g := matterGrant("g-newborn-1", m.baby, m.newborn, now.Add(-time.Minute), now.Add(30*24*time.Hour))
	in := mustJSON(t, wire.ConsentRequestInput{Grant: g, Reference: "nb-2026-0001", ExpiresAt: wire.FormatTime(now.Add(7 * 24 * time.Hour))})
	// Only a department of the matter asks for it.
	refuse(t, m.transport, m.transport.sharing, wire.CodeForbidden, "RequestConsent", in)
	m.request, _ = submit[wire.ConsentRequest](t, m.flow, m.civil, m.civil.sharing, "RequestConsent", in)
	doc, err := base64.StdEncoding.DecodeString(m.request.Document)
	if err != nil {
		t.Fatal(err)
	}
	// Altered after the request: health's part dropped, or a longer expiry.
	alt := m.request.Grant
	alt.Parts = alt.Parts[1:]
	altDoc, err := wire.EncodeGrant(alt)
	if err != nil {
		t.Fatal(err)
	}
	refuse(t, m.op, m.op.sharing, wire.CodeInvalid, "ApproveConsentRequest", m.request.RequestID, string(altDoc), m.parent.sign(t, altDoc))
	// A guardian of another newborn is no delegate of this one.
	refuse(t, m.op, m.op.sharing, wire.CodeBadSignature, "ApproveConsentRequest", m.request.RequestID, string(doc), m.stranger.sign(t, doc))
	m.grant, _ = submit[wire.GrantState](t, m.flow, m.op, m.op.sharing, "ApproveConsentRequest", m.request.RequestID, string(doc), m.parent.sign(t, doc))
	if m.grant.SignedBy != m.parent.id || m.grant.SubjectID != m.baby || len(m.grant.Grant.Parts) != 5 || m.grant.Grantee != "" {
		t.Fatalf("approved grant %+v", m.grant)
	}
	// After the approval, neither the altered grant nor the requested one again.
	refuse(t, m.op, m.op.sharing, wire.CodeConflict, "ApproveConsentRequest", m.request.RequestID, string(altDoc), m.parent.sign(t, altDoc))
	refuse(t, m.op, m.op.sharing, wire.CodeConflict, "ApproveConsentRequest", m.request.RequestID, string(doc), m.parent.sign(t, doc))
	r := evaluate[wire.ConsentRequest](t, m.civil, m.civil.sharing, "GetConsentRequest", m.request.RequestID)
	if r.Status != wire.RequestApproved || r.DecidedBy != "key:"+m.parent.keyID(t) {
		t.Fatalf("civil affairs sees %+v", r)
	}
	m.settle(t, m.op, chDatashare)
}

// partsOf lists, per department, the records inside and outside its part.
func (m *matters) partsOf() []struct {
	a        *actor
	in, out  []string
	position int
} {
	return []struct {
		a        *actor
		in, out  []string
		position int
	}{
		// Parts are ordered by MSP ID.
		{m.civil, []string{m.birth}, []string{m.household, m.vaccine}, 1},
		{m.health, []string{m.household}, []string{m.birth, m.vaccine}, 2},
		{m.medins, []string{m.birth}, []string{m.household}, 3},
		{m.police, []string{m.birth, m.household}, []string{m.vaccine}, 4},
		{m.social, []string{m.birth}, []string{m.household}, 5},
	}
}

func (m *matters) parts(t *testing.T) {
	for _, p := range m.partsOf() {
		for _, id := range p.in {
			e, _ := submit[wire.AccessEntry](t, m.flow, p.a, p.a.sharing, "RecordAccess", m.grant.GrantID, id, "")
			want := m.grant.Grant.Parts[p.position-1]
			if e.Part != p.position || want.Grantee != p.a.msp || e.Purpose != want.Purpose || e.Matter == nil || *e.Matter != m.newborn.Ref() {
				t.Fatalf("%s read %s: entry %+v, want part %d (%+v)", p.a.name, id, e, p.position, want)
			}
			m.reads = append(m.reads, e)
		}
		// Outside its own part, even where another department's part covers the
		// record (health issued the birth certificate; four other parts cover it).
		for _, id := range p.out {
			refuse(t, p.a, p.a.sharing, wire.CodeOutOfScope, "RecordAccess", m.grant.GrantID, id, "")
		}
	}
	// Departments of no part of the matter.
	refuse(t, m.transport, m.transport.sharing, wire.CodeForbidden, "RecordAccess", m.grant.GrantID, m.birth, "")
	refuse(t, m.op, m.op.sharing, wire.CodeForbidden, "RecordAccess", m.grant.GrantID, m.birth, "")
	// The dossier contract shows each department what its part covers, nothing else.
	evaluate[wire.Record](t, m.medins, m.medins.dossier, "GetRecord", m.birth)
	refuseEval(t, m.medins, m.medins.dossier, wire.CodeNotFound, "GetRecord", m.household)
}

func (m *matters) accessLog(t *testing.T) {
	page := evaluate[wire.AccessPage](t, m.op, m.op.sharing, "AccessLog", m.baby, "", "")
	byPart := map[int]int{}
	for _, e := range page.Entries {
		if e.GrantID != m.grant.GrantID {
			t.Fatalf("entry under another grant: %+v", e)
		}
		byPart[e.Part]++
	}
	if len(page.Entries) != len(m.reads) || len(byPart) != 5 || byPart[4] != 2 {
		t.Fatalf("access log: %d entries by part %v, want %d reads over 5 parts", len(page.Entries), byPart, len(m.reads))
	}
}

func (m *matters) revocation(t *testing.T) {
	doc, err := wire.EncodeRevocation(wire.Revocation{Kind: wire.RevocationKind, GrantID: m.grant.GrantID, SubjectID: m.baby,
		IssuedAt: wire.FormatTime(time.Now()), Reason: reasonRequest})
	if err != nil {
		t.Fatal(err)
	}
	refuse(t, m.op, m.op.sharing, wire.CodeBadSignature, "RevokeGrant", string(doc), m.stranger.sign(t, doc))
	st, _ := submit[wire.GrantState](t, m.flow, m.op, m.op.sharing, "RevokeGrant", string(doc), m.parent.sign(t, doc))
	if st.Status != wire.GrantRevoked || st.RevocationSignedBy != m.parent.id {
		t.Fatalf("revoked %+v", st)
	}
	for _, p := range m.partsOf() {
		refuse(t, p.a, p.a.sharing, wire.CodeRevoked, "RecordAccess", m.grant.GrantID, p.in[0], "")
	}
}

func (m *matters) versions(t *testing.T) {
	v1 := m.newborn
	v2 := m.defineNewborn(t, true)
	if v2.Version != 2 {
		t.Fatalf("new definition: version %d", v2.Version)
	}
	m.settle(t, m.op, chMunicipal)
	now := time.Now()
	create := func(g wire.Grant) (string, string) {
		doc, err := wire.EncodeGrant(g)
		if err != nil {
			t.Fatal(err)
		}
		return string(doc), m.parent.sign(t, doc)
	}
	// A version that no longer exists, and one that never did.
	doc, sig := create(matterGrant("g-newborn-v1", m.baby, v1, now.Add(-time.Minute), now.Add(time.Hour)))
	refuse(t, m.op, m.op.sharing, wire.CodeUnknownMatter, "CreateGrant", doc, sig)
	v3 := v2
	v3.Version = 3
	doc, sig = create(matterGrant("g-newborn-v3", m.baby, v3, now.Add(-time.Minute), now.Add(time.Hour)))
	refuse(t, m.op, m.op.sharing, wire.CodeUnknownMatter, "CreateGrant", doc, sig)
	// The current version, parts altered: health's part without the vaccination record.
	g := matterGrant("g-newborn-alt", m.baby, v2, now.Add(-time.Minute), now.Add(time.Hour))
	g.Parts[1].Scope.RecordTypes = []string{typeHousehold}
	doc, sig = create(g)
	refuse(t, m.op, m.op.sharing, wire.CodeInvalid, "CreateGrant", doc, sig)
	doc, sig = create(matterGrant("g-newborn-v2", m.baby, v2, now.Add(-time.Minute), now.Add(time.Hour)))
	submit[wire.GrantState](t, m.flow, m.op, m.op.sharing, "CreateGrant", doc, sig)
	submit[wire.AccessEntry](t, m.flow, m.health, m.health.sharing, "RecordAccess", "g-newborn-v2", m.vaccine, "")
}

// guardianEnds: a guardian relation ending in 20 seconds (standing for the 18th
// birthday). Proposals stamped a second before the end are accepted, a second after
// refused: the relation ends by itself, judged at the transaction's time.
func (m *matters) guardianEnds(t *testing.T) {
	parent := newCitizen(t, pseudonym("parent of a teenager"))
	teen := pseudonym("teenager")
	m.bindKey(t, parent)
	end := time.Now().Add(20 * time.Second).Truncate(time.Second)
	doc, sig := m.delegation(t, parent, teen, wire.RelationGuardian, end)
	submit[wire.Delegation](t, m.flow, m.police, m.police.sharing, "BindDelegation", doc, sig)
	gdoc, err := wire.EncodeGrant(wire.Grant{Kind: wire.GrantKind, GrantID: "g-teen", SubjectID: teen,
		Parts:     []wire.GrantPart{{Grantee: mspHealth, Scope: wire.GrantScope{RecordTypes: []string{typeBirth}}, Purpose: purposeChild}},
		ValidFrom: wire.FormatTime(end.Add(-time.Hour)), ExpiresAt: wire.FormatTime(end.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	gsig := parent.sign(t, gdoc)
	ctx, cancel := flowCtx()
	defer cancel()
	before := stampedProposal(t, m.op, m.op.sharing, end.Add(-time.Second), "CreateGrant", string(gdoc), gsig)
	if _, err := before.EndorseWithContext(ctx); err != nil {
		t.Fatalf("grant stamped before the end of the relation: %v", err)
	}
	after := stampedProposal(t, m.op, m.op.sharing, end.Add(time.Second), "CreateGrant", string(gdoc), gsig)
	_, err = after.EndorseWithContext(ctx)
	var endorseErr *client.EndorseError
	if !errors.As(err, &endorseErr) {
		t.Fatalf("grant stamped after the end of the relation: %v, want a refusal", err)
	}
	// The teenager has no key of its own and no live delegate any more.
	if e, ok := codeOf(err); !ok || e.Code != wire.CodeUnknownKey {
		t.Fatalf("grant stamped after the end: %v, want unknown_key", err)
	}
}

func (m *matters) schoolBusPermit(t *testing.T) {
	m.rep = newCitizen(t, pseudonym("legal representative"))
	m.firm = "e-" + pseudonym("school bus company")[2:]
	m.bindKey(t, m.rep)
	doc, sig := m.delegation(t, m.rep, m.firm, wire.RelationLegalRepresentative, time.Now().Add(365*24*time.Hour))
	// The identity authority attests guardians, not legal representatives.
	refuse(t, m.police, m.police.sharing, wire.CodeForbidden, "BindDelegation", doc, sig)
	d, _ := submit[wire.Delegation](t, m.flow, m.market, m.market.sharing, "BindDelegation", doc, sig)
	if d.AttestedBy != m.market.msp || d.Relation != wire.RelationLegalRepresentative {
		t.Fatalf("delegation %+v", d)
	}
	m.licence, m.inspection = "r-firm-licence", "r-firm-inspection"
	submit[wire.Record](t, m.flow, m.market, m.market.dossier, "AppendRecord", mustJSON(t, request(m.licence, m.firm, typeLicence, newFile(t, "%PDF licence"), "")))
	submit[wire.Record](t, m.flow, m.transport, m.transport.dossier, "AppendRecord", mustJSON(t, request(m.inspection, m.firm, typeInspection, newFile(t, "%PDF inspection"), "")))
	m.settle(t, m.op, chMunicipal)
	now := time.Now()
	gdoc, err := wire.EncodeGrant(matterGrant("g-school-bus", m.firm, m.schoolBus, now.Add(-time.Minute), now.Add(90*24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	// The parent is nobody's representative for the firm.
	refuse(t, m.op, m.op.sharing, wire.CodeBadSignature, "CreateGrant", string(gdoc), m.parent.sign(t, gdoc))
	st, _ := submit[wire.GrantState](t, m.flow, m.op, m.op.sharing, "CreateGrant", string(gdoc), m.rep.sign(t, gdoc))
	if st.SignedBy != m.rep.id {
		t.Fatalf("school-bus grant %+v", st)
	}
	for _, id := range []string{m.licence, m.inspection} {
		e, _ := submit[wire.AccessEntry](t, m.flow, m.transport, m.transport.sharing, "RecordAccess", "g-school-bus", id, "")
		if e.Part != 2 || e.Purpose != purposeSchoolBus {
			t.Fatalf("transport entry %+v", e)
		}
	}
	e, _ := submit[wire.AccessEntry](t, m.flow, m.education, m.education.sharing, "RecordAccess", "g-school-bus", m.licence, "")
	if e.Part != 1 {
		t.Fatalf("education entry %+v", e)
	}
	refuse(t, m.education, m.education.sharing, wire.CodeOutOfScope, "RecordAccess", "g-school-bus", m.inspection, "")
	refuse(t, m.market, m.market.sharing, wire.CodeForbidden, "RecordAccess", "g-school-bus", m.licence, "")
}
