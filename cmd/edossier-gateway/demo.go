package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// demoRecordTypes and who is accredited for them in the demo configuration.
var demoRecordTypes = []struct{ code, name, issuer string }{
	{"birth-medical-certificate", "Birth medical certificate", "health"},
	{"vaccination-record", "Vaccination record", "health"},
	{"household-register", "Household register record", "civil"},
	{"marriage-record", "Marriage record", "civil"},
	{"social-insurance-record", "Social insurance record", "social"},
	{"business-licence", "Business licence", "market"},
	{"vehicle-inspection", "Vehicle inspection certificate", "transport"},
}

// demoPurposes are the purpose codes grants and reads may state in the demo
// configuration (the names are the registry's display names; a portal localises them,
// e.g. newborn-registration: 新生儿出生登记).
var demoPurposes = []struct{ code, name string }{
	{"newborn-registration", "Newborn registration"},
	{"household-registration", "Household registration"},
	{"social-insurance-enrolment", "Social insurance enrolment"},
	{"medical-insurance-claim", "Medical insurance claim"},
	{"identity-verification", "Identity verification"},
	{"school-enrolment", "School enrolment"},
	{"marriage-registration", "Marriage registration"},
	{"child-health-record", "Child health record"},
	{"medical-insurance-enrolment", "Medical insurance enrolment"},
	{"school-bus-permit", "School-bus permit"},
}

// demoMatters are the demo network's "one thing" matters, by organisation name of the
// network spec; a part whose organisation the network lacks is left out (the default
// network has four departments; see docs/network.md#departments-for-one-thing-matters).
// Newborn (新生儿出生"一件事"): civil affairs registers the birth, the public security
// bureau the household (户口登记), the social security and medical insurance bureaus
// enrol the child, the health commission opens its health record, all from the birth
// medical certificate and the household register instead of paper. School-bus permit
// (校车使用许可): transport and education check the operating enterprise.
var demoMatters = []struct {
	code, name string
	parts      []struct {
		org, purpose string
		types        []string
	}
}{
	{"newborn", "Newborn: birth, household, social and medical insurance, child health in one application", []struct {
		org, purpose string
		types        []string
	}{
		{"civil", "newborn-registration", []string{"birth-medical-certificate"}},
		{"health", "child-health-record", []string{"household-register"}},
		{"police", "household-registration", []string{"birth-medical-certificate", "household-register"}},
		{"social", "social-insurance-enrolment", []string{"birth-medical-certificate", "household-register"}},
		{"medins", "medical-insurance-enrolment", []string{"birth-medical-certificate"}},
	}},
	{"school-bus-permit", "School-bus permit: the operating enterprise checked by transport and education", []struct {
		org, purpose string
		types        []string
	}{
		{"transport", "school-bus-permit", []string{"business-licence", "vehicle-inspection"}},
		{"education", "school-bus-permit", []string{"business-licence"}},
	}},
}

// demoReasons are the reason codes for revoking records and grants in the demo
// configuration (e.g. issued-in-error: 错误签发).
var demoReasons = []struct{ code, name string }{
	{"issued-in-error", "Issued in error"},
	{"data-correction", "Data correction"},
	{"withdrawn-by-issuer", "Withdrawn by the issuer"},
	{"court-order", "Court order"},
	{"fraud", "Fraud"},
	{"subject-request", "At the subject's request"},
}

// DemoKeys is the file make run writes: one API key per demo user.
type DemoKeys struct {
	Gateway     string            `json:"gateway"`
	Operator    string            `json:"operator"`
	Departments map[string]string `json:"departments"` // org name -> key
}

// demo registers every department organisation of the connection file, defines the
// demo record types, accreditations, purposes and revocation reasons (all idempotent
// on the ledger), and on first
// start creates API keys for the operator and each department's client user.
func (g *Gateway) demo(ctx context.Context) error {
	op, err := g.profile.Operator()
	if err != nil {
		return err
	}
	opUser := g.cfg.PlatformUser
	operator := gateway.Principal{Role: gateway.RoleOperator, Org: op.Name, MSPID: op.MSPID, User: opUser}
	var keys DemoKeys
	if b, err := os.ReadFile(g.cfg.DemoKeysFile); err == nil {
		if err := json.Unmarshal(b, &keys); err != nil {
			return fmt.Errorf("%s: %w", g.cfg.DemoKeysFile, err)
		}
	}
	if keys.Departments == nil {
		keys.Departments = map[string]string{}
	}
	keys.Gateway = "http://" + g.cfg.Listen
	if keys.Operator == "" {
		if keys.Operator, _, err = g.keys.Create(gateway.RoleOperator, op.Name, op.MSPID, opUser, "demo operator"); err != nil {
			return err
		}
	}
	for _, o := range g.profile.Organizations {
		if o.Role == "operator" {
			continue
		}
		if _, err := g.svc.RegisterDepartment(ctx, operator, o.MSPID, o.Title, o.Name); err != nil {
			return fmt.Errorf("register %s: %w", o.Name, err)
		}
		if keys.Departments[o.Name] == "" {
			user := "clerk"
			for _, u := range o.Users {
				if u.Role == "client" {
					user = u.Name
					break
				}
			}
			if keys.Departments[o.Name], _, err = g.keys.Create(gateway.RoleDepartment, o.Name, o.MSPID, user, "demo "+o.Name); err != nil {
				return err
			}
		}
	}
	for _, t := range demoRecordTypes {
		if _, err := g.svc.DefineRecordType(ctx, operator, t.code, t.name); err != nil {
			return fmt.Errorf("record type %s: %w", t.code, err)
		}
		if issuer, err := g.profile.Org(t.issuer); err == nil {
			if _, err := g.svc.Accredit(ctx, operator, issuer.MSPID, t.code); err != nil {
				return fmt.Errorf("accredit %s for %s: %w", t.issuer, t.code, err)
			}
		}
	}
	for _, p := range demoPurposes {
		if _, err := g.svc.DefinePurpose(ctx, operator, p.code, p.name); err != nil {
			return fmt.Errorf("purpose %s: %w", p.code, err)
		}
	}
	for _, r := range demoReasons {
		if _, err := g.svc.DefineReason(ctx, operator, r.code, r.name); err != nil {
			return fmt.Errorf("reason %s: %w", r.code, err)
		}
	}
	for _, m := range demoMatters {
		d := wire.MatterDefinition{Code: m.code, Name: m.name}
		for _, p := range m.parts {
			o, err := g.profile.Org(p.org)
			if err != nil {
				continue // a network without that organisation has no such part
			}
			d.Parts = append(d.Parts, wire.MatterPart{Department: o.MSPID, RecordTypes: p.types, Purpose: p.purpose})
		}
		if len(d.Parts) == 0 {
			continue
		}
		if _, err := g.svc.DefineMatter(ctx, operator, d); err != nil {
			return fmt.Errorf("matter %s: %w", m.code, err)
		}
	}
	b, _ := json.MarshalIndent(keys, "", "  ")
	if err := os.MkdirAll(filepath.Dir(g.cfg.DemoKeysFile), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(g.cfg.DemoKeysFile, append(b, '\n'), 0o600); err != nil {
		return err
	}
	g.log.Info("demo configuration ready", "keysFile", g.cfg.DemoKeysFile)
	return nil
}
