package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/edossier-city/edossier/gateway"
)

// testCorruptRead: on the real network, files whose blob was damaged on disk after the
// append (a ciphertext byte of a small file, the last byte of a 900 KiB file, another
// blob's file under the name) are answered 500 blob_corrupt under a live grant, with no
// byte of the file; edossier_blob_corrupt_total counts them; an intact file still reads.
// (Damage past the first MiB of a larger file aborts the connection instead: see
// TestCorruptBlobReads, which needs no network.)
func testCorruptRead(t *testing.T, e *env, health, social string) {
	subject := e.resolve(health, personID(7))
	citizen := newCitizen(t, subject)
	e.bindKey(citizen)
	files := map[string][]byte{
		"small":  randomBytes(195),
		"medium": randomBytes(900 << 10),
		"swap":   randomBytes(300),
		"other":  randomBytes(300),
		"intact": randomBytes(195),
	}
	recs := map[string]recordResult{}
	for name, data := range files {
		r := e.appendRecord(health, subject, "birth-medical-certificate", "", data, "")
		expectStatus(t, r, 201)
		var rec recordResult
		r.json(t, &rec)
		recs[name] = rec
	}
	now := time.Now()
	r := e.do(e.signed(citizen, "POST", "/v1/dossiers/"+subject+"/grants",
		citizen.grant(t, "g-corrupt", "SocialSecurityMSP", "social-insurance-enrolment", []string{"birth-medical-certificate"}, now.Add(-time.Minute), now.Add(time.Hour)), time.Now()))
	expectStatus(t, r, 201)

	path := func(name string) string {
		m, _ := filepath.Glob(filepath.Join(e.g.cfg.DataDir, "blobs", "blobs", "*", recs[name].Record.CID+".blob"))
		if len(m) != 1 {
			t.Fatalf("blob file of %s: %v", name, m)
		}
		return m[0]
	}
	flipByte(t, path("small"), 1024+10)
	fi, err := os.Stat(path("medium"))
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, path("medium"), fi.Size()-1)
	other, err := os.ReadFile(path("other"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path("swap"), other, 0o600); err != nil {
		t.Fatal(err)
	}

	read := func(name string) *response {
		return e.jsonCall("GET", "/v1/records/"+recs[name].Record.RecordID+"/content?grantId=g-corrupt&purpose=social-insurance-enrolment", social, nil)
	}
	for _, name := range []string{"small", "medium", "swap"} {
		r := read(name)
		expectProblem(t, r, 500, gateway.CodeBlobCorrupt)
		if bytes.Contains(r.body, files[name][:16]) || bytes.Contains(r.body, files["other"][:16]) {
			t.Fatalf("%s: file bytes in the problem", name)
		}
	}
	if r := read("intact"); r.status != 200 || !bytes.Equal(r.body, files["intact"]) {
		t.Fatalf("intact file: %d, %d bytes", r.status, len(r.body))
	}
	r = e.do(e.request("GET", "/metrics", "", nil, ""))
	expectStatus(t, r, 200)
	if m := regexp.MustCompile(`(?m)^edossier_blob_corrupt_total (\S+)$`).FindSubmatch(r.body); m == nil || string(m[1]) != "3" {
		t.Fatalf("edossier_blob_corrupt_total: %q", m)
	}
}
