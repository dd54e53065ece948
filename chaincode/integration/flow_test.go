package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/network"
	"github.com/edossier-city/edossier/network/nettest"
)

// portFlow is the base port of the flow test's network (this package uses
// 21000-21999; other packages use 20000-20999 and 22000+).
const portFlow = 21000

// Record types of the flow.
const (
	typeBirth     = "birth-medical-certificate" // health is accredited
	typeVaccine   = "vaccination-record"        // health is accredited
	typeHousehold = "household-register"        // civil is accredited
)

// recoveryDelay is the key recovery time lock of the flow's network.
const recoveryDelay = 6 * time.Second

// shortWindow is how long the expiring grant of the flow stays valid.
const shortWindow = 8 * time.Second

// flow is the state the steps of TestDossierAndSharingFlow share.
type flow struct {
	op, civil, health *actor
	police            *actor                     // the identity authority
	peers             map[string]*client.Gateway // one per organisation of the network, by name

	alice, bob *citizen // alice's key gets bound; bob only has records
	mallory    *citizen // a key that is never bound to alice

	reqs map[string]wire.AppendRequest // by record ID
	recs map[string]wire.Record        // latest known state, by record ID

	birthFile                                              file
	firstAppendTx, retryTx, batchTx, revokeTx, supersedeTx string
	batchIDs                                               []string

	grants        map[string]wire.GrantState // as created, by grant ID
	shortUntil    time.Time
	grantRevokeTx string
	accesses      []wire.AccessEntry // allowed accesses, oldest first
}

// TestDossierAndSharingFlow runs the whole flow across both channels on one
// real network: the operator (OperatorMSP), two departments (civil =
// CivilAffairsMSP, health = HealthMSP) and citizens whose keys the test
// generates. Steps run in order; each relies on the ledger state the previous
// ones left, so the flow stops at the first failed step.
func TestDossierAndSharingFlow(t *testing.T) {
	n := nettest.Start(t, nettest.Options{BasePort: portFlow, Mutate: func(s *network.Spec) {
		s.Sharing.RecoveryDelay.Duration = recoveryDelay
	}})
	f := &flow{
		op:      newActor(t, n, "operator", "ops", mspOperator),
		civil:   newActor(t, n, "civil", "clerk", mspCivil),
		health:  newActor(t, n, "health", "clerk", mspHealth),
		police:  newActor(t, n, "police", "clerk", mspPolice),
		alice:   newCitizen(t, pseudonym("alice")),
		bob:     newCitizen(t, pseudonym("bob")),
		mallory: newCitizen(t, pseudonym("alice")),
		reqs:    map[string]wire.AppendRequest{},
		recs:    map[string]wire.Record{},
		grants:  map[string]wire.GrantState{},
	}
	// Every organisation's peer (the network may have more organisations
	// than the three the flow uses; their peers endorse too).
	f.peers = map[string]*client.Gateway{}
	for _, o := range n.Profile.Organizations {
		f.peers[o.Name] = n.Gateway(t, o.Name, "admin")
	}
	steps := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"registry", f.registry},
		{"append", f.appendRecords},
		{"no-personal-data", f.noPersonalData},
		{"queries", f.queries},
		{"visibility", f.visibility},
		{"idempotent-retry", f.idempotentRetry},
		{"batch", f.batch},
		{"revoke", f.revoke},
		{"supersede", f.supersede},
		{"subject-key", f.subjectKey},
		{"grants", f.createGrants},
		{"access", f.access},
		{"deactivated-department", f.deactivated},
		{"device-keys", f.deviceKeys},
		{"key-recovery", f.keyRecovery},
		{"access-log", f.accessLog},
		{"events", f.events},
		{"forged-time", f.forgedTime},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("step %q failed; the later steps depend on its ledger state", s.name)
		}
	}
}

