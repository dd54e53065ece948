// Package cctest sets up both contracts on a fakeledger network for unit
// tests: channel municipal with "dossier", channel datashare with "sharing",
// an operator and three department identities.
package cctest

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/ccapi"
	"github.com/edossier-city/edossier/chaincode/dossier"
	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
	"github.com/edossier-city/edossier/chaincode/sharing"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// MSP IDs of the test organisations.
const (
	Operator = "OperatorMSP"
	Health   = "HealthMSP"
	Civil    = "CivilMSP"
	Outsider = "OutsiderMSP"
	// Authority is the identity authority (attests subject keys).
	Authority = "AuthorityMSP"

	Municipal = "municipal"
	Datashare = "datashare"

	BirthCert = "birth-cert"
	Licence   = "business-licence"
	Marriage  = "marriage"
)

// RecoveryDelay is the key recovery time lock of the test network.
const RecoveryDelay = 72 * time.Hour

// Start is the fake clock's start.
var Start = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// Env is a two-channel test network.
type Env struct {
	T   testing.TB
	Net *fakeledger.Network

	Op, Health, Civil, Outsider, Authority *fakeledger.Identity

	// EndorserClock, when set, is the contracts' own clock (see ccutil.ClockCheck);
	// otherwise they read the fake clock that stamps the transactions.
	EndorserClock func() time.Time
}

// NewEnv deploys both contracts (operator OperatorMSP).
func NewEnv(t testing.TB) *Env {
	t.Helper()
	n := fakeledger.New(Start)
	e := &Env{T: t, Net: n}
	clock := func() time.Time {
		if e.EndorserClock != nil {
			return e.EndorserClock()
		}
		return n.Now
	}
	d, err := ccapi.NewChaincode(dossier.New(dossier.Config{OperatorMSP: Operator, Now: clock}))
	if err != nil {
		t.Fatalf("dossier chaincode: %v", err)
	}
	s, err := ccapi.NewChaincode(sharing.New(sharing.Config{
		OperatorMSP: Operator, IdentityAuthorities: []string{Authority, Operator}, RepresentativeAuthorities: []string{Civil, Operator},
		RecoveryDelay: RecoveryDelay, Now: clock,
	}))
	if err != nil {
		t.Fatalf("sharing chaincode: %v", err)
	}
	n.AddChannel(Municipal, "dossier", d)
	n.AddChannel(Datashare, "sharing", s)
	e.Op = fakeledger.NewIdentity(Operator, "admin")
	e.Health = fakeledger.NewIdentity(Health, "clerk.health")
	e.Civil = fakeledger.NewIdentity(Civil, "clerk.civil")
	e.Outsider = fakeledger.NewIdentity(Outsider, "someone")
	e.Authority = fakeledger.NewIdentity(Authority, "counter.ia")
	return e
}

// Dossier submits dossier:<fn>.
func (e *Env) Dossier(id *fakeledger.Identity, fn string, args ...string) fakeledger.Result {
	return e.Net.Submit(Municipal, id, "dossier:"+fn, args...)
}

// DossierQ evaluates dossier:<fn>.
func (e *Env) DossierQ(id *fakeledger.Identity, fn string, args ...string) fakeledger.Result {
	return e.Net.Evaluate(Municipal, id, "dossier:"+fn, args...)
}

// Sharing submits sharing:<fn>.
func (e *Env) Sharing(id *fakeledger.Identity, fn string, args ...string) fakeledger.Result {
	return e.Net.Submit(Datashare, id, "sharing:"+fn, args...)
}

// SharingQ evaluates sharing:<fn>.
func (e *Env) SharingQ(id *fakeledger.Identity, fn string, args ...string) fakeledger.Result {
	return e.Net.Evaluate(Datashare, id, "sharing:"+fn, args...)
}

// OK fails the test unless r succeeded and returns its payload.
func (e *Env) OK(r fakeledger.Result) []byte {
	e.T.Helper()
	if !r.OK() {
		e.T.Fatalf("unexpected failure: status %d: %s", r.Status, r.Message)
	}
	return r.Payload
}

