package dossier_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/statebased"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/dossier"
	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
	"github.com/edossier-city/edossier/chaincode/meta"
	"github.com/edossier-city/edossier/chaincode/sharing"
	"github.com/edossier-city/edossier/chaincode/wire"
)

func key(t *testing.T, obj string, attrs ...string) string {
	t.Helper()
	k, err := shim.CreateCompositeKey(obj, attrs)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// policyOrgs decodes a key-level endorsement policy.
func policyOrgs(t *testing.T, p []byte) []string {
	t.Helper()
	if p == nil {
		t.Fatal("no key-level endorsement policy")
	}
	ep, err := statebased.NewStateEP(p)
	if err != nil {
		t.Fatal(err)
	}
	return ep.ListOrgs()
}

func TestChaincodeMetadata(t *testing.T) {
	// Both contracts and the meta contract in one chaincode must produce
	// valid contractapi metadata.
	cc, err := contractapi.NewChaincode(dossier.New(dossier.Config{}), sharing.New(sharing.Config{}), meta.New("test"))
	if err != nil {
		t.Fatal(err)
	}
	n := fakeledger.New(cctest.Start)
	n.AddChannel("c", "cc", cc)
	res := n.Evaluate("c", fakeledger.NewIdentity("X", "x"), "org.hyperledger.fabric:GetMetadata")
	if !res.OK() {
		t.Fatal(res.Message)
	}
	for _, fn := range []string{"AppendRecords", "SupersedeRecord", "FindByCID", "RecordAccess", "AccessLog", "CreateGrant", "Unaccredit"} {
		if !strings.Contains(string(res.Payload), `"name":"`+fn+`"`) {
			t.Errorf("metadata lacks %s", fn)
		}
	}
	// Unknown function and missing arguments are refused (uncoded: the
	// framework answers before the contract runs).
	if r := n.Evaluate("c", fakeledger.NewIdentity("X", "x"), "dossier:Nope"); r.OK() {
		t.Error("unknown function accepted")
	}
	if r := n.Evaluate("c", fakeledger.NewIdentity("X", "x"), "dossier:GetRecord"); r.OK() {
		t.Error("missing argument accepted")
	}
}

func TestOperatorOnly(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	calls := [][]string{
		{"RegisterDepartment", cctest.Outsider, "Outsider", "OUT"},
		{"DeactivateDepartment", cctest.Health},
		{"DefineRecordType", "x", "X"},
		{"Accredit", cctest.Health, cctest.Licence},
		{"Unaccredit", cctest.Health, cctest.BirthCert},
		{"DefinePurpose", "p", "P"},
		{"DefineReason", "r", "R"},
	}
	for _, c := range calls {
		for _, id := range []*fakeledger.Identity{e.Health, e.Outsider} {
			e.Code(e.Dossier(id, c[0], c[1:]...), wire.CodeForbidden)
		}
	}
	// No operator configured: nobody administers.
	cc, err := contractapi.NewChaincode(dossier.New(dossier.Config{Now: func() time.Time { return cctest.Start }}))
	if err != nil {
		t.Fatal(err)
	}
	n := fakeledger.New(cctest.Start)
	n.AddChannel("m", "dossier", cc)
	if r := n.Submit("m", e.Op, "dossier:DefineRecordType", "x", "X"); r.Err().Code != wire.CodeForbidden {
		t.Fatalf("want forbidden, got %v", r.Err())
	}
}

func TestRegisterDepartment(t *testing.T) {
	e := cctest.NewEnv(t)
	r := e.Dossier(e.Op, "RegisterDepartment", cctest.Health, "Health Commission", "HEALTH")
	d := cctest.Decode[wire.Department](t, e.OK(r))
	if d != (wire.Department{MSPID: cctest.Health, Name: "Health Commission", Code: "HEALTH", Active: true}) {
		t.Fatalf("got %+v", d)
	}
	if r.Writes != 1 {
		t.Fatalf("writes %d", r.Writes)
	}
	ch := e.Net.Channel(cctest.Municipal)
	if orgs := policyOrgs(t, ch.ValidationParameter(key(t, "dept", cctest.Health))); len(orgs) != 1 || orgs[0] != cctest.Operator {
		t.Fatalf("dept key policy %v", orgs)
	}
	// Idempotent: nothing written the second time.
	if r := e.Dossier(e.Op, "RegisterDepartment", cctest.Health, "Health Commission", "HEALTH"); e.OK(r) != nil && r.Writes != 0 {
		t.Fatalf("repeat wrote %d keys", r.Writes)
	}
	// Rename.
	d = cctest.Decode[wire.Department](t, e.OK(e.Dossier(e.Op, "RegisterDepartment", cctest.Health, "Health Bureau", "HB")))
	if d.Name != "Health Bureau" || d.Code != "HB" {
		t.Fatalf("got %+v", d)
	}
	for _, args := range [][]string{
		{"", "n", "C"}, {"bad msp", "n", "C"}, {strings.Repeat("a", 65), "n", "C"},
		{"M", "", "C"}, {"M", "bad\nname", "C"}, {"M", strings.Repeat("n", 257), "C"},
		{"M", "n", ""}, {"M", "n", "-C"}, {"M", "n", "C/D"},
	} {
		e.Code(e.Dossier(e.Op, "RegisterDepartment", args...), wire.CodeInvalid)
	}
}

func TestDeactivateDepartment(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	e.Code(e.Dossier(e.Op, "DeactivateDepartment", cctest.Outsider), wire.CodeNotFound)
	e.Code(e.Dossier(e.Op, "DeactivateDepartment", "no such"), wire.CodeInvalid)
	e.Append(e.Health, cctest.Req("r1", cctest.Subject("1"), cctest.BirthCert))
	d := cctest.Decode[wire.Department](t, e.OK(e.Dossier(e.Op, "DeactivateDepartment", cctest.Health)))
	if d.Active {
		t.Fatal("still active")
	}
	if r := e.Dossier(e.Op, "DeactivateDepartment", cctest.Health); e.OK(r) != nil && r.Writes != 0 {
		t.Fatal("repeat wrote")
	}
	e.Code(e.Dossier(e.Health, "AppendRecord", cctest.JSON(t, cctest.Req("r2", cctest.Subject("1"), cctest.BirthCert))), wire.CodeForbidden)
	e.Code(e.Dossier(e.Health, "SupersedeRecord", "r1", cctest.JSON(t, cctest.Req("r2", cctest.Subject("1"), cctest.BirthCert))), wire.CodeForbidden)
	// An inactive department may still revoke its own records.
	e.OK(e.Dossier(e.Health, "RevokeRecord", "r1", cctest.ReasonError))
	// Registering again reactivates.
	d = cctest.Decode[wire.Department](t, e.OK(e.Dossier(e.Op, "RegisterDepartment", cctest.Health, "Health Commission", "HEALTH")))
	if !d.Active {
		t.Fatal("not reactivated")
	}
	e.Append(e.Health, cctest.Req("r2", cctest.Subject("1"), cctest.BirthCert))
}

func TestRecordTypes(t *testing.T) {
	e := cctest.NewEnv(t)
	rt := cctest.Decode[wire.RecordType](t, e.OK(e.Dossier(e.Op, "DefineRecordType", "b", "Birth")))
	if rt != (wire.RecordType{Code: "b", Name: "Birth"}) {
		t.Fatalf("got %+v", rt)
	}
	if r := e.Dossier(e.Op, "DefineRecordType", "b", "Birth"); e.OK(r) != nil && r.Writes != 0 {
		t.Fatal("repeat wrote")
	}
	e.OK(e.Dossier(e.Op, "DefineRecordType", "b", "Birth certificate"))
	e.OK(e.Dossier(e.Op, "DefineRecordType", "a", "Adoption"))
	e.Code(e.Dossier(e.Op, "DefineRecordType", "", "x"), wire.CodeInvalid)
	e.Code(e.Dossier(e.Op, "DefineRecordType", "x", ""), wire.CodeInvalid)
	e.Code(e.Dossier(e.Op, "DefineRecordType", "x y", "x"), wire.CodeInvalid)

	got := cctest.Decode[wire.RecordType](t, e.OK(e.DossierQ(e.Outsider, "GetRecordType", "b")))
	if got.Name != "Birth certificate" {
		t.Fatalf("got %+v", got)
	}
	e.Code(e.DossierQ(e.Outsider, "GetRecordType", "zz"), wire.CodeNotFound)
	e.Code(e.DossierQ(e.Outsider, "GetRecordType", ""), wire.CodeInvalid)
	list := cctest.Decode[[]wire.RecordType](t, e.OK(e.DossierQ(e.Outsider, "ListRecordTypes")))
	if len(list) != 2 || list[0].Code != "a" || list[1].Code != "b" {
		t.Fatalf("got %+v", list)
	}
}

// TestPurposesAndReasons: the two code registries (operator-only, pinned to
// the operator by key-level endorsement, idempotent, read by anyone).
func TestPurposesAndReasons(t *testing.T) {
	e := cctest.NewEnv(t)
	for _, c := range []struct {
		define, get, list, obj string
	}{
		{"DefinePurpose", "GetPurpose", "ListPurposes", "purpose"},
		{"DefineReason", "GetReason", "ListReasons", "reason"},
	} {
		if raw := e.OK(e.DossierQ(e.Outsider, c.list)); string(raw) != "[]" {
			t.Fatalf("%s empty: %s", c.list, raw)
		}
		res := e.Dossier(e.Op, c.define, "newborn-registration", "Newborn registration")
		if got := cctest.Decode[wire.Purpose](t, e.OK(res)); got != (wire.Purpose{Code: "newborn-registration", Name: "Newborn registration"}) {
			t.Fatalf("%s: %+v", c.define, got)
		}
		if orgs := policyOrgs(t, e.Net.Channel(cctest.Municipal).ValidationParameter(key(t, c.obj, "newborn-registration"))); len(orgs) != 1 || orgs[0] != cctest.Operator {
			t.Fatalf("%s policy %v", c.define, orgs)
		}
		if r := e.Dossier(e.Op, c.define, "newborn-registration", "Newborn registration"); e.OK(r) != nil && r.Writes != 0 {
			t.Fatalf("%s repeat wrote", c.define)
		}
		e.OK(e.Dossier(e.Op, c.define, "newborn-registration", "新生儿登记"))
		e.OK(e.Dossier(e.Op, c.define, "court-order", "Court order"))
		for _, bad := range [][]string{{"", "x"}, {"x", ""}, {"x y", "x"}, {"李小明", "x"}, {"x", "a\nb"}} {
			e.Code(e.Dossier(e.Op, c.define, bad...), wire.CodeInvalid)
		}
		for _, id := range []*fakeledger.Identity{e.Health, e.Outsider} {
			e.Code(e.Dossier(id, c.define, "x", "X"), wire.CodeForbidden)
		}
		got := cctest.Decode[wire.Reason](t, e.OK(e.DossierQ(e.Outsider, c.get, "newborn-registration")))
		if got.Name != "新生儿登记" {
			t.Fatalf("%s: %+v", c.get, got)
		}
		e.Code(e.DossierQ(e.Outsider, c.get, "unknown"), wire.CodeNotFound)
		e.Code(e.DossierQ(e.Outsider, c.get, "not a code"), wire.CodeInvalid)
		list := cctest.Decode[[]wire.Reason](t, e.OK(e.DossierQ(e.Outsider, c.list)))
		if len(list) != 2 || list[0].Code != "court-order" || list[1].Code != "newborn-registration" {
			t.Fatalf("%s: %+v", c.list, list)
		}
	}
}

func TestAccreditation(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Code(e.Dossier(e.Op, "Accredit", cctest.Health, cctest.BirthCert), wire.CodeNotFound) // no department
	e.OK(e.Dossier(e.Op, "RegisterDepartment", cctest.Health, "Health", "H"))
	e.Code(e.Dossier(e.Op, "Accredit", cctest.Health, cctest.BirthCert), wire.CodeNotFound) // no type
	e.OK(e.Dossier(e.Op, "DefineRecordType", cctest.BirthCert, "Birth"))
	e.Code(e.Dossier(e.Op, "Unaccredit", cctest.Health, cctest.BirthCert), wire.CodeNotFound) // never accredited
	e.Code(e.Dossier(e.Op, "Accredit", "", cctest.BirthCert), wire.CodeInvalid)
	e.Code(e.Dossier(e.Op, "Accredit", cctest.Health, ""), wire.CodeInvalid)
	e.Code(e.Dossier(e.Op, "Unaccredit", "bad msp", cctest.BirthCert), wire.CodeInvalid)

	// Not accredited yet: append refused.
	e.Code(e.Dossier(e.Health, "AppendRecord", cctest.JSON(t, cctest.Req("r1", cctest.Subject("1"), cctest.BirthCert))), wire.CodeForbidden)
	a := cctest.Decode[wire.Accreditation](t, e.OK(e.Dossier(e.Op, "Accredit", cctest.Health, cctest.BirthCert)))
	if a != (wire.Accreditation{MSPID: cctest.Health, RecordType: cctest.BirthCert, Active: true}) {
		t.Fatalf("got %+v", a)
	}
	if r := e.Dossier(e.Op, "Accredit", cctest.Health, cctest.BirthCert); e.OK(r) != nil && r.Writes != 0 {
		t.Fatal("repeat wrote")
	}
	e.Append(e.Health, cctest.Req("r1", cctest.Subject("1"), cctest.BirthCert))
	a = cctest.Decode[wire.Accreditation](t, e.OK(e.Dossier(e.Op, "Unaccredit", cctest.Health, cctest.BirthCert)))
	if a.Active {
		t.Fatal("still active")
	}
	if r := e.Dossier(e.Op, "Unaccredit", cctest.Health, cctest.BirthCert); e.OK(r) != nil && r.Writes != 0 {
		t.Fatal("repeat wrote")
	}
	e.Code(e.Dossier(e.Health, "AppendRecord", cctest.JSON(t, cctest.Req("r2", cctest.Subject("1"), cctest.BirthCert))), wire.CodeForbidden)
	// Existing records are unaffected.
	e.OK(e.DossierQ(e.Op, "GetRecord", "r1"))
	e.OK(e.Dossier(e.Op, "Accredit", cctest.Health, cctest.BirthCert))
	e.Append(e.Health, cctest.Req("r2", cctest.Subject("1"), cctest.BirthCert))
}

func TestRegistryQueries(t *testing.T) {
	e := cctest.NewEnv(t)
	if got := cctest.Decode[[]wire.Department](t, e.OK(e.DossierQ(e.Outsider, "ListDepartments"))); len(got) != 0 {
		t.Fatalf("got %+v", got)
	}
	if got := e.OK(e.DossierQ(e.Outsider, "ListAccreditations", "")); string(got) != "[]" {
		t.Fatalf("empty list encodes as %q", got)
	}
	e.Bootstrap()
	d := cctest.Decode[wire.Department](t, e.OK(e.DossierQ(e.Outsider, "GetDepartment", cctest.Civil)))
	if d.MSPID != cctest.Civil || !d.Active {
		t.Fatalf("got %+v", d)
	}
	e.Code(e.DossierQ(e.Outsider, "GetDepartment", cctest.Outsider), wire.CodeNotFound)
	e.Code(e.DossierQ(e.Outsider, "GetDepartment", ""), wire.CodeInvalid)
	ds := cctest.Decode[[]wire.Department](t, e.OK(e.DossierQ(e.Outsider, "ListDepartments")))
	if len(ds) != 2 || ds[0].MSPID != cctest.Civil || ds[1].MSPID != cctest.Health {
		t.Fatalf("got %+v", ds)
	}
	all := cctest.Decode[[]wire.Accreditation](t, e.OK(e.DossierQ(e.Outsider, "ListAccreditations", "")))
	if len(all) != 3 || all[0].MSPID != cctest.Civil {
		t.Fatalf("got %+v", all)
	}
	h := cctest.Decode[[]wire.Accreditation](t, e.OK(e.DossierQ(e.Outsider, "ListAccreditations", cctest.Health)))
	if len(h) != 2 || h[0].RecordType != cctest.BirthCert || h[1].RecordType != cctest.Marriage {
		t.Fatalf("got %+v", h)
	}
	e.Code(e.DossierQ(e.Outsider, "ListAccreditations", "bad msp"), wire.CodeInvalid)
	// GetRegistry answers the same lists in one query.
	reg := cctest.Decode[wire.Registry](t, e.OK(e.DossierQ(e.Outsider, "GetRegistry")))
	types := cctest.Decode[[]wire.RecordType](t, e.OK(e.DossierQ(e.Outsider, "ListRecordTypes")))
	purposes := cctest.Decode[[]wire.Purpose](t, e.OK(e.DossierQ(e.Outsider, "ListPurposes")))
	reasons := cctest.Decode[[]wire.Reason](t, e.OK(e.DossierQ(e.Outsider, "ListReasons")))
	if !reflect.DeepEqual(reg, wire.Registry{Departments: ds, RecordTypes: types, Accreditations: all, Purposes: purposes, Reasons: reasons}) {
		t.Fatalf("GetRegistry %+v differs from the lists", reg)
	}
}

func TestGetRegistryEmpty(t *testing.T) {
	e := cctest.NewEnv(t)
	got := string(e.OK(e.DossierQ(e.Outsider, "GetRegistry")))
	if got != `{"departments":[],"recordTypes":[],"accreditations":[],"purposes":[],"reasons":[]}` {
		t.Fatalf("empty registry encodes as %s", got)
	}
}