// settle waits until every organisation's peer has at least the block height
// that a's peer has on the channel: the next step may read through any peer,
// and sharing's cross-channel reads run on every endorsing peer.
func (f *flow) settle(t testing.TB, a *actor, channel string) {
	t.Helper()
	want, err := nettest.Height(a.gw, channel)
	if err != nil {
		t.Fatalf("height of %s at %s: %v", channel, a.name, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for name, gw := range f.peers {
		for {
			h, err := nettest.Height(gw, channel)
			if err == nil && h >= want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the peer of %s stays at height %d < %d (%v)", channel, name, h, want, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Registered purpose and reason codes (no free text on the ledger).
const (
	purposeHousehold = "household-registration"
	purposeIdentity  = "identity-verification"
	purposeMedical   = "medical-insurance-claim"
	purposeSchool    = "school-enrolment"
	reasonCorrection = "data-correction"
	reasonError      = "issued-in-error"
	reasonFraud      = "fraud"
	reasonRequest    = "subject-request"
)

func (f *flow) registry(t *testing.T) {
	op := f.op
	for _, d := range []wire.Department{
		{MSPID: mspHealth, Name: "Health Commission", Code: "health", Active: true},
		{MSPID: mspCivil, Name: "Civil Affairs Bureau", Code: "civil", Active: true},
		{MSPID: mspPolice, Name: "Public Security Bureau", Code: "police", Active: true},
	} {
		got, _ := submit[wire.Department](t, f, op, op.dossier, "RegisterDepartment", d.MSPID, d.Name, d.Code)
		if got != d {
			t.Fatalf("RegisterDepartment = %+v, want %+v", got, d)
		}
	}
	// Idempotent.
	if got, _ := submit[wire.Department](t, f, op, op.dossier, "RegisterDepartment", mspHealth, "Health Commission", "health"); !got.Active || got.Name != "Health Commission" {
		t.Fatalf("RegisterDepartment again = %+v", got)
	}
	types := []wire.RecordType{
		{Code: typeBirth, Name: "Birth medical certificate"},
		{Code: typeHousehold, Name: "Household register"},
		{Code: typeVaccine, Name: "Vaccination record"},
	}
	for _, rt := range types {
		if got, _ := submit[wire.RecordType](t, f, op, op.dossier, "DefineRecordType", rt.Code, rt.Name); got != rt {
			t.Fatalf("DefineRecordType = %+v, want %+v", got, rt)
		}
	}
	accrs := []wire.Accreditation{
		{MSPID: mspCivil, RecordType: typeHousehold, Active: true},
		{MSPID: mspHealth, RecordType: typeBirth, Active: true},
		{MSPID: mspHealth, RecordType: typeVaccine, Active: true},
	}
	for _, a := range accrs {
		if got, _ := submit[wire.Accreditation](t, f, op, op.dossier, "Accredit", a.MSPID, a.RecordType); got != a {
			t.Fatalf("Accredit = %+v, want %+v", got, a)
		}
	}

	for _, p := range []wire.Purpose{
		{Code: purposeHousehold, Name: "Household registration"},
		{Code: purposeIdentity, Name: "Identity verification"},
		{Code: purposeMedical, Name: "Medical insurance claim"},
		{Code: purposeSchool, Name: "School enrolment"},
	} {
		if got, _ := submit[wire.Purpose](t, f, op, op.dossier, "DefinePurpose", p.Code, p.Name); got != p {
			t.Fatalf("DefinePurpose = %+v, want %+v", got, p)
		}
	}
	for _, r := range []wire.Reason{
		{Code: reasonCorrection, Name: "Data correction"},
		{Code: reasonError, Name: "Issued in error"},
		{Code: reasonFraud, Name: "Fraud"},
		{Code: reasonRequest, Name: "At the subject's request"},
	} {
		if got, _ := submit[wire.Reason](t, f, op, op.dossier, "DefineReason", r.Code, r.Name); got != r {
			t.Fatalf("DefineReason = %+v, want %+v", got, r)
		}
	}
	refuse(t, f.health, f.health.dossier, wire.CodeForbidden, "DefinePurpose", "x-purpose", "X")
	refuse(t, f.civil, f.civil.dossier, wire.CodeForbidden, "DefineReason", "x-reason", "X")

	// Departments may not call operator functions, not even on themselves.
	refuse(t, f.civil, f.civil.dossier, wire.CodeForbidden, "RegisterDepartment", mspCivil, "Civil Affairs Bureau", "civil")
	refuse(t, f.health, f.health.dossier, wire.CodeForbidden, "DefineRecordType", "x-type", "X")
	refuse(t, f.civil, f.civil.dossier, wire.CodeForbidden, "Accredit", mspCivil, typeBirth)
	refuse(t, f.health, f.health.dossier, wire.CodeForbidden, "Unaccredit", mspCivil, typeHousehold)
	refuse(t, f.health, f.health.dossier, wire.CodeForbidden, "DeactivateDepartment", mspCivil)
	// The operator's own mistakes.
	refuse(t, op, op.dossier, wire.CodeNotFound, "Accredit", mspCivil, "no-such-type")
	refuse(t, op, op.dossier, wire.CodeNotFound, "Accredit", "NoSuchMSP", typeBirth)
	refuse(t, op, op.dossier, wire.CodeInvalid, "RegisterDepartment", "bad msp", "Bad", "bad")

	// Anyone reads the registry, from any peer.
	deps := evaluate[[]wire.Department](t, f.health, f.health.dossier, "ListDepartments")
	if len(deps) != 3 || deps[0].MSPID != mspCivil || deps[1].MSPID != mspHealth || deps[2].MSPID != mspPolice || !deps[0].Active || !deps[1].Active {
		t.Fatalf("ListDepartments = %+v", deps)
	}
	if got := evaluate[[]wire.RecordType](t, f.civil, f.civil.dossier, "ListRecordTypes"); !slices.Equal(got, types) {
		t.Fatalf("ListRecordTypes = %+v, want %+v", got, types)
	}
	if got := evaluate[[]wire.Accreditation](t, f.civil, f.civil.dossier, "ListAccreditations", ""); !slices.Equal(got, accrs) {
		t.Fatalf("ListAccreditations = %+v, want %+v", got, accrs)
	}
	if got := evaluate[[]wire.Accreditation](t, f.op, f.op.dossier, "ListAccreditations", mspHealth); !slices.Equal(got, accrs[1:]) {
		t.Fatalf("ListAccreditations(health) = %+v", got)
	}
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeNotFound, "GetDepartment", mspOperator)

	// Registry keys need the operator's peer: the operator's client
	// endorsing only on the departments' peers is invalidated at commit.
	f.invalidAt(t, op, op.dossier, []string{mspCivil, mspHealth}, "RegisterDepartment", mspHealth, "Renamed without the operator's peer", "health")
	if got := evaluate[wire.Department](t, f.civil, f.civil.dossier, "GetDepartment", mspHealth); got.Name != "Health Commission" {
		t.Fatalf("department changed without the operator's endorsement: %+v", got)
	}
}

// invalidAt submits a transaction endorsed only by the given organisations'
// peers and checks that the peers invalidate it for its endorsement policy.
func (f *flow) invalidAt(t *testing.T, a *actor, c *client.Contract, orgs []string, fn string, args ...string) {
	t.Helper()
	ctx, cancel := flowCtx()
	defer cancel()
	_, _, err := submitOn(ctx, c, orgs, fn, args...)
	var cf *commitFailure
	if !errors.As(err, &cf) || cf.code != peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE {
		t.Fatalf("%s %s:%s endorsed only by %v: err = %v, want the transaction invalidated with ENDORSEMENT_POLICY_FAILURE (key-level endorsement)",
			a.name, c.ContractName(), fn, orgs, err)
	}
	f.settle(t, a, channelOf(c))
}

// add appends one record through a's gateway and checks the stored record.
func (f *flow) add(t *testing.T, a *actor, req wire.AppendRequest) (wire.Record, string) {
	t.Helper()
	rec, tx := submit[wire.Record](t, f, a, a.dossier, "AppendRecord", mustJSON(t, req))
	want := wire.Record{
		RecordID: req.RecordID, SubjectID: req.SubjectID, Type: req.Type, CID: req.CID, Size: req.Size,
		MediaType: req.MediaType, NoteCID: req.NoteCID, Issuer: a.msp, IssuedAt: rec.IssuedAt,
		Status: wire.StatusActive, TxID: tx,
	}
	if rec != want {
		t.Fatalf("AppendRecord %s:\n got  %+v\n want %+v", req.RecordID, rec, want)
	}
	nearNow(t, "issuedAt", rec.IssuedAt)
	f.reqs[req.RecordID] = req
	f.recs[req.RecordID] = rec
	return rec, tx
}

func (f *flow) appendRecords(t *testing.T) {
	alice, bob := f.alice.id, f.bob.id
	f.birthFile = newFile(t, "%PDF-1.7 birth medical certificate of p-alice, 2025-03-01, Municipal Maternity Hospital")
	_, f.firstAppendTx = f.add(t, f.health, request("b-alice-1", alice, typeBirth, f.birthFile, "Birth medical certificate"))
	f.add(t, f.health, request("b-alice-2", alice, typeBirth, newFile(t, "birth certificate, copy with a typo"), "Birth medical certificate (copy)"))
	f.add(t, f.health, request("b-alice-3", alice, typeBirth, newFile(t, "birth certificate issued in error"), "Birth medical certificate (duplicate)"))
	f.add(t, f.health, request("v-alice-1", alice, typeVaccine, newFile(t, "vaccination BCG"), "Vaccination record BCG"))
	f.add(t, f.health, request("v-alice-2", alice, typeVaccine, newFile(t, "vaccination HepB"), "Vaccination record HepB"))
	// The household register entry carries the same scanned birth
	// certificate: one file, two records (FindByCID finds both).
	f.add(t, f.civil, request("h-alice-1", alice, typeHousehold, f.birthFile, "Household register entry"))
	f.add(t, f.health, request("b-bob-1", bob, typeBirth, newFile(t, "birth certificate of p-bob"), "Birth medical certificate"))

	// Not accredited for the type, or not a department at all.
	req := request("b-alice-civil", alice, typeBirth, newFile(t, "forged by civil"), "Birth medical certificate")
	refuse(t, f.civil, f.civil.dossier, wire.CodeForbidden, "AppendRecord", mustJSON(t, req))
	refuse(t, f.op, f.op.dossier, wire.CodeForbidden, "AppendRecord", mustJSON(t, req))
	req = request("h-alice-health", alice, typeHousehold, newFile(t, "household by health"), "Household register entry")
	refuse(t, f.health, f.health.dossier, wire.CodeForbidden, "AppendRecord", mustJSON(t, req))

	// Invalid CIDs: another multibase of the same CID (not canonical), a
	// CIDv0, garbage.
	for _, bad := range []string{
		strings.ToUpper(f.birthFile.cid),
		"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
		"bafkrei-not-a-cid",
	} {
		req := request("b-alice-badcid", alice, typeBirth, f.birthFile, "Birth medical certificate")
		req.CID = bad
		refuse(t, f.health, f.health.dossier, wire.CodeInvalid, "AppendRecord", mustJSON(t, req))
	}
	// Missing or malformed fields.
	good := request("b-alice-bad", alice, typeBirth, newFile(t, "x"), "Birth medical certificate")
	noTitle := good
	noTitle.NoteCID = "出生医学证明 李小明"
	negative := good
	negative.Size = -1
	badID := good
	badID.RecordID = "-starts-with-a-dash"
	for _, r := range []wire.AppendRequest{noTitle, negative, badID} {
		refuse(t, f.health, f.health.dossier, wire.CodeInvalid, "AppendRecord", mustJSON(t, r))
	}
	raw := mustJSON(t, good)
	for _, doc := range []string{"", "{", "[]", strings.Replace(raw, `"mediaType":`, `"issuer":"HealthMSP","mediaType":`, 1), raw + "{}"} {
		refuse(t, f.health, f.health.dossier, wire.CodeInvalid, "AppendRecord", doc)
	}
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeNotFound, "GetRecord", "b-alice-civil")
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeNotFound, "GetRecord", "b-alice-badcid")
}

// Personal data the attacks of noPersonalData try to put on the ledger.
const (
	rawIDNumber   = "110101202611201235" // a resident identity number (valid check digit)
	rawCreditCode = "91350100M000100Y43" // a unified social credit code
	personName    = "李小明"
	piiTitle      = "出生医学证明 李小明 身份证110101202611201235"
)

// noPersonalData reruns the attacks of issue 9 directly on the chaincode
// (fabric-gateway, no REST gateway in between): a raw ID number, credit code
// or name as the subject ID, personal data in a title, a grant purpose, a
// grant-revocation reason, a record-revocation reason or an access purpose.
// Every one is refused at endorsement with invalid, and neither channel's
// height moves.
func (f *flow) noPersonalData(t *testing.T) {
	h, c := f.health, f.civil
	before := map[string]uint64{}
	for _, ch := range []string{chMunicipal, chDatashare} {
		n, err := nettest.Height(h.gw, ch)
		if err != nil {
			t.Fatal(err)
		}
		before[ch] = n
	}
	for _, subj := range []string{rawIDNumber, rawCreditCode, personName, "p-alice"} {
		req := request("b-raw-subject", subj, typeBirth, newFile(t, "raw subject attack"), "")
		refuse(t, h, h.dossier, wire.CodeInvalid, "AppendRecord", mustJSON(t, req))
		batch := mustJSON(t, wire.AppendBatch{Records: []wire.AppendRequest{req}})
		refuse(t, h, h.dossier, wire.CodeInvalid, "AppendRecords", batch)
		refuseEval(t, c, c.dossier, wire.CodeInvalid, "ListDossier", subj, "", "", "")
		refuseEval(t, c, c.sharing, wire.CodeInvalid, "ListGrants", subj, "", "")
		refuseEval(t, c, c.sharing, wire.CodeInvalid, "AccessLog", subj, "", "")
		// A grant document naming a raw ID number as its subject.
		doc := `{"kind":"edossier.grant.v1","grantId":"g-raw","subjectId":"` + subj + `","grantee":"` + mspCivil +
			`","scope":{"recordTypes":["` + typeBirth + `"]},"purpose":"` + purposeIdentity +
			`","validFrom":"2025-01-01T00:00:00Z","expiresAt":"2099-01-01T00:00:00Z"}`
		refuse(t, c, c.sharing, wire.CodeInvalid, "CreateGrant", doc, f.alice.sign(t, []byte(doc)))
	}
	// A title with personal data: records have no title field any more.
	raw := mustJSON(t, request("b-titled", f.alice.id, typeBirth, newFile(t, "titled attack"), ""))
	titled := strings.Replace(raw, `"mediaType":`, `"title":"`+piiTitle+`","mediaType":`, 1)
	refuse(t, h, h.dossier, wire.CodeInvalid, "AppendRecord", titled)
	// Free text in a revocation reason, a grant purpose, a grant-revocation
	// reason and an access purpose; a well-formed but unregistered code too.
	for _, text := range []string{piiTitle, "issued in error by clerk " + personName, "not-registered"} {
		refuse(t, h, h.dossier, wire.CodeInvalid, "RevokeRecord", "b-alice-1", text)
		grant := `{"kind":"edossier.grant.v1","grantId":"g-free-text","subjectId":"` + f.alice.id + `","grantee":"` + mspCivil +
			`","scope":{"recordTypes":["` + typeBirth + `"]},"purpose":"` + text +
			`","validFrom":"2025-01-01T00:00:00Z","expiresAt":"2099-01-01T00:00:00Z"}`
		rev := `{"kind":"edossier.grant-revocation.v1","grantId":"g-none","subjectId":"` + f.alice.id +
			`","issuedAt":"2025-01-05T00:00:00Z","reason":"` + text + `"}`
		// Free text fails the document rules first; an unregistered code is judged
		// after the subject's key and the grant (the unit tests cover it).
		if text != "not-registered" {
			refuse(t, c, c.sharing, wire.CodeInvalid, "CreateGrant", grant, f.alice.sign(t, []byte(grant)))
			refuse(t, c, c.sharing, wire.CodeInvalid, "RevokeGrant", rev, f.alice.sign(t, []byte(rev)))
			refuse(t, c, c.sharing, wire.CodeInvalid, "RecordAccess", "g-none", "b-alice-1", text)
		}
	}
	for ch, want := range before {
		if n, err := nettest.Height(h.gw, ch); err != nil || n != want {
			t.Fatalf("%s height %d after the refusals, want %d (%v)", ch, n, want, err)
		}
	}
}

// listAll pages through ListDossier and returns the pages.
func (f *flow) listAll(t *testing.T, a *actor, subject, typ, pageSize string) []wire.RecordPage {
	t.Helper()
	var pages []wire.RecordPage
	bm := ""
	for i := 0; i < 50; i++ {
		p := evaluate[wire.RecordPage](t, a, a.dossier, "ListDossier", subject, typ, pageSize, bm)
		pages = append(pages, p)
		if p.Bookmark == "" {
			return pages
		}
		bm = p.Bookmark
	}
	t.Fatalf("ListDossier(%s, %q, %s): more than 50 pages", subject, typ, pageSize)
	return nil
}

// checkPages checks page sizes, bookmarks and the records against f.recs.
func (f *flow) checkPages(t *testing.T, what string, pages []wire.RecordPage, size int, want []string) {
	t.Helper()
	var got []string
	for i, p := range pages {
		last := i == len(pages)-1
		if !last && (len(p.Records) != size || p.Bookmark == "") {
			t.Fatalf("%s: page %d has %d records and bookmark %q; want %d and a bookmark", what, i, len(p.Records), p.Bookmark, size)
		}
		if last && (len(p.Records) == 0 || len(p.Records) > size || p.Bookmark != "") {
			t.Fatalf("%s: last page %d has %d records and bookmark %q; want 1..%d and no bookmark", what, i, len(p.Records), p.Bookmark, size)
		}
		for _, r := range p.Records {
			if r != f.recs[r.RecordID] {
				t.Fatalf("%s: record %+v, want %+v", what, r, f.recs[r.RecordID])
			}
			got = append(got, r.RecordID)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: records %v, want %v", what, got, want)
	}
}

func (f *flow) queries(t *testing.T) {
	alice := f.alice.id
	for id, want := range f.recs {
		if got := evaluate[wire.Record](t, f.op, f.op.dossier, "GetRecord", id); got != want {
			t.Fatalf("GetRecord(%s) through civil = %+v, want %+v", id, got, want)
		}
	}
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeNotFound, "GetRecord", "no-such-record")
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeInvalid, "GetRecord", "")

	// A dossier, ordered by (type, recordId), two per page: three pages, the
	// last one full and without a bookmark.
	all := []string{"b-alice-1", "b-alice-2", "b-alice-3", "h-alice-1", "v-alice-1", "v-alice-2"}
	pages := f.listAll(t, f.op, alice, "", "2")
	if len(pages) != 3 {
		t.Fatalf("ListDossier page size 2: %d pages, want 3", len(pages))
	}
	f.checkPages(t, "dossier/2", pages, 2, all)
	f.checkPages(t, "dossier/4", f.listAll(t, f.op, alice, "", "4"), 4, all)
	f.checkPages(t, "dossier/default", f.listAll(t, f.op, alice, "", ""), wire.DefaultPageSize, all)
	// Filtered by type.
	f.checkPages(t, "birth/2", f.listAll(t, f.op, alice, typeBirth, "2"), 2, all[:3])
	f.checkPages(t, "vaccine/1", f.listAll(t, f.op, alice, typeVaccine, "1"), 1, all[4:])
	f.checkPages(t, "household", f.listAll(t, f.op, alice, typeHousehold, ""), wire.DefaultPageSize, all[3:4])
	f.checkPages(t, "bob", f.listAll(t, f.op, f.bob.id, "", ""), wire.DefaultPageSize, []string{"b-bob-1"})
	if p := evaluate[wire.RecordPage](t, f.civil, f.civil.dossier, "ListDossier", pseudonym("nobody"), "", "", ""); len(p.Records) != 0 || p.Bookmark != "" || p.Records == nil {
		t.Fatalf("empty dossier = %+v", p)
	}
	// A bookmark only works for its own query; page sizes are bounded.
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeInvalid, "ListDossier", f.bob.id, "", "2", pages[0].Bookmark)
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeInvalid, "ListDossier", alice, typeVaccine, "2", pages[0].Bookmark)
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeInvalid, "ListDossier", alice, "", fmt.Sprint(wire.MaxPageSize+1), "")
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeInvalid, "ListDossier", "", "", "", "")

	// Verification lookup by CID: both records of the shared file, by ID.
	found := evaluate[[]wire.Record](t, f.op, f.op.dossier, "FindByCID", f.birthFile.cid)
	if got := ids(found); !slices.Equal(got, []string{"b-alice-1", "h-alice-1"}) {
		t.Fatalf("FindByCID = %v", got)
	}
	for _, r := range found {
		if r != f.recs[r.RecordID] {
			t.Fatalf("FindByCID record %+v, want %+v", r, f.recs[r.RecordID])
		}
	}
	if got := evaluate[[]wire.Record](t, f.op, f.op.dossier, "FindByCID", newFile(t, "never stored").cid); got == nil || len(got) != 0 {
		t.Fatalf("FindByCID(unknown) = %v, want []", got)
	}
	refuseEval(t, f.op, f.op.dossier, wire.CodeInvalid, "FindByCID", "not-a-cid")
	refuseEval(t, f.op, f.op.dossier, wire.CodeInvalid, "FindByCID", strings.ToUpper(f.birthFile.cid))

	// History of a record never changed: one version.
	hist := evaluate[[]wire.RecordVersion](t, f.op, f.op.dossier, "GetRecordHistory", "b-alice-1")
	if len(hist) != 1 || hist[0].TxID != f.firstAppendTx || hist[0].Record != f.recs["b-alice-1"] {
		t.Fatalf("GetRecordHistory = %+v", hist)
	}
	nearNow(t, "history timestamp", hist[0].Timestamp)
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeNotFound, "GetRecordHistory", "no-such-record")
}

