package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/status"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// wireCode finds the chaincode's coded error in a fabric-gateway failure.
func wireCode(err error) wire.Code {
	if e, ok := wire.ParseError(err.Error()); ok {
		return e.Code
	}
	if st, ok := status.FromError(err); ok {
		for _, d := range st.Details() {
			if ed, ok := d.(*gwproto.ErrorDetail); ok {
				if e, ok := wire.ParseError(ed.GetMessage()); ok {
					return e.Code
				}
			}
		}
	}
	return ""
}

// testLedgerRefusesPersonalData reruns the attacks of issue 9 directly on the
// chaincode with a department's own Fabric identity (fabric-gateway, no REST gateway
// to stop them): a raw ID number or credit code as the subject ID, a title with
// personal data, free text as a revocation reason, a grant purpose or an access
// purpose. Each is refused at endorsement with invalid and changes neither channel.
func testLedgerRefusesPersonalData(t *testing.T, e *env, health string) {
	gw := e.n.Gateway(t, "health", "clerk")
	dossier := gw.GetNetwork("municipal").GetContractWithName("dossier", "dossier")
	sharing := gw.GetNetwork("datashare").GetContractWithName("sharing", "sharing")
	subject := e.resolve(health, personID(5))
	r := e.appendRecord(health, subject, "vaccination-record", "", []byte("vaccination for the ledger attacks"), "")
	expectStatus(t, r, 201)
	var rec recordResult
	r.json(t, &rec)
	cid, _, _ := wire.CIDOf(strings.NewReader("raw subject attack"))
	request := func(subjectID string) wire.AppendRequest {
		return wire.AppendRequest{RecordID: "r-raw-attack", SubjectID: subjectID, Type: "vaccination-record",
			CID: cid.String(), Size: 18, MediaType: "application/pdf"}
	}
	mustJSON := func(v any) string {
		b, err := wire.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	titled := strings.Replace(mustJSON(request(subject)), `"mediaType":`, `"title":"`+newbornNote+`","mediaType":`, 1)
	attacks := []struct {
		name     string
		contract *client.Contract
		fn       string
		args     []string
	}{
		{"raw ID number as subject", dossier, "AppendRecord", []string{mustJSON(request(personID(123)))}},
		{"raw credit code as subject", dossier, "AppendRecord", []string{mustJSON(request(rawCredit))}},
		{"a name as subject", dossier, "AppendRecord", []string{mustJSON(request(personName))}},
		{"raw ID number in a batch", dossier, "AppendRecords", []string{mustJSON(wire.AppendBatch{Records: []wire.AppendRequest{request(personID(123))}})}},
		{"personal data in a title", dossier, "AppendRecord", []string{titled}},
		{"personal data as a revocation reason", dossier, "RevokeRecord", []string{rec.Record.RecordID, newbornNote}},
		{"unregistered revocation reason", dossier, "RevokeRecord", []string{rec.Record.RecordID, "clerk-li-xiaoming-says-so"}},
		{"personal data as an access purpose", sharing, "RecordAccess", []string{"g-none", rec.Record.RecordID, newbornNote}},
		{"grant for a raw ID number", sharing, "CreateGrant", []string{`{"kind":"edossier.grant.v1","grantId":"g-raw","subjectId":"` + personID(123) +
			`","grantee":"SocialSecurityMSP","scope":{"recordTypes":["vaccination-record"]},"purpose":"identity-verification","validFrom":"2025-01-01T00:00:00Z","expiresAt":"2099-01-01T00:00:00Z"}`, "c2ln"}},
		{"personal data as a grant purpose", sharing, "CreateGrant", []string{`{"kind":"edossier.grant.v1","grantId":"g-pii","subjectId":"` + subject +
			`","grantee":"SocialSecurityMSP","scope":{"recordTypes":["vaccination-record"]},"purpose":"` + newbornNote + `","validFrom":"2025-01-01T00:00:00Z","expiresAt":"2099-01-01T00:00:00Z"}`, "c2ln"}},
		{"personal data as a grant-revocation reason", sharing, "RevokeGrant", []string{`{"kind":"edossier.grant-revocation.v1","grantId":"g-none","subjectId":"` + subject +
			`","issuedAt":"2025-01-05T00:00:00Z","reason":"` + personName + ` asked"}`, "c2ln"}},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			e.t = t
			before := e.snapshot()
			_, err := a.contract.SubmitTransaction(a.fn, a.args...)
			var ee *client.EndorseError
			if err == nil || !errors.As(err, &ee) {
				t.Fatalf("%s: err = %v, want a refusal at endorsement", a.fn, err)
			}
			if code := wireCode(err); code != wire.CodeInvalid {
				t.Fatalf("%s: code %q, want invalid: %v", a.fn, code, err)
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("state changed by a refused transaction: before %+v after %+v", before, after)
			}
		})
	}
	// Read-only queries with a raw ID number are refused too.
	for _, q := range []struct {
		c    *client.Contract
		fn   string
		args []string
	}{
		{dossier, "ListDossier", []string{personID(123), "", "", ""}},
		{sharing, "ListGrants", []string{personID(123), "", ""}},
		{sharing, "AccessLog", []string{rawCredit, "", ""}},
	} {
		if _, err := q.c.EvaluateTransaction(q.fn, q.args...); err == nil || wireCode(err) != wire.CodeInvalid {
			t.Fatalf("%s with a raw ID number: %v", q.fn, err)
		}
	}
}

