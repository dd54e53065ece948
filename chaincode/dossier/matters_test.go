package dossier_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

func matterJSON(t *testing.T, d wire.MatterDefinition) string { return cctest.JSON(t, d) }

func newborn() wire.MatterDefinition {
	return wire.MatterDefinition{Code: "newborn", Name: "Newborn: one application", Parts: []wire.MatterPart{
		{Department: cctest.Health, RecordTypes: []string{cctest.Marriage, cctest.BirthCert}, Purpose: cctest.PurposeOneThing},
		{Department: cctest.Civil, RecordTypes: []string{cctest.BirthCert}, Purpose: cctest.PurposeMarriage},
	}}
}

func TestDefineMatter(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	res := e.Dossier(e.Op, "DefineMatter", matterJSON(t, newborn()))
	m := cctest.Decode[wire.Matter](t, e.OK(res))
	// Normalised: parts by department, record types sorted.
	if m.Code != "newborn" || m.Version != 1 || len(m.Parts) != 2 || m.Parts[0].Department != cctest.Civil ||
		strings.Join(m.Parts[1].RecordTypes, ",") != cctest.BirthCert+","+cctest.Marriage || m.TxID != res.TxID {
		t.Fatalf("matter %+v", m)
	}
	// The same content again: unchanged, nothing written.
	if r := e.Dossier(e.Op, "DefineMatter", matterJSON(t, newborn())); e.OK(r) != nil && r.Writes != 0 {
		t.Fatal("same definition wrote")
	}
	// A change is a new version; the old one stays as it was.
	e.Net.Advance(time.Hour)
	d := newborn()
	d.Parts = d.Parts[:1]
	m2 := cctest.Decode[wire.Matter](t, e.OK(e.Dossier(e.Op, "DefineMatter", matterJSON(t, d))))
	if m2.Version != 2 || len(m2.Parts) != 1 {
		t.Fatalf("version 2 %+v", m2)
	}
	if got := cctest.Decode[wire.Matter](t, e.OK(e.DossierQ(e.Outsider, "GetMatter", "newborn", "1"))); len(got.Parts) != 2 || got.TxID != m.TxID {
		t.Fatalf("version 1 changed: %+v", got)
	}
	if got := cctest.Decode[wire.Matter](t, e.OK(e.DossierQ(e.Outsider, "GetMatter", "newborn", ""))); got.Version != 2 {
		t.Fatalf("latest %+v", got)
	}
	list := cctest.Decode[[]wire.Matter](t, e.OK(e.DossierQ(e.Health, "ListMatters")))
	if len(list) != 1 || list[0].Version != 2 {
		t.Fatalf("list %+v", list)
	}
	e.Code(e.DossierQ(e.Outsider, "GetMatter", "newborn", "3"), wire.CodeNotFound)
	e.Code(e.DossierQ(e.Outsider, "GetMatter", "nothing", ""), wire.CodeNotFound)
	for _, v := range []string{"-1", "01", "x", "1000000"} {
		e.Code(e.DossierQ(e.Outsider, "GetMatter", "newborn", v), wire.CodeInvalid)
	}
}

func TestDefineMatterRefusals(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	e.Code(e.Dossier(e.Health, "DefineMatter", matterJSON(t, newborn())), wire.CodeForbidden)
	bad := func(mod func(*wire.MatterDefinition)) string {
		d := newborn()
		mod(&d)
		return matterJSON(t, d)
	}
	for i, doc := range []string{
		"", "{}", `{"code":"x","name":"X","parts":[],"extra":1}`, matterJSON(t, newborn()) + "x",
		bad(func(d *wire.MatterDefinition) { d.Code = "bad code" }),
		bad(func(d *wire.MatterDefinition) { d.Name = "" }),
		bad(func(d *wire.MatterDefinition) { d.Parts = nil }),
		bad(func(d *wire.MatterDefinition) { d.Parts[1].Department = cctest.Health }),        // twice
		bad(func(d *wire.MatterDefinition) { d.Parts[0].RecordTypes = nil }),                 // no types
		bad(func(d *wire.MatterDefinition) { d.Parts[0].Purpose = "李小明的出生" }),                // free text
		bad(func(d *wire.MatterDefinition) { d.Parts[0].Department = cctest.Outsider }),      // not registered
		bad(func(d *wire.MatterDefinition) { d.Parts[0].RecordTypes = []string{"no-such"} }), // not defined
		bad(func(d *wire.MatterDefinition) { d.Parts[0].Purpose = "no-such-purpose" }),       // not registered
	} {
		r := e.Dossier(e.Op, "DefineMatter", doc)
		if r.OK() || r.Err().Code != wire.CodeInvalid || r.Writes != 0 {
			t.Errorf("case %d: %v", i, r.Err())
		}
	}
	e.OK(e.Dossier(e.Op, "DeactivateDepartment", cctest.Civil))
	e.Code(e.Dossier(e.Op, "DefineMatter", matterJSON(t, newborn())), wire.CodeInvalid)
}