// visibility: departments evaluating the dossier contract directly (as any
// channel member can with fabric-gateway) see only what they issued or what a
// live grant covers; a missing record and an invisible one are the same
// not_found, and bookmarks name only records the caller was given.
func (f *flow) visibility(t *testing.T) {
	alice := f.alice.id
	// The police (a department without grants or records of alice) sees nothing.
	if p := evaluate[wire.RecordPage](t, f.police, f.police.dossier, "ListDossier", alice, "", "", ""); len(p.Records) != 0 || p.Bookmark != "" {
		t.Fatalf("police lists %+v", p)
	}
	for id := range f.recs {
		hidden := refuseEval(t, f.police, f.police.dossier, wire.CodeNotFound, "GetRecord", id)
		missing := refuseEval(t, f.police, f.police.dossier, wire.CodeNotFound, "GetRecord", id+"x")
		if strings.Replace(hidden.Message, id, id+"x", 1) != missing.Message {
			t.Fatalf("invisible %q and missing %q differ", hidden.Message, missing.Message)
		}
		refuseEval(t, f.police, f.police.dossier, wire.CodeNotFound, "GetRecordHistory", id)
	}
	// Civil sees only its own record before any grant; health its own.
	f.walkVisible(t, f.civil, func(r wire.Record) bool { return r.Issuer == mspCivil })
	f.walkVisible(t, f.health, func(r wire.Record) bool { return r.Issuer == mspHealth })
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeNotFound, "GetRecord", "b-alice-1")
	if got := evaluate[wire.Record](t, f.civil, f.civil.dossier, "GetRecord", "h-alice-1"); got != f.recs["h-alice-1"] {
		t.Fatalf("civil's own record %+v", got)
	}
	// FindByCID stays open, but names alice only to the operator and the issuer.
	for _, r := range evaluate[[]wire.Record](t, f.civil, f.civil.dossier, "FindByCID", f.birthFile.cid) {
		if want := map[bool]string{true: alice, false: ""}[r.Issuer == mspCivil]; r.SubjectID != want {
			t.Fatalf("FindByCID through civil: %+v", r)
		}
	}
}