// testBlockFilesHoldNoPersonalData scans every block file of both channels on disk
// (each peer's and orderer's ledger folder under the network's home) for the ID
// numbers, credit codes, names and note texts the end-to-end test used, as UTF-8 bytes:
// there must be none. So that it cannot pass by reading nothing, it requires a
// non-trivial amount of block data per channel and finds markers that must be there: a
// subject's pseudonym (records on municipal, grants on datashare) and MSP IDs.
func testBlockFilesHoldNoPersonalData(t *testing.T, e *env) {
	health := e.keys.Departments["health"]
	baby := e.resolve(health, personID(1)) // the newborn of testNewborn: records and a grant
	// Every ID number the tests resolve is personID(n) = "11010120261120" + 3 digits +
	// check: that prefix covers all of them.
	forbidden := []string{"11010120261120", personID(1), personID(123), rawCredit, personName, newbornNote, "母亲王芳", "王芳", householdNote, "guardian of"}
	markers := map[string][]string{
		"municipal": {baby, "HealthMSP", "birth-medical-certificate"},
		"datashare": {baby, "SocialSecurityMSP", "social-insurance-enrolment"},
	}
	for channel, want := range markers {
		var files []string
		err := filepath.WalkDir(e.n.Home(), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasPrefix(d.Name(), "blockfile_") && filepath.Base(filepath.Dir(path)) == channel {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		peerFiles := 0
		var total int64
		found := map[string]int{}
		for _, f := range files {
			if strings.Contains(f, filepath.Join("ledgersData", "chains", "chains", channel)) {
				peerFiles++
			}
			b, err := readAll(f)
			if err != nil {
				t.Fatal(err)
			}
			total += int64(len(b))
			for _, s := range forbidden {
				if i := bytes.Index(b, []byte(s)); i >= 0 {
					t.Errorf("%s: personal data %q at byte %d of %s", channel, s, i, f)
				}
			}
			for _, m := range want {
				found[m] += bytes.Count(b, []byte(m))
			}
		}
		t.Logf("%s: %d block files (%d of peers), %d bytes scanned, markers %v", channel, len(files), peerFiles, total, found)
		if peerFiles < 3 || total < 64<<10 {
			t.Fatalf("%s: only %d peer block files and %d bytes: the scan would prove nothing", channel, peerFiles, total)
		}
		for _, m := range want {
			if found[m] == 0 {
				t.Fatalf("%s: marker %q not found in the block files: the scan reads the wrong bytes", channel, m)
			}
		}
	}
}

func readAll(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
