package main

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/edossier-city/edossier/network"
	"github.com/edossier-city/edossier/network/nettest"
)

// liveBasePort is the network of TestLiveNetworkChangesThroughGateway (seven
// organisations at most: 24850-24959).
const liveBasePort = 24850

// TestLiveNetworkChangesThroughGateway changes a running city network under the product:
// health appends and the citizen grants; two departments (education, transport) are
// added live; the gateway, restarted on the new connection file, registers them; the
// operator accredits education for a record type, education appends and, under the
// citizen's grant, reads the record written before it joined; transport is retired;
// the ordering service grows from one orderer to three and shrinks to two. After each
// change the earlier record still verifies and reads; at the end every peer has the
// same height.
func TestLiveNetworkChangesThroughGateway(t *testing.T) {
	e := startEnvWith(t, liveBasePort, nil)
	health, social := e.keys.Departments["health"], e.keys.Departments["social"]
	baby := newCitizen(t, e.resolve(health, personID(51)))
	e.bindKey(baby)
	birth := []byte("%PDF-1.7 birth medical certificate, before the network changed\n")
	r := e.appendRecord(health, baby.subjectID, "birth-medical-certificate", "", birth, "")
	expectStatus(t, r, 201)
	var rec recordResult
	r.json(t, &rec)
	now := time.Now()
	grant := func(id, grantee, purpose string) {
		t.Helper()
		r := e.do(e.signed(baby, "POST", "/v1/dossiers/"+baby.subjectID+"/grants",
			baby.grant(t, id, grantee, purpose, []string{"birth-medical-certificate"}, now.Add(-time.Minute), now.Add(time.Hour)), time.Now()))
		expectStatus(t, r, 201)
	}
	grant("g-live-social", "SocialSecurityMSP", "social-insurance-enrolment")
	earlierStillGood := func(step string) {
		t.Helper()
		r := e.jsonCall("GET", "/v1/records/"+rec.Record.RecordID+"/content?grantId=g-live-social&purpose=social-insurance-enrolment", social, nil)
		if r.status != 200 || !bytes.Equal(r.body, birth) {
			t.Fatalf("%s: social reads the earlier record: %d %s", step, r.status, r.body)
		}
		body, ct := multipartBody(t, [3]string{"file", "application/pdf", string(birth)})
		r = e.do(e.request("POST", "/v1/verify", "", body, ct))
		var v struct {
			Verified bool `json:"verified"`
		}
		if r.status != 200 {
			t.Fatalf("%s: verify: %d %s", step, r.status, r.body)
		}
		if r.json(t, &v); !v.Verified {
			t.Fatalf("%s: the earlier record no longer verifies: %s", step, r.body)
		}
	}
	earlierStillGood("before any change")

	// Two departments join the running network.
	spec := *e.n.Spec()
	spec.Organizations = append(append([]network.OrgSpec(nil), spec.Organizations...),
		network.OrgSpec{Name: "education", MSPID: "EducationMSP", Role: network.RoleDepartment, Title: "Education Bureau", Users: []string{"clerk"}},
		network.OrgSpec{Name: "transport", MSPID: "TransportMSP", Role: network.RoleDepartment, Title: "Transport Bureau", Users: []string{"clerk"}})
	changeNetwork(t, e, &spec)
	if got := fmt.Sprint(e.n.Network.Joined()); got != "[education transport]" {
		t.Fatalf("joined %s", got)
	}
	earlierStillGood("departments added, gateway not yet restarted")
	// The gateway reads the connection file at start: restart it; the demo set-up
	// registers the new departments and issues their keys.
	e.stop()
	e.startGateway()
	education := e.keys.Departments["education"]
	if education == "" || e.keys.Departments["transport"] == "" {
		t.Fatalf("no API keys for the new departments: %v", e.keys.Departments)
	}
	r = e.jsonCall("POST", "/v1/admin/record-types", e.keys.Operator, map[string]string{"code": "school-enrolment-record", "name": "School enrolment record"})
	expectStatus(t, r, 200)
	r = e.jsonCall("POST", "/v1/admin/accreditations", e.keys.Operator, map[string]string{"mspId": "EducationMSP", "recordType": "school-enrolment-record"})
	expectStatus(t, r, 200)
	school := []byte("%PDF-1.7 school enrolment, issued by a department that joined live\n")
	r = e.appendRecord(education, baby.subjectID, "school-enrolment-record", "", school, "")
	expectStatus(t, r, 201)
	grant("g-live-education", "EducationMSP", "school-enrolment")
	r = e.jsonCall("GET", "/v1/records/"+rec.Record.RecordID+"/content?grantId=g-live-education&purpose=school-enrolment", education, nil)
	expectStatus(t, r, 200)
	if !bytes.Equal(r.body, birth) {
		t.Fatalf("education reads %q", r.body)
	}
	earlierStillGood("departments added")

	// Transport leaves; the ordering service grows to three orderers and shrinks to two.
	retired := *e.n.Spec()
	retired.Organizations = append([]network.OrgSpec(nil), retired.Organizations...)
	retired.Organizations[len(retired.Organizations)-1].Retired = true
	changeNetwork(t, e, &retired)
	earlierStillGood("transport retired")
	for _, count := range []int{3, 2} {
		s := *e.n.Spec()
		s.Ordering.Orderers = count
		changeNetwork(t, e, &s)
		r = e.appendRecord(health, baby.subjectID, "vaccination-record", "", []byte(fmt.Sprintf("vaccination %d orderers", count)), "")
		expectStatus(t, r, 201)
		earlierStillGood(fmt.Sprintf("%d orderers", count))
	}

	// Every running peer ends at the same height on both channels.
	for _, ch := range []string{"municipal", "datashare"} {
		var want uint64
		for _, o := range e.n.Spec().Active() {
			gw := e.n.Gateway(t, o.Name, "admin")
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				h, err := nettest.Height(gw, ch)
				if err == nil && want == 0 {
					want = h
				}
				if err == nil && h == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s on %s at %d (%v), want %d", o.Name, ch, h, err, want)
				}
			}
		}
	}
}

// changeNetwork applies a changed spec to e's running network with `up`.
func changeNetwork(t *testing.T, e *env, spec *network.Spec) {
	t.Helper()
	ccBin, err := nettest.Binary(e.n.Root, "edossier-chaincode")
	if err != nil {
		t.Fatal(err)
	}
	nw, err := network.New(network.Options{Spec: spec, Home: e.n.Home(), ToolsDir: nettest.ToolsDir(e.n.Root), ChaincodeBin: ccBin})
	if err != nil {
		t.Fatal(err)
	}
	if err := nw.Up(t.Context()); err != nil {
		t.Fatalf("network up with the changed spec: %v", err)
	}
	e.n.Network = nw
	e.n.Reload(t)
}