// walkVisible pages alice's dossier as a with page size 1 and checks that it
// returns exactly the records the operator sees that visible admits, and that
// every bookmark is the key of a record it returned.
func (f *flow) walkVisible(t *testing.T, a *actor, visible func(wire.Record) bool) {
	t.Helper()
	var want []string
	for _, p := range f.listAll(t, f.op, f.alice.id, "", "") {
		for _, r := range p.Records {
			if visible(r) {
				want = append(want, r.RecordID)
			}
		}
	}
	var got []string
	returned := map[string]bool{}
	for i, p := range f.listAll(t, a, f.alice.id, "", "1") {
		for _, r := range p.Records {
			got = append(got, r.RecordID)
			returned[r.RecordID] = true
		}
		if p.Bookmark == "" {
			continue
		}
		parts := strings.Split(strings.Trim(p.Bookmark, "\x00"), "\x00")
		if len(parts) != 4 || parts[1] != f.alice.id || !returned[parts[3]] {
			t.Fatalf("%s page %d: bookmark %q names a record it did not return", a.msp, i, p.Bookmark)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s sees %v, want %v", a.msp, got, want)
	}
}

func (f *flow) idempotentRetry(t *testing.T) {
	orig := f.recs["b-alice-1"]
	req := f.reqs["b-alice-1"]
	// The same append again (a client retry): the stored record comes back,
	// nothing is written (same txId and issuedAt as the first time).
	again, tx := submit[wire.Record](t, f, f.health, f.health.dossier, "AppendRecord", mustJSON(t, req))
	if again != orig {
		t.Fatalf("retry returned %+v, want the stored %+v", again, orig)
	}
	if tx == f.firstAppendTx {
		t.Fatal("retry reused the transaction ID")
	}
	f.retryTx = tx
	if hist := evaluate[[]wire.RecordVersion](t, f.op, f.op.dossier, "GetRecordHistory", "b-alice-1"); len(hist) != 1 {
		t.Fatalf("retry created a second version: %+v", hist)
	}
	if got := ids(evaluate[[]wire.Record](t, f.op, f.op.dossier, "FindByCID", f.birthFile.cid)); !slices.Equal(got, []string{"b-alice-1", "h-alice-1"}) {
		t.Fatalf("FindByCID after the retry = %v", got)
	}
	f.checkPages(t, "birth after retry", f.listAll(t, f.op, f.alice.id, typeBirth, ""), wire.DefaultPageSize, []string{"b-alice-1", "b-alice-2", "b-alice-3"})

	// The same record ID with other content, or from another issuer.
	changed := req
	changed.NoteCID = noteCID("Birth medical certificate (edited)")
	refuse(t, f.health, f.health.dossier, wire.CodeConflict, "AppendRecord", mustJSON(t, changed))
	other := req
	other.Type = typeHousehold
	refuse(t, f.civil, f.civil.dossier, wire.CodeConflict, "AppendRecord", mustJSON(t, other))
	if got := evaluate[wire.Record](t, f.op, f.op.dossier, "GetRecord", "b-alice-1"); got != orig {
		t.Fatalf("record changed by a refused append: %+v", got)
	}

	// Concurrent appends of one new record ID with different content: exactly
	// one commits; the others are refused at endorsement (conflict, if they
	// ran after it committed) or invalidated at commit (MVCC read conflict).
	// A loser ordered in the same block as the winner fails key-level
	// validation (the winner set the record key's endorsement policy, and
	// Fabric invalidates a later write of that key in the same block with
	// ENDORSEMENT_POLICY_FAILURE); in a later block it is an MVCC read
	// conflict.
	racers := make([][]string, 4)
	for i := range racers {
		racers[i] = []string{mustJSON(t, request("b-race", pseudonym("racer"), typeBirth, newFile(t, fmt.Sprintf("race %d", i)), fmt.Sprintf("Race %d", i)))}
	}
	winner := race(t, f.health.dossier, "AppendRecord", racers,
		peer.TxValidationCode_MVCC_READ_CONFLICT, peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE)
	var won wire.Record
	if err := json.Unmarshal(winner, &won); err != nil {
		t.Fatal(err)
	}
	f.settle(t, f.health, chMunicipal)
	if got := evaluate[wire.Record](t, f.op, f.op.dossier, "GetRecord", "b-race"); got != won {
		t.Fatalf("after the race the record is %+v, the winner returned %+v", got, won)
	}
	if hist := evaluate[[]wire.RecordVersion](t, f.op, f.op.dossier, "GetRecordHistory", "b-race"); len(hist) != 1 {
		t.Fatalf("the race left %d versions", len(hist))
	}
	f.recs[won.RecordID] = won
}

// race submits the same function with each argument list concurrently and
// checks that exactly one commits VALID while every other one is refused
// with conflict at endorsement (it ran after the winner committed) or is
// invalidated at commit with one of the given validation codes. It returns
// the winner's result.
func race(t *testing.T, c *client.Contract, fn string, argSets [][]string, lossCodes ...peer.TxValidationCode) []byte {
	t.Helper()
	type outcome struct {
		res []byte
		err error
	}
	out := make([]outcome, len(argSets))
	var wg sync.WaitGroup
	for i := range argSets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := flowCtx()
			defer cancel()
			res, _, err := submitTx(ctx, c, fn, argSets[i]...)
			out[i] = outcome{res, err}
		}()
	}
	wg.Wait()
	var winner []byte
	wins := 0
	var seen []string
	for i, o := range out {
		var commitErr *commitFailure
		var endorseErr *client.EndorseError
		switch {
		case o.err == nil:
			wins++
			winner = o.res
			seen = append(seen, "VALID")
		case errors.As(o.err, &commitErr) && slices.Contains(lossCodes, commitErr.code):
			seen = append(seen, commitErr.code.String())
		case errors.As(o.err, &endorseErr):
			if e, ok := codeOf(o.err); !ok || e.Code != wire.CodeConflict {
				t.Fatalf("racer %d of %s:%s refused without code conflict: %v", i, c.ContractName(), fn, o.err)
			}
			seen = append(seen, "refused:conflict")
		default:
			t.Fatalf("racer %d of %s:%s failed unexpectedly (losers may fail with conflict at endorsement or %v at commit): %v",
				i, c.ContractName(), fn, lossCodes, o.err)
		}
	}
	t.Logf("%d concurrent %s:%s: %v", len(argSets), c.ContractName(), fn, seen)
	if wins != 1 {
		t.Fatalf("%d of %d concurrent %s:%s calls committed, want exactly 1", wins, len(argSets), c.ContractName(), fn)
	}
	return winner
}

// batchOf builds n append requests of a type, one subject each.
func batchOf(t *testing.T, prefix string, n int, typ string) []wire.AppendRequest {
	out := make([]wire.AppendRequest, n)
	for i := range out {
		out[i] = request(fmt.Sprintf("%s-%02d", prefix, i), pseudonym(fmt.Sprintf("batch-%02d", i)), typ,
			newFile(t, fmt.Sprintf("%s document %d", prefix, i)), fmt.Sprintf("Bulk load %s #%d", prefix, i))
	}
	return out
}

func (f *flow) batch(t *testing.T) {
	h := f.health
	reqs := batchOf(t, "bulk-1", 50, typeBirth)
	res, tx := submit[wire.BatchResult](t, f, h, h.dossier, "AppendRecords", mustJSON(t, wire.AppendBatch{Records: reqs}))
	if res.TxID != tx || res.Issuer != mspHealth || res.Count != 50 || res.Created != 50 || res.Existing == nil || len(res.Existing) != 0 {
		t.Fatalf("AppendRecords = %+v (tx %s)", res, tx)
	}
	nearNow(t, "batch issuedAt", res.IssuedAt)
	f.batchTx = tx
	for i, r := range reqs {
		want, err := res.NewRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		f.reqs[r.RecordID], f.recs[r.RecordID] = r, want
		f.batchIDs = append(f.batchIDs, r.RecordID)
		if i%7 == 0 || i == len(reqs)-1 {
			if got := evaluate[wire.Record](t, f.op, f.op.dossier, "GetRecord", r.RecordID); got != want {
				t.Fatalf("batch record %s = %+v, want %+v", r.RecordID, got, want)
			}
		}
	}
	f.checkPages(t, "batch subject", f.listAll(t, f.op, pseudonym("batch-07"), "", ""), wire.DefaultPageSize, []string{"bulk-1-07"})
	if got := ids(evaluate[[]wire.Record](t, f.op, f.op.dossier, "FindByCID", reqs[33].CID)); !slices.Equal(got, []string{"bulk-1-33"}) {
		t.Fatalf("FindByCID(batch record) = %v", got)
	}

	// The whole batch again: nothing new, every record listed as existing.
	res2, _ := submit[wire.BatchResult](t, f, h, h.dossier, "AppendRecords", mustJSON(t, wire.AppendBatch{Records: reqs}))
	if res2.Count != 50 || res2.Created != 0 || !slices.Equal(res2.Existing, f.batchIDs) {
		t.Fatalf("batch retry = %+v", res2)
	}
	if got := evaluate[wire.Record](t, f.op, f.op.dossier, "GetRecord", reqs[0].RecordID); got.TxID != tx {
		t.Fatalf("batch retry rewrote %s: %+v", reqs[0].RecordID, got)
	}

	// The documented maximum commits on this network (block size limits,
	// endorsement and chaincode execution timeouts).
	start := time.Now()
	maxBatch := batchOf(t, "bulk-max", wire.MaxBatch, typeBirth)
	resMax, txMax := submit[wire.BatchResult](t, f, h, h.dossier, "AppendRecords", mustJSON(t, wire.AppendBatch{Records: maxBatch}))
	if resMax.TxID != txMax || resMax.Count != wire.MaxBatch || resMax.Created != wire.MaxBatch {
		t.Fatalf("AppendRecords of %d records = %+v", wire.MaxBatch, resMax)
	}
	t.Logf("a batch of %d records committed in %s", wire.MaxBatch, time.Since(start).Round(time.Millisecond))
	for _, i := range []int{0, wire.MaxBatch - 1} {
		want, _ := resMax.NewRecord(maxBatch[i])
		if got := evaluate[wire.Record](t, f.op, f.op.dossier, "GetRecord", maxBatch[i].RecordID); got != want {
			t.Fatalf("record %s of the largest batch = %+v, want %+v", maxBatch[i].RecordID, got, want)
		}
	}

	// All or nothing: one bad record and none of the good ones is written.
	bad := batchOf(t, "bulk-2", 50, typeBirth)
	bad[37].CID = strings.ToUpper(bad[37].CID)
	refuse(t, h, h.dossier, wire.CodeInvalid, "AppendRecords", mustJSON(t, wire.AppendBatch{Records: bad}))
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeNotFound, "GetRecord", bad[0].RecordID)

	conflicting := batchOf(t, "bulk-3", 20, typeBirth)
	changed := reqs[5]
	changed.NoteCID = noteCID("changed title")
	conflicting = append(conflicting, changed)
	refuse(t, h, h.dossier, wire.CodeConflict, "AppendRecords", mustJSON(t, wire.AppendBatch{Records: conflicting}))
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeNotFound, "GetRecord", conflicting[0].RecordID)

	unaccredited := batchOf(t, "bulk-4", 10, typeBirth)
	unaccredited[9].Type = typeHousehold
	refuse(t, h, h.dossier, wire.CodeForbidden, "AppendRecords", mustJSON(t, wire.AppendBatch{Records: unaccredited}))
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeNotFound, "GetRecord", unaccredited[0].RecordID)

	dup := batchOf(t, "bulk-5", 3, typeBirth)
	dup = append(dup, dup[1])
	refuse(t, h, h.dossier, wire.CodeInvalid, "AppendRecords", mustJSON(t, wire.AppendBatch{Records: dup}))
	refuse(t, h, h.dossier, wire.CodeInvalid, "AppendRecords", mustJSON(t, wire.AppendBatch{Records: []wire.AppendRequest{}}))
	refuse(t, h, h.dossier, wire.CodeInvalid, "AppendRecords", mustJSON(t, wire.AppendBatch{Records: batchOf(t, "bulk-6", wire.MaxBatch+1, typeBirth)}))
	refuseEval(t, f.civil, f.civil.dossier, wire.CodeNotFound, "GetRecord", dup[0].RecordID)
}