// Code fails the test unless r failed with code; nothing may be written.
func (e *Env) Code(r fakeledger.Result, code wire.Code) {
	e.T.Helper()
	if r.OK() {
		e.T.Fatalf("want %s, got success: %s", code, r.Payload)
	}
	got := r.Err()
	if got.Code != code {
		e.T.Fatalf("want code %s, got %s (%s)", code, got.Code, got.Message)
	}
	if r.Writes != 0 || r.Event != nil {
		e.T.Fatalf("failed transaction committed something")
	}
}

// Decode unmarshals a payload.
func Decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
	return v
}

// JSON encodes v.
func JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := wire.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FileCID is the CID of the given file content.
func FileCID(content string) string {
	c, _, err := wire.CIDOf(strings.NewReader(content))
	if err != nil {
		panic(err)
	}
	return c.String()
}

// Subject returns a valid pseudonymous person subject ID ("p-" and 32
// base32 characters) named by name: the same name, the same ID.
func Subject(name string) string {
	h := sha256.Sum256([]byte("cctest subject\x00" + name))
	return "p-" + strings.ToLower(base32.StdEncoding.EncodeToString(h[:20]))
}

// Req builds a valid append request whose file content is "content:<id>"
// and whose note CID is that of "note:<id>".
func Req(id, subject, typ string) wire.AppendRequest {
	return wire.AppendRequest{
		RecordID: id, SubjectID: subject, Type: typ, CID: FileCID("content:" + id),
		Size: 1234, MediaType: "application/pdf", NoteCID: FileCID("note:" + id),
	}
}

// Purposes and reasons Bootstrap registers.
const (
	PurposeMarriage = "marriage-registration"
	PurposeOneThing = "one-thing-application"
	ReasonError     = "issued-in-error"
	ReasonFraud     = "fraud"
	ReasonRequest   = "subject-request"
)

// Bootstrap registers Health (birth-cert, marriage) and Civil (licence), the
// three record types, two purposes and three reasons; Outsider stays
// unregistered.
func (e *Env) Bootstrap() {
	e.T.Helper()
	e.OK(e.Dossier(e.Op, "RegisterDepartment", Health, "Health Commission", "HEALTH"))
	e.OK(e.Dossier(e.Op, "RegisterDepartment", Civil, "Civil Affairs Bureau", "CIVIL"))
	e.OK(e.Dossier(e.Op, "DefineRecordType", BirthCert, "Birth medical certificate"))
	e.OK(e.Dossier(e.Op, "DefineRecordType", Licence, "Business licence"))
	e.OK(e.Dossier(e.Op, "DefineRecordType", Marriage, "Marriage record"))
	e.OK(e.Dossier(e.Op, "Accredit", Health, BirthCert))
	e.OK(e.Dossier(e.Op, "Accredit", Health, Marriage))
	e.OK(e.Dossier(e.Op, "Accredit", Civil, Licence))
	e.OK(e.Dossier(e.Op, "DefinePurpose", PurposeMarriage, "Marriage registration"))
	e.OK(e.Dossier(e.Op, "DefinePurpose", PurposeOneThing, "One-thing application"))
	e.OK(e.Dossier(e.Op, "DefineReason", ReasonError, "Issued in error"))
	e.OK(e.Dossier(e.Op, "DefineReason", ReasonFraud, "Fraud"))
	e.OK(e.Dossier(e.Op, "DefineReason", ReasonRequest, "At the subject's request"))
}

// BootstrapSharing is Bootstrap plus the identity authority's registration as a
// department. (The test network lists the operator as an identity authority too,
// to show that the chaincode never accepts it as one.)
func (e *Env) BootstrapSharing() {
	e.T.Helper()
	e.Bootstrap()
	e.OK(e.Dossier(e.Op, "RegisterDepartment", Authority, "Public Security Bureau", "PSB"))
}

// Append appends req as id and returns the stored record.
func (e *Env) Append(id *fakeledger.Identity, req wire.AppendRequest) wire.Record {
	e.T.Helper()
	return Decode[wire.Record](e.T, e.OK(e.Dossier(id, "AppendRecord", JSON(e.T, req))))
}

// OK2 is OK returning the whole result.
func (e *Env) OK2(r fakeledger.Result) fakeledger.Result {
	e.T.Helper()
	e.OK(r)
	return r
}