func (f *flow) revoke(t *testing.T) {
	orig := f.recs["b-alice-3"]
	// Only the issuer may revoke.
	refuse(t, f.civil, f.civil.dossier, wire.CodeForbidden, "RevokeRecord", "b-alice-3", reasonError)
	refuse(t, f.op, f.op.dossier, wire.CodeForbidden, "RevokeRecord", "b-alice-3", reasonError)

	rec, tx := submit[wire.Record](t, f, f.health, f.health.dossier, "RevokeRecord", "b-alice-3", reasonError)
	want := orig
	want.Status, want.Reason, want.StatusTxID, want.StatusChangedAt = wire.StatusRevoked, reasonError, tx, rec.StatusChangedAt
	if rec != want {
		t.Fatalf("RevokeRecord:\n got  %+v\n want %+v", rec, want)
	}
	nearNow(t, "statusChangedAt", rec.StatusChangedAt)
	f.revokeTx = tx
	f.recs["b-alice-3"] = rec
	if got := evaluate[wire.Record](t, f.op, f.op.dossier, "GetRecord", "b-alice-3"); got != rec {
		t.Fatalf("GetRecord after revoke = %+v", got)
	}
	// The same revocation again changes nothing; another reason conflicts.
	if again, _ := submit[wire.Record](t, f, f.health, f.health.dossier, "RevokeRecord", "b-alice-3", reasonError); again != rec {
		t.Fatalf("repeated revoke = %+v, want %+v", again, rec)
	}
	refuse(t, f.health, f.health.dossier, wire.CodeConflict, "RevokeRecord", "b-alice-3", reasonFraud)
	refuse(t, f.health, f.health.dossier, wire.CodeNotFound, "RevokeRecord", "no-such-record", reasonError)
	refuse(t, f.health, f.health.dossier, wire.CodeInvalid, "RevokeRecord", "b-alice-1", "")

	hist := evaluate[[]wire.RecordVersion](t, f.op, f.op.dossier, "GetRecordHistory", "b-alice-3")
	if len(hist) != 2 || hist[0].TxID != tx || hist[0].Record != rec || hist[1].TxID != orig.TxID || hist[1].Record != orig {
		t.Fatalf("history after revoke (want newest first: revoked, active) = %+v", hist)
	}
	// Key-level endorsement: the record key needs the issuer's peer. The
	// issuer's own client, endorsing only on other organisations' peers
	// (which run the same contract and agree), is invalidated at commit.
	f.invalidAt(t, f.health, f.health.dossier, []string{mspCivil, mspOperator}, "RevokeRecord", "v-alice-2", reasonError)
	if got := evaluate[wire.Record](t, f.op, f.op.dossier, "GetRecord", "v-alice-2"); got != f.recs["v-alice-2"] {
		t.Fatalf("a revocation without the issuer's endorsement changed the record: %+v", got)
	}

	// A revoked record stays in the dossier and in the CID index.
	f.checkPages(t, "birth after revoke", f.listAll(t, f.op, f.alice.id, typeBirth, ""), wire.DefaultPageSize, []string{"b-alice-1", "b-alice-2", "b-alice-3"})
}

func (f *flow) supersede(t *testing.T) {
	alice := f.alice.id
	old := f.recs["b-alice-2"]
	req := request("b-alice-2-v2", alice, typeBirth, newFile(t, "birth certificate, corrected"), "Birth medical certificate (corrected)")
	refuse(t, f.civil, f.civil.dossier, wire.CodeForbidden, "SupersedeRecord", "b-alice-2", mustJSON(t, req))

	res, tx := submit[wire.SupersedeResult](t, f, f.health, f.health.dossier, "SupersedeRecord", "b-alice-2", mustJSON(t, req))
	wantOld := old
	wantOld.Status, wantOld.SupersededBy, wantOld.StatusTxID, wantOld.StatusChangedAt = wire.StatusSuperseded, "b-alice-2-v2", tx, res.Superseded.StatusChangedAt
	wantNew := wire.Record{
		RecordID: req.RecordID, SubjectID: alice, Type: typeBirth, CID: req.CID, Size: req.Size, MediaType: req.MediaType,
		NoteCID: req.NoteCID, Issuer: mspHealth, IssuedAt: res.Record.IssuedAt, Status: wire.StatusActive, Supersedes: "b-alice-2", TxID: tx,
	}
	if res.Superseded != wantOld || res.Record != wantNew {
		t.Fatalf("SupersedeRecord:\n got  %+v\n want %+v / %+v", res, wantOld, wantNew)
	}
	if res.Record.IssuedAt != res.Superseded.StatusChangedAt {
		t.Fatalf("supersede times differ: %s vs %s", res.Record.IssuedAt, res.Superseded.StatusChangedAt)
	}
	f.supersedeTx = tx
	f.reqs[req.RecordID] = req
	f.recs["b-alice-2"], f.recs["b-alice-2-v2"] = res.Superseded, res.Record
	for _, id := range []string{"b-alice-2", "b-alice-2-v2"} {
		if got := evaluate[wire.Record](t, f.op, f.op.dossier, "GetRecord", id); got != f.recs[id] {
			t.Fatalf("GetRecord(%s) after supersede = %+v, want %+v", id, got, f.recs[id])
		}
	}
	// Repeating the same call returns the same result.
	if again, _ := submit[wire.SupersedeResult](t, f, f.health, f.health.dossier, "SupersedeRecord", "b-alice-2", mustJSON(t, req)); again != res {
		t.Fatalf("repeated supersede = %+v", again)
	}
	// Refusals: old not active, other subject, same ID, new ID taken.
	r3 := request("b-alice-3-v2", alice, typeBirth, newFile(t, "x3"), "Birth medical certificate")
	refuse(t, f.health, f.health.dossier, wire.CodeConflict, "SupersedeRecord", "b-alice-3", mustJSON(t, r3))
	refuse(t, f.health, f.health.dossier, wire.CodeInvalid, "SupersedeRecord", "b-alice-1",
		mustJSON(t, request("b-alice-1-bob", f.bob.id, typeBirth, newFile(t, "x4"), "Birth medical certificate")))
	refuse(t, f.health, f.health.dossier, wire.CodeInvalid, "SupersedeRecord", "b-alice-1", mustJSON(t, f.reqs["b-alice-1"]))
	refuse(t, f.health, f.health.dossier, wire.CodeConflict, "SupersedeRecord", "b-alice-1", mustJSON(t, f.reqs["v-alice-1"]))
	refuse(t, f.health, f.health.dossier, wire.CodeNotFound, "SupersedeRecord", "no-such-record", mustJSON(t, r3))
	refuseEval(t, f.op, f.op.dossier, wire.CodeNotFound, "GetRecord", "b-alice-3-v2")

	f.checkPages(t, "birth after supersede", f.listAll(t, f.op, alice, typeBirth, "3"), 3,
		[]string{"b-alice-1", "b-alice-2", "b-alice-2-v2", "b-alice-3"})
	hist := evaluate[[]wire.RecordVersion](t, f.op, f.op.dossier, "GetRecordHistory", "b-alice-2")
	if len(hist) != 2 || hist[0].Record.Status != wire.StatusSuperseded || hist[1].Record.Status != wire.StatusActive {
		t.Fatalf("history after supersede = %+v", hist)
	}
}

// subjectKey: nobody but the identity authority, with the subject's proof of
// possession, binds a first key; the operator's own identity can neither bind nor
// attest, and a bound key is readable by the operator only.
func (f *flow) subjectKey(t *testing.T) {
	a := f.alice
	doc := a.statement(t, wire.KeyBindKind, nil)
	pop := a.sign(t, doc)
	// The operator (directly with fabric-gateway, its own identity) and a department
	// that is no identity authority: refused, whatever the proof of possession.
	refuse(t, f.op, f.op.sharing, wire.CodeForbidden, "BindSubjectKey", string(doc), pop)
	refuse(t, f.civil, f.civil.sharing, wire.CodeForbidden, "BindSubjectKey", string(doc), pop)
	// The operator's own key for alice, attested by nobody.
	forged := f.mallory.statement(t, wire.KeyBindKind, nil)
	refuse(t, f.op, f.op.sharing, wire.CodeForbidden, "BindSubjectKey", string(forged), f.mallory.sign(t, forged))
	// The authority without the subject's proof of possession.
	refuse(t, f.police, f.police.sharing, wire.CodeBadSignature, "BindSubjectKey", string(doc), f.mallory.sign(t, doc))
	refuse(t, f.police, f.police.sharing, wire.CodeInvalid, "BindSubjectKey", "not a statement", pop)

	k, tx := submit[wire.SubjectKey](t, f, f.police, f.police.sharing, "BindSubjectKey", string(doc), pop)
	_, canon, keyID, err := wire.ParseSubjectPublicKey(a.pem)
	if err != nil {
		t.Fatal(err)
	}
	want := wire.SubjectKey{SubjectID: a.id, PublicKeyPEM: canon, KeyID: keyID, Status: wire.KeyActive,
		AddedBy: "attestation:" + mspPolice, AddedAt: k.AddedAt, AddedTx: tx}
	if k != want {
		t.Fatalf("BindSubjectKey = %+v, want %+v", k, want)
	}
	nearNow(t, "addedAt", k.AddedAt)
	refuse(t, f.police, f.police.sharing, wire.CodeConflict, "BindSubjectKey", string(doc), pop) // replay
	refuse(t, f.police, f.police.sharing, wire.CodeConflict, "BindSubjectKey", string(forged), f.mallory.sign(t, forged))
	if got := evaluate[wire.SubjectKey](t, f.op, f.op.sharing, "GetSubjectKey", a.id, keyID); got != k {
		t.Fatalf("GetSubjectKey = %+v", got)
	}
	if got := evaluate[wire.SubjectKeys](t, f.op, f.op.sharing, "ListSubjectKeys", a.id); len(got.Keys) != 1 || got.Keys[0] != k {
		t.Fatalf("ListSubjectKeys = %+v", got)
	}
	refuseEval(t, f.civil, f.civil.sharing, wire.CodeForbidden, "GetSubjectKey", a.id, keyID)
	refuseEval(t, f.police, f.police.sharing, wire.CodeForbidden, "ListSubjectKeys", a.id)
	refuseEval(t, f.op, f.op.sharing, wire.CodeNotFound, "GetSubjectKey", f.bob.id, keyID)

	// With a key bound, the operator still cannot make a key of its own speak for
	// alice: not by adding it, not by removing hers, not by a recovery.
	add := f.mallory.statement(t, wire.KeyAddKind, nil)
	refuse(t, f.op, f.op.sharing, wire.CodeBadSignature, "AddSubjectKey", string(add), f.mallory.sign(t, add), f.mallory.sign(t, add))
	rm := a.statement(t, wire.KeyRemoveKind, func(st *wire.KeyStatement) { st.PublicKeyPEM, st.KeyID = "", keyID })
	refuse(t, f.op, f.op.sharing, wire.CodeBadSignature, "RemoveSubjectKey", string(rm), f.mallory.sign(t, rm))
	rec := f.mallory.statement(t, wire.KeyRecoveryKind, nil)
	refuse(t, f.op, f.op.sharing, wire.CodeForbidden, "RequestKeyRecovery", string(rec), f.mallory.sign(t, rec))
}

// createGrant submits a grant signed by c through a's gateway.
func (f *flow) createGrant(t *testing.T, a *actor, c *citizen, doc []byte) wire.GrantState {
	t.Helper()
	sig := c.sign(t, doc)
	st, tx := submit[wire.GrantState](t, f, a, a.sharing, "CreateGrant", string(doc), sig)
	g, _, err := wire.ParseGrant(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := wire.GrantState{
		GrantID: g.GrantID, SubjectID: g.SubjectID, Grantee: g.Grantee, Status: wire.GrantActive, Grant: g,
		Document: base64.StdEncoding.EncodeToString(doc), Signature: sig, SignerKeyID: c.keyID(t), SignedBy: c.id,
		CreatedAt: st.CreatedAt, CreatedTx: tx,
	}
	if fmt.Sprintf("%#v", st) != fmt.Sprintf("%#v", want) {
		t.Fatalf("CreateGrant:\n got  %#v\n want %#v", st, want)
	}
	nearNow(t, "createdAt", st.CreatedAt)
	f.grants[g.GrantID] = st
	return st
}

func (f *flow) createGrants(t *testing.T) {
	a := f.alice
	now := time.Now().UTC()
	from, until := now.Add(-time.Minute), now.Add(time.Hour)

	// The expiring grant first, so that the wait for its expiry overlaps
	// with the other steps.
	f.shortUntil = time.Now().Add(shortWindow)
	f.createGrant(t, f.civil, a, a.grantDoc(t, "g-short", mspCivil, []string{typeBirth}, nil, purposeIdentity, from, f.shortUntil))
	// It works inside its window (checked at once: the window is short).
	if left := time.Until(f.shortUntil); left < time.Second {
		t.Fatalf("only %s of the %s grant window left after creating it: the network is too slow for this test", left, shortWindow)
	}
	f.allow(t, f.civil, "g-short", "b-alice-1", "")

	// Any organisation's client may submit the citizen-signed document.
	doc := a.grantDoc(t, "g-civil-birth", mspCivil, []string{typeBirth}, nil, purposeHousehold, from, until)
	st := f.createGrant(t, f.health, a, doc)
	if st.Grant.Scope.RecordIDs == nil || len(st.Grant.Scope.RecordIDs) != 0 {
		t.Fatalf("empty scope list not stored as []: %#v", st.Grant.Scope)
	}
	// Replay of the same document and signature.
	refuse(t, f.civil, f.civil.sharing, wire.CodeConflict, "CreateGrant", string(doc), st.Signature)
	refuse(t, f.op, f.op.sharing, wire.CodeConflict, "CreateGrant", string(doc), st.Signature)
	// A fresh grant submitted several times at once: one grant, the other
	// submissions are replays.
	once := a.grantDoc(t, "g-once", mspCivil, []string{typeBirth}, nil, purposeHousehold, from, until)
	onceSig := a.sign(t, once)
	var won wire.GrantState
	replays := [][]string{{string(once), onceSig}, {string(once), onceSig}, {string(once), onceSig}}
	if err := json.Unmarshal(race(t, f.civil.sharing, "CreateGrant", replays, peer.TxValidationCode_MVCC_READ_CONFLICT), &won); err != nil {
		t.Fatal(err)
	}
	f.settle(t, f.civil, chDatashare)
	refuseEval(t, f.health, f.health.sharing, wire.CodeNotFound, "GetGrant", "g-once") // not health's grant
	if got := evaluate[wire.GrantState](t, f.civil, f.civil.sharing, "GetGrant", "g-once"); got.CreatedTx != won.CreatedTx || got.Signature != onceSig {
		t.Fatalf("GetGrant(g-once) = %+v, the winner created %s", got, won.CreatedTx)
	}
	f.grants["g-once"] = won
	// Forged: signed by another key, a signature over other bytes, none.
	forged := a.grantDoc(t, "g-forged", mspCivil, []string{typeBirth, typeVaccine, typeHousehold}, nil, purposeIdentity, from, until)
	refuse(t, f.civil, f.civil.sharing, wire.CodeBadSignature, "CreateGrant", string(forged), f.mallory.sign(t, forged))
	refuse(t, f.civil, f.civil.sharing, wire.CodeBadSignature, "CreateGrant", string(forged), st.Signature)
	refuse(t, f.civil, f.civil.sharing, wire.CodeBadSignature, "CreateGrant", string(forged), "")
	refuseEval(t, f.civil, f.civil.sharing, wire.CodeNotFound, "GetGrant", "g-forged")
	// No key bound to the subject.
	nokey := f.bob.grantDoc(t, "g-bob", mspCivil, []string{typeBirth}, nil, purposeIdentity, from, until)
	refuse(t, f.civil, f.civil.sharing, wire.CodeUnknownKey, "CreateGrant", string(nokey), f.bob.sign(t, nokey))
	// Expiry in the past; grantee not a department.
	past := a.grantDoc(t, "g-past", mspCivil, []string{typeBirth}, nil, purposeIdentity, now.Add(-2*time.Hour), now.Add(-time.Hour))
	refuse(t, f.civil, f.civil.sharing, wire.CodeExpired, "CreateGrant", string(past), a.sign(t, past))
	for _, grantee := range []string{"UnknownMSP", mspOperator} {
		d := a.grantDoc(t, "g-"+grantee, grantee, []string{typeBirth}, nil, purposeIdentity, from, until)
		refuse(t, f.civil, f.civil.sharing, wire.CodeInvalid, "CreateGrant", string(d), a.sign(t, d))
	}
	// A revocation document is not a grant.
	rev := a.revocationDoc(t, "g-civil-birth", "")
	refuse(t, f.civil, f.civil.sharing, wire.CodeInvalid, "CreateGrant", string(rev), a.sign(t, rev))

	f.createGrant(t, f.civil, a, a.grantDoc(t, "g-revocable", mspCivil, []string{typeBirth}, nil, purposeIdentity, from, until))
	f.createGrant(t, f.op, a, a.grantDoc(t, "g-by-id", mspCivil, nil, []string{"v-alice-1"}, purposeSchool, from, until))
	f.createGrant(t, f.health, a, a.grantDoc(t, "g-health", mspHealth, []string{typeHousehold}, nil, purposeMedical, from, until))
	f.createGrant(t, f.civil, a, a.grantDoc(t, "g-future", mspCivil, []string{typeBirth}, nil, purposeIdentity, now.Add(time.Hour), now.Add(2*time.Hour)))

	var got []string
	bm := ""
	for i := 0; i < 20; i++ {
		p := evaluate[wire.GrantPage](t, f.op, f.op.sharing, "ListGrants", a.id, "2", bm)
		for _, g := range p.Grants {
			if fmt.Sprintf("%#v", g) != fmt.Sprintf("%#v", f.grants[g.GrantID]) {
				t.Fatalf("ListGrants entry %#v, want %#v", g, f.grants[g.GrantID])
			}
			got = append(got, g.GrantID)
		}
		if bm = p.Bookmark; bm == "" {
			break
		}
	}
	if want := []string{"g-by-id", "g-civil-birth", "g-future", "g-health", "g-once", "g-revocable", "g-short"}; !slices.Equal(got, want) {
		t.Fatalf("ListGrants = %v, want %v", got, want)
	}
	if p := evaluate[wire.GrantPage](t, f.op, f.op.sharing, "ListGrants", f.bob.id, "", ""); len(p.Grants) != 0 {
		t.Fatalf("bob's grants = %+v", p)
	}
	// With its live grants civil now sees alice's birth records and v-alice-1
	// besides its own; a bookmark walk shows nothing else.
	f.settle(t, f.civil, chDatashare)
	f.walkVisible(t, f.civil, func(r wire.Record) bool {
		return r.Issuer == mspCivil || r.Type == typeBirth || r.RecordID == "v-alice-1"
	})
	// A department that lists directly sees only the grants naming it.
	if p := evaluate[wire.GrantPage](t, f.health, f.health.sharing, "ListGrants", a.id, "", ""); len(p.Grants) != 1 || p.Grants[0].GrantID != "g-health" {
		t.Fatalf("health's direct ListGrants = %+v", p)
	}
}

// allow records an access that must be accepted and checks the entry.
func (f *flow) allow(t *testing.T, a *actor, grantID, recordID, purpose string) wire.AccessEntry {
	t.Helper()
	e, tx := submit[wire.AccessEntry](t, f, a, a.sharing, "RecordAccess", grantID, recordID, purpose)
	wantPurpose := purpose
	if wantPurpose == "" {
		wantPurpose = f.grants[grantID].Grant.Purpose
	}
	want := wire.AccessEntry{
		EntryID: tx, Kind: wire.AccessFile, SubjectID: f.alice.id, RecordID: recordID, RecordType: f.recs[recordID].Type, GrantID: grantID,
		Org: a.msp, User: a.cn, UserID: e.UserID, Purpose: wantPurpose, Time: e.Time, TxID: tx,
	}
	if e != want {
		t.Fatalf("RecordAccess(%s, %s) by %s:\n got  %+v\n want %+v", grantID, recordID, a.name, e, want)
	}
	if a.cn == "" || !strings.HasPrefix(e.UserID, "x509::") || !strings.Contains(e.UserID, "CN="+a.cn) {
		t.Fatalf("access entry userId %q does not name CN=%s", e.UserID, a.cn)
	}
	nearNow(t, "access time", e.Time)
	f.accesses = append(f.accesses, e)
	return e
}

func (f *flow) access(t *testing.T) {
	c, h := f.civil, f.health
	// Allowed: the grantee, in scope by type or by ID, active records.
	f.allow(t, c, "g-civil-birth", "b-alice-1", purposeHousehold)
	f.allow(t, c, "g-civil-birth", "b-alice-2-v2", "")
	f.allow(t, c, "g-by-id", "v-alice-1", purposeSchool)
	f.allow(t, h, "g-health", "h-alice-1", purposeMedical)
	f.allow(t, c, "g-revocable", "b-alice-1", "")

	// Wrong department (another department, the operator).
	refuse(t, h, h.sharing, wire.CodeForbidden, "RecordAccess", "g-civil-birth", "b-alice-1", "")
	refuse(t, f.op, f.op.sharing, wire.CodeForbidden, "RecordAccess", "g-civil-birth", "b-alice-1", "")
	refuse(t, c, c.sharing, wire.CodeForbidden, "RecordAccess", "g-health", "h-alice-1", "")
	// Out of scope: type not in scope, ID not in scope, another subject.
	refuse(t, c, c.sharing, wire.CodeOutOfScope, "RecordAccess", "g-civil-birth", "h-alice-1", "")
	refuse(t, c, c.sharing, wire.CodeOutOfScope, "RecordAccess", "g-civil-birth", "v-alice-1", "")
	refuse(t, c, c.sharing, wire.CodeOutOfScope, "RecordAccess", "g-by-id", "v-alice-2", "")
	refuse(t, c, c.sharing, wire.CodeOutOfScope, "RecordAccess", "g-civil-birth", "b-bob-1", "")
	// Revoked or superseded record.
	refuse(t, c, c.sharing, wire.CodeRecordInactive, "RecordAccess", "g-civil-birth", "b-alice-3", "")
	refuse(t, c, c.sharing, wire.CodeRecordInactive, "RecordAccess", "g-civil-birth", "b-alice-2", "")
	// Not yet valid; unknown grant or record; malformed purpose.
	refuse(t, c, c.sharing, wire.CodeNotYetValid, "RecordAccess", "g-future", "b-alice-1", "")
	refuse(t, c, c.sharing, wire.CodeNotFound, "RecordAccess", "g-none", "b-alice-1", "")
	refuse(t, c, c.sharing, wire.CodeNotFound, "RecordAccess", "g-civil-birth", "no-such-record", "")
	refuse(t, c, c.sharing, wire.CodeInvalid, "RecordAccess", "g-civil-birth", "b-alice-1", "two\nlines")

	// Revoked grant: the revocation needs the subject's signature.
	rev := f.alice.revocationDoc(t, "g-revocable", reasonRequest)
	refuse(t, c, c.sharing, wire.CodeBadSignature, "RevokeGrant", string(rev), f.mallory.sign(t, rev))
	sig := f.alice.sign(t, rev)
	st, tx := submit[wire.GrantState](t, f, c, c.sharing, "RevokeGrant", string(rev), sig)
	want := f.grants["g-revocable"]
	want.Status, want.RevokedAt, want.RevokedTx = wire.GrantRevoked, st.RevokedAt, tx
	want.Revocation, want.RevocationSignature, want.RevocationKeyID = base64.StdEncoding.EncodeToString(rev), sig, f.alice.keyID(t)
	want.RevocationSignedBy = f.alice.id
	if fmt.Sprintf("%#v", st) != fmt.Sprintf("%#v", want) {
		t.Fatalf("RevokeGrant:\n got  %#v\n want %#v", st, want)
	}
	nearNow(t, "revokedAt", st.RevokedAt)
	f.grantRevokeTx = tx
	if again, _ := submit[wire.GrantState](t, f, h, h.sharing, "RevokeGrant", string(rev), sig); fmt.Sprintf("%#v", again) != fmt.Sprintf("%#v", st) {
		t.Fatalf("repeated revocation = %#v", again)
	}
	other := f.alice.revocationDoc(t, "g-revocable", reasonCorrection)
	refuse(t, c, c.sharing, wire.CodeConflict, "RevokeGrant", string(other), f.alice.sign(t, other))
	refuse(t, c, c.sharing, wire.CodeRevoked, "RecordAccess", "g-revocable", "b-alice-1", "")

	// Expired grant: wait until its window has passed.
	if wait := time.Until(f.shortUntil) + 500*time.Millisecond; wait > 0 {
		if wait > shortWindow+time.Second {
			t.Fatalf("unexpected wait of %s", wait)
		}
		t.Logf("waiting %s for g-short to expire", wait.Round(time.Millisecond))
		time.Sleep(wait)
	}
	refuse(t, c, c.sharing, wire.CodeExpired, "RecordAccess", "g-short", "b-alice-1", "")
	// The other grants still work after all these refusals.
	f.allow(t, c, "g-civil-birth", "b-alice-1", purposeIdentity)
}

// deactivated: a department the operator deactivates can no longer append,
// read under its grants (sharing reads the registry across channels) or
// receive grants; registering it again restores it.
func (f *flow) deactivated(t *testing.T) {
	h, op := f.health, f.op
	d, _ := submit[wire.Department](t, f, op, op.dossier, "DeactivateDepartment", mspHealth)
	if d.Active || d.MSPID != mspHealth {
		t.Fatalf("DeactivateDepartment = %+v", d)
	}
	refuse(t, h, h.dossier, wire.CodeForbidden, "AppendRecord",
		mustJSON(t, request("b-alice-inactive", f.alice.id, typeBirth, newFile(t, "while inactive"), "Birth medical certificate")))
	refuse(t, h, h.sharing, wire.CodeForbidden, "RecordAccess", "g-health", "h-alice-1", "")
	now := time.Now()
	doc := f.alice.grantDoc(t, "g-health-2", mspHealth, []string{typeHousehold}, nil, purposeIdentity, now.Add(-time.Minute), now.Add(time.Hour))
	refuse(t, h, h.sharing, wire.CodeInvalid, "CreateGrant", string(doc), f.alice.sign(t, doc))
	refuse(t, f.civil, f.civil.dossier, wire.CodeForbidden, "DeactivateDepartment", mspCivil)

	d, _ = submit[wire.Department](t, f, op, op.dossier, "RegisterDepartment", mspHealth, "Health Commission", "health")
	if !d.Active {
		t.Fatalf("RegisterDepartment after deactivation = %+v", d)
	}
	f.allow(t, h, "g-health", "h-alice-1", purposeMedical)
}

// deviceKeys: alice adds a second device with her first key, then retires the first
// one. Grants signed before stay valid; new grants and revocations need an active
// key, and a removed key cannot come back.
func (f *flow) deviceKeys(t *testing.T) {
	a := f.alice
	laptop := newCitizen(t, a.id)
	add := laptop.statement(t, wire.KeyAddKind, nil)
	refuse(t, f.civil, f.civil.sharing, wire.CodeBadSignature, "AddSubjectKey", string(add), f.mallory.sign(t, add), laptop.sign(t, add))
	k, _ := submit[wire.SubjectKey](t, f, f.civil, f.civil.sharing, "AddSubjectKey", string(add), a.sign(t, add), laptop.sign(t, add))
	if k.Status != wire.KeyActive || k.AddedBy != "key:"+a.keyID(t) {
		t.Fatalf("AddSubjectKey = %+v", k)
	}
	rm := a.statement(t, wire.KeyRemoveKind, func(st *wire.KeyStatement) { st.KeyID = a.keyID(t) })
	r, _ := submit[wire.SubjectKey](t, f, f.health, f.health.sharing, "RemoveSubjectKey", string(rm), laptop.sign(t, rm))
	if r.Status != wire.KeyRemoved || r.RemovedBy != "key:"+laptop.keyID(t) {
		t.Fatalf("RemoveSubjectKey = %+v", r)
	}
	last := laptop.statement(t, wire.KeyRemoveKind, func(st *wire.KeyStatement) { st.PublicKeyPEM, st.KeyID = "", laptop.keyID(t) })
	refuse(t, f.civil, f.civil.sharing, wire.CodeConflict, "RemoveSubjectKey", string(last), laptop.sign(t, last))
	back := a.statement(t, wire.KeyAddKind, nil)
	refuse(t, f.civil, f.civil.sharing, wire.CodeConflict, "AddSubjectKey", string(back), laptop.sign(t, back), a.sign(t, back))

	// A grant signed with the removed key still works.
	f.allow(t, f.civil, "g-civil-birth", "b-alice-1", purposeHousehold)
	// New grants and revocations need an active key.
	now := time.Now()
	doc := a.grantDoc(t, "g-after-rotation", mspCivil, []string{typeBirth}, nil, purposeIdentity, now.Add(-time.Minute), now.Add(time.Hour))
	refuse(t, f.civil, f.civil.sharing, wire.CodeBadSignature, "CreateGrant", string(doc), a.sign(t, doc))
	rev := a.revocationDoc(t, "g-once", "")
	refuse(t, f.civil, f.civil.sharing, wire.CodeBadSignature, "RevokeGrant", string(rev), a.sign(t, rev))
	st, _ := submit[wire.GrantState](t, f, f.civil, f.civil.sharing, "CreateGrant", string(doc), laptop.sign(t, doc))
	if st.SignerKeyID != laptop.keyID(t) {
		t.Fatalf("grant signed with the laptop key has signerKeyId %s", st.SignerKeyID)
	}
	f.alice = laptop // later steps sign with an active key
}

// keyRecovery: a recovery through the identity authority is time-locked; the one
// alice cancels never takes effect, the one she lets run replaces her keys.
func (f *flow) keyRecovery(t *testing.T) {
	a := f.alice
	request := func(c *citizen) wire.KeyRecovery {
		t.Helper()
		doc := c.statement(t, wire.KeyRecoveryKind, nil)
		refuse(t, f.op, f.op.sharing, wire.CodeForbidden, "RequestKeyRecovery", string(doc), c.sign(t, doc))
		r, _ := submit[wire.KeyRecovery](t, f, f.police, f.police.sharing, "RequestKeyRecovery", string(doc), c.sign(t, doc))
		if r.Status != wire.RecoveryPending || r.AttestedBy != mspPolice {
			t.Fatalf("RequestKeyRecovery = %+v", r)
		}
		return r
	}
	// A recovery alice did not ask for (say, a compromised counter): she cancels it.
	r := request(f.mallory)
	refuse(t, f.civil, f.civil.sharing, wire.CodeNotYetValid, "CompleteKeyRecovery", a.id, r.RecoveryID)
	cancel := a.statement(t, wire.KeyRecoveryCancelKind, func(st *wire.KeyStatement) { st.RecoveryID = r.RecoveryID })
	refuse(t, f.civil, f.civil.sharing, wire.CodeBadSignature, "CancelKeyRecovery", string(cancel), f.mallory.sign(t, cancel))
	c, _ := submit[wire.KeyRecovery](t, f, f.civil, f.civil.sharing, "CancelKeyRecovery", string(cancel), a.sign(t, cancel))
	if c.Status != wire.RecoveryCancelled {
		t.Fatalf("CancelKeyRecovery = %+v", c)
	}
	time.Sleep(time.Until(parseTime(t, "effectiveAt", r.EffectiveAt)) + time.Second)
	refuse(t, f.civil, f.civil.sharing, wire.CodeConflict, "CompleteKeyRecovery", a.id, r.RecoveryID)
	now := time.Now()
	forged := a.grantDoc(t, "g-mallory", mspHealth, []string{typeBirth}, nil, purposeIdentity, now.Add(-time.Minute), now.Add(time.Hour))
	refuse(t, f.health, f.health.sharing, wire.CodeBadSignature, "CreateGrant", string(forged), f.mallory.sign(t, forged))

	// A recovery alice asked for (lost laptop) takes effect after the time lock.
	phone := newCitizen(t, a.id)
	r2 := request(phone)
	time.Sleep(time.Until(parseTime(t, "effectiveAt", r2.EffectiveAt)) + time.Second)
	k, _ := submit[wire.SubjectKey](t, f, f.civil, f.civil.sharing, "CompleteKeyRecovery", a.id, r2.RecoveryID)
	if k.KeyID != phone.keyID(t) || k.AddedBy != "recovery:"+r2.RecoveryID {
		t.Fatalf("CompleteKeyRecovery = %+v", k)
	}
	refuse(t, f.civil, f.civil.sharing, wire.CodeBadSignature, "CreateGrant", string(forged), a.sign(t, forged))
	ev := evaluate[wire.KeyEventPage](t, f.op, f.op.sharing, "KeyEvents", a.id, "", "")
	var types []string
	for _, e := range ev.Events {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, ","); got != "bound,added,removed,recovery-requested,recovery-cancelled,recovery-requested,recovery-effective" {
		t.Fatalf("key events %s", got)
	}
	f.alice = phone
}

func (f *flow) accessLog(t *testing.T) {
	var got []wire.AccessEntry
	bm := ""
	pages := 0
	for ; pages < 50; pages++ {
		p := evaluate[wire.AccessPage](t, f.op, f.op.sharing, "AccessLog", f.alice.id, "2", bm)
		if len(p.Entries) > 2 {
			t.Fatalf("AccessLog page of %d entries with page size 2", len(p.Entries))
		}
		got = append(got, p.Entries...)
		if bm = p.Bookmark; bm == "" {
			break
		}
	}
	// Exactly the allowed accesses, newest first.
	want := slices.Clone(f.accesses)
	slices.Reverse(want)
	if len(got) != len(want) {
		t.Fatalf("AccessLog has %d entries, want the %d allowed accesses:\n got  %+v\n want %+v", len(got), len(want), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("AccessLog[%d]:\n got  %+v\n want %+v", i, got[i], want[i])
		}
	}
	for i := 1; i < len(got); i++ {
		if parseTime(t, "time", got[i].Time).After(parseTime(t, "time", got[i-1].Time)) {
			t.Fatalf("AccessLog not newest first at %d: %s after %s", i, got[i].Time, got[i-1].Time)
		}
	}
	// Only the operator reads access logs directly.
	refuseEval(t, f.civil, f.civil.sharing, wire.CodeForbidden, "AccessLog", f.alice.id, "", "")
	refuseEval(t, f.health, f.health.sharing, wire.CodeForbidden, "AccessLog", f.alice.id, "", "")
	if p := evaluate[wire.AccessPage](t, f.op, f.op.sharing, "AccessLog", f.bob.id, "", ""); len(p.Entries) != 0 || p.Bookmark != "" {
		t.Fatalf("bob's access log = %+v", p)
	}
	refuseEval(t, f.op, f.op.sharing, wire.CodeInvalid, "AccessLog", f.alice.id, "", "not-a-bookmark")
}

// readEvents replays a chaincode's events from block 0 until every wanted
// transaction has been seen (events arrive in block order).
func readEvents(t *testing.T, a *actor, channel, chaincode string, want []string) map[string]*client.ChaincodeEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	evs, err := a.gw.GetNetwork(channel).ChaincodeEvents(ctx, chaincode, client.WithStartBlock(0))
	if err != nil {
		t.Fatalf("chaincode events of %s: %v", chaincode, err)
	}
	seen := map[string]*client.ChaincodeEvent{}
	missing := func() []string {
		var m []string
		for _, tx := range want {
			if seen[tx] == nil {
				m = append(m, tx)
			}
		}
		return m
	}
	for len(missing()) > 0 {
		select {
		case e, ok := <-evs:
			if !ok {
				t.Fatalf("event stream of %s closed; missing events of %v", chaincode, missing())
			}
			if seen[e.TransactionID] != nil {
				t.Fatalf("two events for transaction %s", e.TransactionID)
			}
			seen[e.TransactionID] = e
		case <-ctx.Done():
			t.Fatalf("events of %s: no event for transactions %v", chaincode, missing())
		}
	}
	return seen
}

func decodeEvent[T any](t *testing.T, e *client.ChaincodeEvent, name string) T {
	t.Helper()
	var v T
	if e.EventName != name {
		t.Fatalf("event of %s is %q, want %q", e.TransactionID, e.EventName, name)
	}
	if err := json.Unmarshal(e.Payload, &v); err != nil {
		t.Fatalf("event %s payload %q: %v", name, e.Payload, err)
	}
	return v
}

func (f *flow) events(t *testing.T) {
	ev := readEvents(t, f.civil, chMunicipal, ccDossier, []string{f.firstAppendTx, f.batchTx, f.revokeTx, f.supersedeTx})
	first := f.recs["b-alice-1"]
	app := decodeEvent[wire.RecordAppendedEvent](t, ev[f.firstAppendTx], wire.EventRecordAppended)
	if app.Issuer != mspHealth || app.TxID != f.firstAppendTx || app.IssuedAt != first.IssuedAt ||
		len(app.Records) != 1 || app.Records[0] != (wire.RecordRef{RecordID: "b-alice-1", SubjectID: f.alice.id, Type: typeBirth, CID: first.CID}) {
		t.Fatalf("RecordAppended = %+v", app)
	}
	// The retry wrote nothing and emitted nothing (the supersede came later).
	if e := ev[f.retryTx]; e != nil {
		t.Fatalf("the idempotent retry emitted %s", e.EventName)
	}
	batch := decodeEvent[wire.RecordAppendedEvent](t, ev[f.batchTx], wire.EventRecordAppended)
	if len(batch.Records) != len(f.batchIDs) || batch.TxID != f.batchTx {
		t.Fatalf("batch RecordAppended lists %d records", len(batch.Records))
	}
	for i, r := range batch.Records {
		if r.RecordID != f.batchIDs[i] || r.CID != f.recs[r.RecordID].CID {
			t.Fatalf("batch event record %d = %+v", i, r)
		}
	}
	rv := decodeEvent[wire.RecordRevokedEvent](t, ev[f.revokeTx], wire.EventRecordRevoked)
	if rv != (wire.RecordRevokedEvent{RecordID: "b-alice-3", SubjectID: f.alice.id, Issuer: mspHealth, Reason: reasonError,
		Time: f.recs["b-alice-3"].StatusChangedAt, TxID: f.revokeTx}) {
		t.Fatalf("RecordRevoked = %+v", rv)
	}
	sv := decodeEvent[wire.RecordSupersededEvent](t, ev[f.supersedeTx], wire.EventRecordSuperseded)
	nr := f.recs["b-alice-2-v2"]
	if sv.OldRecordID != "b-alice-2" || sv.NewRecord != (wire.RecordRef{RecordID: nr.RecordID, SubjectID: nr.SubjectID, Type: nr.Type, CID: nr.CID}) ||
		sv.Issuer != mspHealth || sv.TxID != f.supersedeTx || sv.Time != nr.IssuedAt {
		t.Fatalf("RecordSuperseded = %+v", sv)
	}

	created := f.grants["g-civil-birth"].CreatedTx
	want := []string{created, f.grantRevokeTx}
	for _, a := range f.accesses {
		want = append(want, a.TxID)
	}
	ev = readEvents(t, f.health, chDatashare, ccSharing, want)
	gc := decodeEvent[wire.GrantCreatedEvent](t, ev[created], wire.EventGrantCreated)
	g := f.grants["g-civil-birth"]
	if !reflect.DeepEqual(gc, wire.GrantCreatedEvent{GrantID: g.GrantID, SubjectID: g.SubjectID, Grantee: g.Grantee, ValidFrom: g.Grant.ValidFrom, ExpiresAt: g.Grant.ExpiresAt, TxID: created}) {
		t.Fatalf("GrantCreated = %+v", gc)
	}
	gr := decodeEvent[wire.GrantRevokedEvent](t, ev[f.grantRevokeTx], wire.EventGrantRevoked)
	if gr.GrantID != "g-revocable" || gr.Grantee != mspCivil || gr.TxID != f.grantRevokeTx {
		t.Fatalf("GrantRevoked = %+v", gr)
	}
	for _, a := range f.accesses {
		got := decodeEvent[wire.AccessRecordedEvent](t, ev[a.TxID], wire.EventAccessRecorded)
		if got != (wire.AccessRecordedEvent{EntryID: a.EntryID, Kind: wire.AccessFile, SubjectID: a.SubjectID, RecordID: a.RecordID, GrantID: a.GrantID, Org: a.Org, Time: a.Time, TxID: a.TxID}) {
			t.Fatalf("AccessRecorded = %+v, want it to match %+v", got, a)
		}
	}
}
