package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/service"
)

// cliBasePort is this package's network. Ports 23000-23400 belong to cmd/edossierctl:
// other top-level tests here must start their own network at 23100, 23200 or 23300.
const cliBasePort = 23000

// TestCLI runs every edossierctl command that talks to the gateway against one real
// network and gateway, shared by the subtests.
func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Fabric network")
	}
	t.Run("usage errors", testUsage) // before the network: no gateway needed
	e := startCLIEnv(t, cliBasePort)
	t.Setenv(envGateway, e.url)
	for _, k := range []string{envAPIKey, envAPIKeyFile, envSubjectKey, envSubject} {
		t.Setenv(k, "")
	}
	steps := []struct {
		name string
		f    func(*testing.T, *cliEnv)
	}{
		{"keygen", testKeygen},
		{"admin", testAdmin},
		{"records", testRecords},
		{"citizen grant flow", testGrantFlow},
		{"verify", testVerify},
		{"matters", testMatters},
		{"guardian and consent", testGuardianAndConsent},
		{"errors", testErrors},
		{"binary exit codes", testBinary},
		{"tutorial", testTutorial},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.f(t, e) }) {
			t.Logf("subtest %s failed; continuing with the others", s.name)
		}
	}
}

func testUsage(t *testing.T) {
	e := &cliEnv{}
	t.Setenv(envAPIKey, "")
	t.Setenv(envAPIKeyFile, "")
	t.Setenv(envSubjectKey, "")
	t.Setenv(envGateway, "http://127.0.0.1:1") // nothing listens: usage errors never get there
	dir := t.TempDir()
	file := filepath.Join(dir, "doc.txt")
	os.WriteFile(file, []byte("x"), 0o600)
	cases := []struct {
		want string
		args []string
	}{
		{"needs --out", []string{"keygen"}},
		{"needs --subject, --type", []string{"append", "--api-key", "k", file}},
		{"takes one FILE", []string{"append", "--api-key", "k", "--subject", "s", "--type", "t", "--note", "x"}},
		{"--valid-until must be", []string{"append", "--api-key", "k", "--subject", "s", "--type", "t", "--note", "x", "--valid-until", "tomorrow", file}},
		{"needs an API key", []string{"append", "--subject", "s", "--type", "t", "--note", "x", file}},
		{"unknown flag", []string{"append", "--no-such-flag"}},
		{"--output must be text or json", []string{"show", "--api-key", "k", "r-1", "-o", "yaml"}},
		{"takes one record ID", []string{"show", "--api-key", "k"}},
		{"not both", []string{"verify", file, "--cid", "bafy"}},
		{"needs a FILE or --cid", []string{"verify"}},
		{"--kind must be person or enterprise", []string{"resolve", "--api-key", "k", "--kind", "alien", "--id-number", "1"}},
		{"needs a scope", []string{"grant", "--key", file, "--grantee", "X", "--purpose", "p"}},
		{"--days must be", []string{"grant", "--key", file, "--grantee", "X", "--purpose", "p", "--types", "a", "--days", "0"}},
		{"needs the subject key", []string{"grant", "--grantee", "X", "--purpose", "p", "--types", "a"}},
		{"needs --grant, --purpose", []string{"read", "--api-key", "k", "r-1"}},
		{"needs --out FILE", []string{"read", "--api-key", "k", "r-1", "--grant", "g", "--purpose", "p", "-o", "json"}},
		{"--page-size must be", []string{"list", "--api-key", "k", "s-1", "--page-size", "500"}},
		{"unknown command", []string{"admin", "nope"}},
		{"needs --msp, --type", []string{"admin", "accredit", "--api-key", "k"}},
		{"--role must be", []string{"admin", "user", "add", "--api-key", "k", "--org", "health", "--user", "u", "--role", "root"}},
		{"invalid argument", []string{"grant", "--days", "many"}},
		{"give one form", []string{"grant", "--key", file, "--matter", "newborn", "--grantee", "X"}},
		{"give one form", []string{"grant", "--key", file, "--part", "A:t:p", "--types", "t"}},
		{"want MSPID:TYPE[,TYPE..]:PURPOSE", []string{"grant", "--key", file, "--part", "HealthMSP:vaccination-record"}},
		{"the version after @ must be", []string{"grant", "--key", file, "--matter", "newborn@latest"}},
		{"--matter asks for the matter's parts", []string{"consent", "ask", "--api-key", "k", "--subject", "s", "--reference", "r", "--matter", "newborn", "--purpose", "p"}},
	}
	for _, c := range cases {
		r := e.ctl(t, c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) || !strings.HasPrefix(r.stderr, "edossierctl: ") {
			t.Errorf("want exit 2 with %q:\n%s", c.want, r)
		}
		if r.stdout != "" {
			t.Errorf("usage error printed on stdout:\n%s", r)
		}
	}
	// Help is not an error, and every command has examples.
	r := e.ctl(t, "verify", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "3 not verified") {
		t.Errorf("verify --help:\n%s", r)
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !c.HasSubCommands() && c.Example == "" {
			t.Errorf("command %q has no examples", c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	for _, c := range ledgerCommands() {
		walk(c)
	}
}

func testKeygen(t *testing.T, e *cliEnv) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "me.key")
	pubPath := filepath.Join(dir, "me.pub")
	r := e.ok(t, "keygen", "--out", keyPath, "--subject", "s-test-subject", "--public-out", pubPath)
	st, err := os.Stat(keyPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	b, _ := os.ReadFile(keyPath)
	key, subject, err := client.ParseSubjectKey(b)
	if err != nil || subject != "s-test-subject" {
		t.Fatalf("key file: subject %q, %v\n%s", subject, err, b)
	}
	if !bytes.Contains(b, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Fatalf("not PKCS#8 PEM:\n%s", b)
	}
	pemText, _, err := client.PublicKeyPEM(&key.PublicKey)
	if err != nil || r.stdout != pemText {
		t.Fatalf("stdout is not the public key PEM (%v):\n%s\nwant\n%s", err, r.stdout, pemText)
	}
	if pub, _ := os.ReadFile(pubPath); string(pub) != pemText {
		t.Fatalf("--public-out file differs:\n%s", pub)
	}
	if _, _, _, err := wire.ParseSubjectPublicKey(r.stdout); err != nil {
		t.Fatalf("public key refused by the ledger's parser: %v", err)
	}

	// Never overwrites: the key stays as it was.
	e.fails(t, exitFailure, "refusing to overwrite", "keygen", "--out", keyPath)
	if again, _ := os.ReadFile(keyPath); !bytes.Equal(again, b) {
		t.Fatal("keygen changed an existing key file")
	}
	// Nor a public key file (and then it writes no private key either).
	other := filepath.Join(dir, "other.key")
	e.fails(t, exitFailure, "refusing to overwrite", "keygen", "--out", other, "--public-out", pubPath)
	if _, err := os.Stat(other); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("keygen wrote %s although it refused: %v", other, err)
	}

	var res keygenResult
	e.okJSON(t, &res, "keygen", "--out", filepath.Join(dir, "json.key"))
	if res.KeyFile == "" || len(res.KeyID) != 64 || !strings.Contains(res.PublicKeyPEM, "PUBLIC KEY") || res.SubjectID != "" {
		t.Fatalf("json: %+v", res)
	}
}

func testAdmin(t *testing.T, e *cliEnv) {
	op := e.as("operator")
	r := e.ok(t, "admin", "registry", op)
	for _, want := range []string{"HealthMSP", "SocialSecurityMSP", "CivilAffairsMSP", "birth-medical-certificate", "household-register"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("registry lacks %s:\n%s", want, r)
		}
	}
	var reg service.Registry
	e.okJSON(t, &reg, "admin", "registry", e.as("health")) // departments may read it
	if len(reg.Departments) < 3 || len(reg.RecordTypes) < 5 || len(reg.Accreditations) < 5 {
		t.Fatalf("registry json: %+v", reg)
	}

	// A verifier key: issued, listed (never with hashes), used, revoked.
	r = e.ok(t, "admin", "verifier", "add", op, "--name", "city-bank", "--label", "loans desk")
	bankKey := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(bankKey, "edk_") || !strings.Contains(r.stderr, "verifier city-bank") {
		t.Fatalf("verifier add:\n%s", r)
	}
	var keys []service.APIKey
	e.okJSON(t, &keys, "admin", "api-key", "list", op)
	bankID := ""
	for _, k := range keys {
		if k.Verifier == "city-bank" {
			bankID = k.ID
		}
	}
	if bankID == "" {
		t.Fatalf("key list: %+v", keys)
	}
	if r = e.ok(t, "admin", "api-key", "list", op); strings.Contains(r.stdout, "hash") || !strings.Contains(r.stdout, "city-bank") {
		t.Fatalf("key list text:\n%s", r)
	}
	e.okJSON(t, &keys, "admin", "api-key", "list", e.as("health"))
	for _, k := range keys {
		if k.MSPID != "HealthMSP" || k.Role != gateway.RoleDepartment {
			t.Fatalf("health sees another organisation's key: %+v", k)
		}
	}
	e.fails(t, exitFailure, "edossierctl: forbidden: ", "admin", "api-key", "revoke", e.as("health"), bankID)
	r = e.ok(t, "admin", "api-key", "revoke", op, bankID)
	if !strings.Contains(r.stdout, "key "+bankID+" (verifier") || !strings.Contains(r.stdout, "revoked") {
		t.Fatalf("key revoke:\n%s", r)
	}
	e.fails(t, exitFailure, "edossierctl: unauthorized: ", "admin", "api-key", "list", "--api-key", bankKey)

	// A new department, a record type, an accreditation, and their withdrawal.
	var dep service.AdminResult[wire.Department]
	e.okJSON(t, &dep, "admin", "department", "add", op, "--msp", "TaxBureauMSP", "--name", "Tax Bureau", "--code", "tax")
	if dep.Value.MSPID != "TaxBureauMSP" || !dep.Value.Active || dep.Receipt.TxID == "" {
		t.Fatalf("department add: %+v", dep)
	}
	r = e.ok(t, "admin", "record-type", "add", op, "--code", "tax-certificate", "--name", "Tax certificate")
	if !strings.Contains(r.stdout, "record type tax-certificate defined") {
		t.Fatalf("record-type add:\n%s", r)
	}
	var acc service.AdminResult[wire.Accreditation]
	e.okJSON(t, &acc, "admin", "accredit", op, "--msp", "TaxBureauMSP", "--type", "tax-certificate")
	if !acc.Value.Active {
		t.Fatalf("accredit: %+v", acc)
	}
	r = e.ok(t, "admin", "unaccredit", op, "--msp", "TaxBureauMSP", "--type", "tax-certificate")
	if !strings.Contains(r.stdout, "TaxBureauMSP may issue tax-certificate: no") {
		t.Fatalf("unaccredit:\n%s", r)
	}
	r = e.ok(t, "admin", "department", "deactivate", op, "TaxBureauMSP")
	if !strings.Contains(r.stdout, "deactivated") {
		t.Fatalf("deactivate:\n%s", r)
	}
	e.okJSON(t, &reg, "admin", "registry", op)
	found := false
	for _, d := range reg.Departments {
		if d.MSPID == "TaxBureauMSP" {
			found = true
			if d.Active {
				t.Fatalf("TaxBureauMSP still active: %+v", d)
			}
		}
	}
	if !found {
		t.Fatal("TaxBureauMSP not in the registry")
	}

	// A department key cannot administer: the gateway's problem code reaches stderr.
	r = e.fails(t, exitFailure, "edossierctl: forbidden: ", "admin", "record-type", "add", e.as("health"), "--code", "x", "--name", "y")
	if r.stdout != "" {
		t.Fatalf("refusal printed on stdout:\n%s", r)
	}

	// A new user: the key alone on stdout, and it works.
	r = e.ok(t, "admin", "user", "add", op, "--org", "health", "--user", "clerk2", "--label", "cli test")
	apiKey := strings.TrimSpace(r.stdout)
	if apiKey == "" || strings.Contains(apiKey, "\n") || !strings.Contains(r.stderr, "shown only now") {
		t.Fatalf("user add:\n%s", r)
	}
	t.Setenv(envAPIKey, apiKey) // the environment variable as the only credential
	r = e.ok(t, "resolve", "--id-number", personID(901))
	if !strings.HasPrefix(strings.TrimSpace(r.stdout), "p-") {
		t.Fatalf("resolve with the new user's key:\n%s", r)
	}
	t.Setenv(envAPIKey, "")
	var nu service.NewUser
	e.okJSON(t, &nu, "admin", "user", "add", op, "--org", "social", "--user", "clerk3")
	if nu.MSPID != "SocialSecurityMSP" || nu.APIKey == "" || nu.Role != "department" {
		t.Fatalf("user add json: %+v", nu)
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func testRecords(t *testing.T, e *cliEnv) {
	dir := t.TempDir()
	health, civil := e.as("health"), e.as("civil")
	subject := strings.TrimSpace(e.ok(t, "resolve", health, "--kind", "person", "--id-number", personID(201)).stdout)
	var resolved map[string]string
	e.okJSON(t, &resolved, "resolve", civil, "--id-number", personID(201))
	if resolved["subjectId"] != subject || subject == "" {
		t.Fatalf("resolve not stable: %q vs %q", resolved["subjectId"], subject)
	}

	// append: text, json, quiet, idempotent retry.
	vacc := writeFile(t, dir, "dose1.pdf", []byte("%PDF-1.7 vaccination record, dose 1\n"))
	r := e.ok(t, "append", health, "--subject", subject, "--type", "vaccination-record", "--note", "Vaccination, dose 1", vacc)
	if !strings.Contains(r.stdout, "appended") || !strings.Contains(r.stdout, "application/pdf") || !strings.Contains(r.stdout, "municipal tx") {
		t.Fatalf("append:\n%s", r)
	}
	var first client.RecordResult
	e.okJSON(t, &first, "append", health, "--subject", subject, "--type", "vaccination-record", "--note", "Vaccination, dose 2",
		"--valid-until", "2036-01-01T00:00:00+08:00", "--idempotency-key", "cli-test-dose-2", writeFile(t, dir, "dose2.pdf", []byte("dose 2")))
	if !first.Created || first.Record.ValidUntil != "2035-12-31T16:00:00Z" || first.Record.Issuer != "HealthMSP" {
		t.Fatalf("append json: %+v", first)
	}
	var again client.RecordResult
	e.okJSON(t, &again, "append", health, "--subject", subject, "--type", "vaccination-record", "--note", "Vaccination, dose 2",
		"--valid-until", "2036-01-01T00:00:00+08:00", "--idempotency-key", "cli-test-dose-2", filepath.Join(dir, "dose2.pdf"))
	if again.Created || again.Record.RecordID != first.Record.RecordID || again.Receipt != first.Receipt {
		t.Fatalf("idempotent retry: %+v, first %+v", again, first)
	}
	household := writeFile(t, dir, "household.txt", []byte("household register of the family"))
	houseID := strings.TrimSpace(e.ok(t, "append", civil, "--subject", subject, "--type", "household-register", "--note", "Household register", household, "-q").stdout)
	if !strings.HasPrefix(houseID, "r-") {
		t.Fatalf("append -q printed %q", houseID)
	}

	// A larger file, streamed from standard input (chunked) and from a file (sized).
	big := make([]byte, 6<<20)
	rand.Read(big)
	var fromStdin client.RecordResult
	r = e.ctlIn(t, bytes.NewReader(big), "append", health, "--subject", subject, "--type", "vaccination-record",
		"--note", "Scan", "--media-type", "image/tiff", "-", "-o", "json")
	if r.code != 0 {
		t.Fatalf("append from stdin:\n%s", r)
	}
	json.Unmarshal([]byte(r.stdout), &fromStdin)
	bigCID := wire.CIDFromSHA256(sha(big)).String()
	if fromStdin.Record.Size != int64(len(big)) || fromStdin.Record.CID != bigCID || fromStdin.Record.MediaType != "image/tiff" {
		t.Fatalf("stdin append: %+v", fromStdin.Record)
	}

	// show, list (all pages, by type, one page).
	r = e.ok(t, "show", health, first.Record.RecordID)
	if !strings.Contains(r.stdout, "Vaccination, dose 2") || !strings.Contains(r.stdout, first.Record.CID) {
		t.Fatalf("show:\n%s", r)
	}
	var rec wire.Record
	e.okJSON(t, &rec, "show", health, first.Record.RecordID)
	if rec != first.Record {
		t.Fatalf("show json %+v, want %+v", rec, first.Record)
	}
	e.fails(t, exitFailure, "edossierctl: not_found: ", "show", civil, first.Record.RecordID) // not civil's, no grant
	var page service.RecordPage
	e.okJSON(t, &page, "list", health, subject)
	if len(page.Records) != 3 || page.Bookmark != "" {
		t.Fatalf("health sees %d records (want its 3): %+v", len(page.Records), page)
	}
	e.okJSON(t, &page, "list", e.as("operator"), subject)
	if len(page.Records) != 4 {
		t.Fatalf("operator sees %d records, want 4", len(page.Records))
	}
	e.okJSON(t, &page, "list", e.as("operator"), subject, "--type", "household-register")
	if len(page.Records) != 1 || page.Records[0].RecordID != houseID {
		t.Fatalf("list --type: %+v", page)
	}
	r = e.ok(t, "list", e.as("operator"), subject, "--page-size", "1")
	if strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stderr, "--bookmark ") {
		t.Fatalf("one page of 1:\n%s", r)
	}
	bookmark := strings.TrimSpace(r.stderr[strings.LastIndex(r.stderr, "--bookmark ")+len("--bookmark "):])
	e.okJSON(t, &page, "list", e.as("operator"), subject, "--page-size", "2", "--bookmark", bookmark)
	if len(page.Records) != 2 {
		t.Fatalf("second page: %+v", page)
	}
	r = e.ok(t, "list", health, subject)
	if !strings.Contains(r.stdout, "RECORD") || strings.Count(r.stdout, "vaccination-record") != 3 {
		t.Fatalf("list text:\n%s", r)
	}

	// supersede (subject, type, note taken from the old record), then revoke.
	v2 := writeFile(t, dir, "dose1-corrected.pdf", []byte("%PDF-1.7 vaccination record, dose 1, corrected batch number\n"))
	var sup service.SupersedeResult
	e.okJSON(t, &sup, "supersede", health, first.Record.RecordID, v2)
	if sup.Superseded.Status != "superseded" || sup.Record.Supersedes != first.Record.RecordID ||
		sup.Record.NoteCID == "" || sup.Record.NoteCID == first.Record.NoteCID || sup.Record.SubjectID != subject {
		t.Fatalf("supersede: %+v", sup)
	}
	r = e.ok(t, "supersede", health, sup.Record.RecordID, "--note", "Vaccination, dose 2 (v3)", vacc)
	if !strings.Contains(r.stdout, "superseded by") {
		t.Fatalf("supersede text:\n%s", r)
	}
	e.fails(t, exitFailure, "edossierctl: ", "supersede", civil, sup.Record.RecordID, v2) // not civil's record
	var rev client.RecordResult
	e.okJSON(t, &rev, "revoke", civil, houseID, "--reason", "data-correction")
	if rev.Record.Status != "revoked" || rev.Record.Reason != "data-correction" {
		t.Fatalf("revoke: %+v", rev)
	}
	e.fails(t, exitFailure, "edossierctl: ", "revoke", health, fromStdin.Record.RecordID+"x", "--reason", "issued-in-error")
	r = e.ok(t, "revoke", health, fromStdin.Record.RecordID, "--reason", "withdrawn-by-issuer")
	if !strings.Contains(r.stdout, "revoked") || !strings.Contains(r.stdout, "withdrawn-by-issuer") {
		t.Fatalf("revoke text:\n%s", r)
	}
}

// testGrantFlow is the citizen grant flow end to end, only through the CLI.
func testGrantFlow(t *testing.T, e *cliEnv) {
	dir := t.TempDir()
	health, social, op := e.as("health"), e.as("social"), e.as("operator")
	subject := strings.TrimSpace(e.ok(t, "resolve", op, "--id-number", personID(301)).stdout)

	// The citizen makes a key and a signed request; the identity authority's clerk
	// submits it (the operator cannot).
	keyPath := filepath.Join(dir, "citizen.key")
	e.ok(t, "keygen", "--out", keyPath, "--subject", subject)
	reqPath := filepath.Join(dir, "bind.json")
	e.ok(t, "key", "request", "--key", keyPath, "--out", reqPath)
	e.fails(t, exitFailure, "edossierctl: forbidden: ", "key", "submit", op, "--request", reqPath)
	var bound service.KeyResult
	e.okJSON(t, &bound, "key", "submit", e.as("police"), "--request", reqPath)
	if bound.Key.Status != wire.KeyActive || bound.Key.SubjectID != subject || bound.Key.AddedBy != "attestation:PublicSecurityMSP" {
		t.Fatalf("bind: %+v", bound)
	}
	e.fails(t, exitFailure, "edossierctl: conflict: ", "key", "submit", e.as("police"), "--request", reqPath) // used once

	// Health appends a birth certificate.
	birth := []byte("%PDF-1.7 birth medical certificate, Health Commission\n")
	birthPath := writeFile(t, dir, "birth.pdf", birth)
	recordID := strings.TrimSpace(e.ok(t, "append", health, "--subject", subject, "--type", "birth-medical-certificate",
		"--note", "Birth medical certificate", birthPath, "-q").stdout)

	// Before any grant, social cannot see or read it.
	e.fails(t, exitFailure, "edossierctl: not_found: ", "show", social, recordID)

	// The citizen grants social access (the key file names the subject).
	purpose := "social-insurance-enrolment"
	var grant service.GrantResult
	e.okJSON(t, &grant, "grant", "--key", keyPath, "--grantee", "SocialSecurityMSP", "--types", "birth-medical-certificate",
		"--purpose", purpose, "--days", "30")
	g := grant.Grant
	if g.Status != "active" || g.SubjectID != subject || g.Grantee != "SocialSecurityMSP" || grant.Receipt.Channel != "datashare" ||
		!strings.HasPrefix(g.GrantID, "g-") {
		t.Fatalf("grant: %+v", grant)
	}
	from, _ := time.Parse(time.RFC3339Nano, g.Grant.ValidFrom)
	until, _ := time.Parse(time.RFC3339Nano, g.Grant.ExpiresAt)
	if d := until.Sub(from); d < 30*24*time.Hour || d > 30*24*time.Hour+2*time.Minute {
		t.Fatalf("grant window %s .. %s", g.Grant.ValidFrom, g.Grant.ExpiresAt)
	}
	// A second grant by record ID with a chosen ID, text and quiet output.
	r := e.ok(t, "grant", "--key", keyPath, "--subject", subject, "--grantee", "CivilAffairsMSP", "--records", recordID,
		"--purpose", "household-registration", "--id", "g-cli-civil-1", "-q")
	if strings.TrimSpace(r.stdout) != "g-cli-civil-1" {
		t.Fatalf("grant -q:\n%s", r)
	}
	e.fails(t, exitFailure, "edossierctl: conflict: ", "grant", "--key", keyPath, "--grantee", "CivilAffairsMSP", "--records", recordID,
		"--purpose", "household-registration", "--id", "g-cli-civil-1")
	r = e.ok(t, "grants", "--key", keyPath)
	if !strings.Contains(r.stdout, g.GrantID) || !strings.Contains(r.stdout, "g-cli-civil-1") || !strings.Contains(r.stdout, "active") {
		t.Fatalf("grants:\n%s", r)
	}

	// Social lists and shows the record and reads the file, to a file and to stdout.
	var page service.RecordPage
	e.okJSON(t, &page, "list", social, subject)
	if len(page.Records) != 1 || page.Records[0].RecordID != recordID {
		t.Fatalf("social's list: %+v", page)
	}
	e.ok(t, "show", social, recordID)
	out := filepath.Join(dir, "received.pdf")
	r = e.ok(t, "read", social, recordID, "--grant", g.GrantID, "--purpose", purpose, "--out", out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, birth) {
		t.Fatalf("read wrote %q, want %q\n%s", got, birth, r)
	}
	if !strings.Contains(r.stdout, "access logged in datashare tx") {
		t.Fatalf("read text:\n%s", r)
	}
	r = e.ok(t, "read", social, recordID, "--grant", g.GrantID, "--purpose", purpose)
	if r.stdout != string(birth) || !strings.Contains(r.stderr, "access logged") {
		t.Fatalf("read to stdout:\n%s", r)
	}
	var rr readResult
	e.okJSON(t, &rr, "read", social, recordID, "--grant", g.GrantID, "--purpose", "identity-verification", "--out", filepath.Join(dir, "r3.pdf"))
	if rr.Bytes != int64(len(birth)) || rr.AccessTxID == "" || rr.AccessBlock == 0 {
		t.Fatalf("read json: %+v", rr)
	}

	// The citizen sees exactly those reads in the access log, newest first: the
	// three file reads, and before them social's metadata reads (show, list).
	var log wire.AccessPage
	e.okJSON(t, &log, "access-log", "--key", keyPath)
	var kinds []string
	for _, en := range log.Entries {
		kinds = append(kinds, en.Kind+":"+en.Action)
		if en.Org != "SocialSecurityMSP" || en.GrantID != g.GrantID || en.RecordID != recordID || en.User != "clerk" {
			t.Fatalf("access entry %+v", en)
		}
	}
	if got := strings.Join(kinds, ","); got != "file:,file:,file:,metadata:get,metadata:list" {
		t.Fatalf("access log %s: %+v", got, log)
	}
	if log.Entries[0].Purpose != "identity-verification" { // newest first
		t.Fatalf("access log order: %+v", log.Entries)
	}
	r = e.ok(t, "access-log", "--key", keyPath)
	if strings.Count(r.stdout, "SocialSecurityMSP") != 5 || !strings.Contains(r.stdout, purpose) {
		t.Fatalf("access-log text:\n%s", r)
	}
	// The key and the operator's key file from the environment.
	t.Setenv(envSubjectKey, keyPath)
	e.okJSON(t, &log, "access-log")
	if len(log.Entries) != 5 {
		t.Fatalf("access log with %s: %+v", envSubjectKey, log)
	}
	t.Setenv(envSubjectKey, "")
	t.Setenv(envAPIKeyFile, e.keyFiles["operator"])
	e.okJSON(t, &log, "access-log", subject)
	t.Setenv(envAPIKeyFile, "")
	// The operator may read it with an API key; another department may not.
	e.okJSON(t, &log, "access-log", op, subject)
	if len(log.Entries) != 5 {
		t.Fatalf("operator's view of the access log: %+v", log)
	}
	e.fails(t, exitFailure, "edossierctl: forbidden: ", "access-log", health, subject)
	// Another key cannot read this subject's log, nor sign for a subject without a key.
	otherKey := filepath.Join(dir, "other.key")
	e.ok(t, "keygen", "--out", otherKey)
	e.fails(t, exitFailure, "edossierctl: unknown_key: ", "access-log", "--key", otherKey, "--subject", subject)
	e.fails(t, exitFailure, "edossierctl: unknown_key: ", "access-log", "--key", otherKey, "--subject", "p-aaaabbbbccccddddeeeeffffgggghhhh")

	// The citizen reads its own dossier with its key, each read logged as a self access.
	var mine service.RecordPage
	e.okJSON(t, &mine, "list", "--key", keyPath)
	if len(mine.Records) == 0 {
		t.Fatalf("own dossier: %+v", mine)
	}
	var h service.HistoryResult
	e.okJSON(t, &h, "history", "--key", keyPath, recordID)
	if h.RecordID != recordID || len(h.Versions) == 0 {
		t.Fatalf("own history: %+v", h)
	}
	ownFile := filepath.Join(dir, "own.pdf")
	r = e.ok(t, "read", "--key", keyPath, recordID, "--out", ownFile)
	if b, _ := os.ReadFile(ownFile); !bytes.Equal(b, birth) {
		t.Fatalf("own file: %q\n%s", b, r)
	}
	e.okJSON(t, &log, "access-log", "--key", keyPath)
	if len(log.Entries) != 8 || log.Entries[0].Kind != wire.AccessSelf || log.Entries[0].Action != wire.SelfContent ||
		log.Entries[1].Action != wire.SelfHistory || log.Entries[2].Action != wire.SelfList {
		t.Fatalf("self accesses in the log: %+v", log.Entries)
	}
	// Another citizen's key reads nothing of it.
	e.fails(t, exitFailure, "edossierctl: unknown_key: ", "list", "--key", otherKey, "--subject", subject)
	if r = e.ctl(t, "history", health, recordID); r.code != 0 {
		t.Fatalf("issuer's history:\n%s", r)
	}

	// The citizen revokes; social's next read fails with exit 1 and writes nothing.
	r = e.ok(t, "revoke-grant", "--key", keyPath, g.GrantID, "--reason", "subject-request")
	if !strings.Contains(r.stdout, "grant "+g.GrantID+" revoked") {
		t.Fatalf("revoke-grant:\n%s", r)
	}
	refused := filepath.Join(dir, "refused", "after-revoke.pdf")
	os.MkdirAll(filepath.Dir(refused), 0o700)
	r = e.fails(t, exitFailure, "edossierctl: revoked: ", "read", social, recordID, "--grant", g.GrantID, "--purpose", purpose, "--out", refused)
	if r.stdout != "" {
		t.Fatalf("refused read printed:\n%s", r)
	}
	if ents, _ := os.ReadDir(filepath.Dir(refused)); len(ents) != 0 {
		t.Fatalf("refused read left files: %v", ents)
	}
	r = e.fails(t, exitFailure, "edossierctl: revoked: ", "read", social, recordID, "--grant", g.GrantID, "--purpose", purpose)
	if r.stdout != "" {
		t.Fatalf("refused read to stdout printed %q", r.stdout)
	}
	var grants wire.GrantPage
	e.okJSON(t, &grants, "grants", "--key", keyPath)
	for _, gs := range grants.Grants {
		if gs.GrantID == g.GrantID && (gs.Status != "revoked" || gs.RevokedAt == "") {
			t.Fatalf("grant after revocation: %+v", gs)
		}
	}
	if len(grants.Grants) != 2 {
		t.Fatalf("grants: %+v", grants)
	}
	e.okJSON(t, &grants, "grants", op, subject, "--page-size", "1")
	if len(grants.Grants) != 1 || grants.Bookmark == "" {
		t.Fatalf("one page of grants: %+v", grants)
	}
	// The access log still holds the three file reads (and the three self accesses and
	// two metadata reads) and nothing for the refused ones.
	e.okJSON(t, &log, "access-log", "--key", keyPath)
	files := 0
	for _, en := range log.Entries {
		if en.Kind == wire.AccessFile {
			files++
		}
	}
	if len(log.Entries) != 8 || files != 3 {
		t.Fatalf("access log after refusals: %d entries, %d file reads", len(log.Entries), files)
	}

	// A second device: added with the first key, which it then retires. A grant signed
	// with the retired key is refused by the chaincode.
	other := strings.TrimSpace(e.ok(t, "resolve", op, "--id-number", personID(302)).stdout)
	oldKey, newKey := filepath.Join(dir, "rot-old.key"), filepath.Join(dir, "rot-new.key")
	e.ok(t, "keygen", "--out", oldKey, "--subject", other)
	var newGen struct {
		KeyID string `json:"keyId"`
	}
	e.okJSON(t, &newGen, "keygen", "--out", newKey, "--subject", other)
	oldReq := filepath.Join(dir, "rot-bind.json")
	e.ok(t, "key", "request", "--key", oldKey, "--out", oldReq)
	e.ok(t, "key", "submit", e.as("police"), "--request", oldReq)
	var added service.KeyResult
	e.okJSON(t, &added, "key", "add", "--key", oldKey, "--new", newKey)
	if added.Key.KeyID != newGen.KeyID || added.Key.Status != wire.KeyActive {
		t.Fatalf("key add: %+v", added)
	}
	var keys wire.SubjectKeys
	e.okJSON(t, &keys, "key", "list", "--key", newKey)
	oldID := ""
	for _, k := range keys.Keys {
		if k.KeyID != newGen.KeyID {
			oldID = k.KeyID
		}
	}
	if len(keys.Keys) != 2 || oldID == "" {
		t.Fatalf("key list: %+v", keys)
	}
	e.fails(t, exitUsage, "edossierctl: ", "key", "remove", "--key", newKey, "not-a-key-id")
	r = e.ok(t, "key", "remove", "--key", newKey, oldID)
	if !strings.Contains(r.stdout, "removed") {
		t.Fatalf("key remove:\n%s", r)
	}
	e.okJSON(t, &grant, "grant", "--key", newKey, "--grantee", "SocialSecurityMSP", "--types", "vaccination-record", "--purpose", "identity-verification")
	if grant.Grant.SignerKeyID != newGen.KeyID {
		t.Fatalf("grant after rotation: %+v", grant.Grant)
	}
	// The removed key signs no grant: the gateway refuses its request (unknown_key) once
	// its follower applied the block that removed it, which is nearly always by now;
	// a request that came before is refused by the ledger (bad_signature).
	r = e.fails(t, exitFailure, "", "grant", "--key", oldKey, "--grantee", "SocialSecurityMSP", "--types", "vaccination-record", "--purpose", "identity-verification")
	if !strings.Contains(r.stderr, "edossierctl: unknown_key: ") && !strings.Contains(r.stderr, "edossierctl: bad_signature: ") {
		t.Fatalf("a removed key's grant refused as:\n%s", r)
	}
	r = e.ok(t, "key", "events", "--key", newKey)
	if !strings.Contains(r.stdout, "bound") || !strings.Contains(r.stdout, "added") || !strings.Contains(r.stdout, "removed") {
		t.Fatalf("key events:\n%s", r)
	}
}

func sha(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func testVerify(t *testing.T, e *cliEnv) {
	dir := t.TempDir()
	civil := e.as("civil")
	id := personID(401)
	subject := strings.TrimSpace(e.ok(t, "resolve", civil, "--id-number", id).stdout)
	doc := []byte("%PDF-1.7 marriage record of two citizens, Civil Affairs Bureau\n")
	docPath := writeFile(t, dir, "marriage.pdf", doc)
	var app client.RecordResult
	e.okJSON(t, &app, "append", civil, "--subject", subject, "--type", "marriage-record", "--note", "Marriage record", docPath)

	// Verified: no credentials needed, exit 0.
	r := e.ok(t, "verify", docPath)
	if !strings.HasPrefix(r.stdout, "VERIFIED  "+app.Record.CID) || !strings.Contains(r.stdout, "CivilAffairsMSP") || strings.Contains(r.stdout, subject) {
		t.Fatalf("verify:\n%s", r)
	}
	var v service.Verification
	e.okJSON(t, &v, "verify", "--cid", app.Record.CID)
	if !v.Verified || v.Status != "verified" || len(v.Records) != 1 || v.Records[0].RecordID != app.Record.RecordID {
		t.Fatalf("verify --cid: %+v", v)
	}
	// Ownership checks need an API key (department or verifier) and are logged.
	e.fails(t, exitUsage, "needs a department or verifier API key", "verify", docPath, "--kind", "person", "--id-number", id)
	r = e.ok(t, "verify", docPath, "--kind", "person", "--id-number", id, civil)
	if !strings.Contains(r.stdout, "in the named subject's dossier: yes") || !strings.Contains(r.stdout, "check logged in the subject's access log: datashare tx") {
		t.Fatalf("verify with the owner's ID number:\n%s", r)
	}
	var own wire.AccessPage
	e.okJSON(t, &own, "access-log", e.as("operator"), subject)
	if len(own.Entries) != 1 || own.Entries[0].Kind != wire.AccessOwnership || own.Entries[0].Checker != "CivilAffairsMSP" || own.Entries[0].Result != wire.OwnershipInDossier {
		t.Fatalf("owner's access log: %+v", own)
	}
	r = e.ctlIn(t, bytes.NewReader(doc), "verify", "-")
	if r.code != 0 {
		t.Fatalf("verify from stdin:\n%s", r)
	}

	// A tampered copy: exit 3, and the output says why.
	tampered := bytes.Clone(doc)
	tampered[10] ^= 1
	tamperedPath := writeFile(t, dir, "tampered.pdf", tampered)
	r = e.fails(t, exitNotVerified, "edossierctl: not_verified: not_found", "verify", tamperedPath)
	if !strings.HasPrefix(r.stdout, "NOT VERIFIED (not found)") {
		t.Fatalf("tampered:\n%s", r)
	}
	r = e.fails(t, exitNotVerified, "", "verify", tamperedPath, "-o", "json")
	json.Unmarshal([]byte(r.stdout), &v)
	if v.Verified || v.Status != "not_found" {
		t.Fatalf("tampered json: %+v", v)
	}
	// The right document, the wrong person: not verified either.
	r = e.fails(t, exitNotVerified, "not in the named subject's dossier", "verify", docPath, "--id-number", personID(402), civil)
	if !strings.Contains(r.stdout, "in the named subject's dossier: no") || !strings.HasPrefix(r.stdout, "NOT VERIFIED (not in dossier)") {
		t.Fatalf("wrong person:\n%s", r)
	}
	// An unknown but well-formed CID, and a malformed one (a failed check: exit 1).
	e.fails(t, exitNotVerified, "not_verified", "verify", "--cid", wire.CIDFromSHA256(sha([]byte("nothing"))).String())
	e.fails(t, exitFailure, "edossierctl: invalid: ", "verify", "--cid", "bafy-not-a-cid")
	e.fails(t, exitFailure, "edossierctl: invalid: ", "verify", docPath, "--id-number", "123", civil)

	// Revoked: exit 3 with the reason.
	e.ok(t, "revoke", civil, app.Record.RecordID, "--reason", "court-order")
	r = e.fails(t, exitNotVerified, "not_verified: revoked", "verify", docPath)
	if !strings.Contains(r.stdout, "NOT VERIFIED (revoked)") || !strings.Contains(r.stdout, "court-order (Court order)") {
		t.Fatalf("revoked:\n%s", r)
	}
}

func testErrors(t *testing.T, e *cliEnv) {
	// A gateway problem: "edossierctl: <code>: <detail> (request <id>)", exit 1.
	r := e.fails(t, exitFailure, "edossierctl: not_found: ", "show", e.as("health"), "r-doesnotexist")
	if !strings.Contains(r.stderr, "(request ") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("problem output:\n%s", r)
	}
	e.fails(t, exitFailure, "edossierctl: unauthorized: ", "show", "--api-key", "edk_wrong_key", "r-x")
	e.fails(t, exitFailure, "edossierctl: forbidden: ", "append", e.as("social"), "--subject", "p-aaaabbbbccccddddeeeeffffgggghhhh", "--type", "birth-medical-certificate",
		"--note", "not accredited", writeFile(t, t.TempDir(), "f.pdf", []byte("x")))
	// Unreachable gateway.
	e.fails(t, exitFailure, "edossierctl: unavailable: cannot reach the gateway at http://127.0.0.1:1", "verify", "--cid", "x", "--gateway", "127.0.0.1:1")
	// Local failures: a missing file, a broken key file.
	e.fails(t, exitFailure, "no such file", "verify", filepath.Join(t.TempDir(), "missing.pdf"))
	bad := writeFile(t, t.TempDir(), "bad.key", []byte("not a key"))
	e.fails(t, exitFailure, "no PEM block", "grants", "--key", bad, "--subject", "s-x")
}

// testBinary runs the built binary: exit codes reach the shell through main's run.
func testBinary(t *testing.T, e *cliEnv) {
	dir := t.TempDir()
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(e.ctlBin, args...)
		cmd.Env = append(os.Environ(), envGateway+"="+e.url)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}
	doc := writeFile(t, dir, "unknown.pdf", []byte("never appended "+time.Now().String()))
	code, out, errOut := run("verify", doc)
	if code != exitNotVerified || !strings.HasPrefix(out, "NOT VERIFIED") || errOut != "edossierctl: not_verified: not_found\n" {
		t.Fatalf("binary verify: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut = run("show", "--api-key", "x"); code != exitUsage {
		t.Fatalf("binary usage error: exit %d\n%s", code, errOut)
	}
	if code, _, errOut = run("show", "--api-key", "edk_wrong", "r-1"); code != exitFailure || !strings.HasPrefix(errOut, "edossierctl: unauthorized: ") {
		t.Fatalf("binary failure: exit %d\n%s", code, errOut)
	}
}

// testMatters: anyone lists the matters; only the operator defines one.
func testMatters(t *testing.T, e *cliEnv) {
	dir := t.TempDir()
	if r := e.ok(t, "matters"); !strings.Contains(r.stdout, "newborn") || !strings.Contains(r.stdout, "PublicSecurityMSP") {
		t.Fatalf("matters:\n%s", r)
	}
	var m wire.Matter
	e.okJSON(t, &m, "matters", "newborn")
	if m.Code != "newborn" || m.Version < 1 || len(m.Parts) != 4 {
		t.Fatalf("matter: %+v", m)
	}
	def := writeFile(t, dir, "m.json", []byte(`{"code":"cli-matter","name":"CLI matter","parts":[{"department":"HealthMSP","recordTypes":["vaccination-record"],"purpose":"school-enrolment"}]}`))
	e.fails(t, exitFailure, "edossierctl: forbidden: ", "admin", "matters", "define", e.as("health"), "--file", def)
	var res service.AdminResult[wire.Matter]
	e.okJSON(t, &res, "admin", "matters", "define", e.as("operator"), "--file", def)
	if res.Value.Code != "cli-matter" || res.Value.Version != 1 {
		t.Fatalf("define: %+v", res)
	}
	bad := writeFile(t, dir, "bad.json", []byte(`{"code":"cli-matter","name":"CLI matter","parts":[{"department":"HealthMSP","recordTypes":["vaccination-record"],"purpose":"a free text purpose"}]}`))
	e.fails(t, exitFailure, "edossierctl: ", "admin", "matters", "define", e.as("operator"), "--file", bad)
	e.fails(t, exitFailure, "edossierctl: not_found: ", "matters", "no-such-matter")
	e.fails(t, exitUsage, "edossierctl: ", "matters", "bad code")
}

// testGuardianAndConsent: a parent becomes a newborn's guardian at the identity
// authority's counter, the social security bureau asks for consent, the parent
// approves for the baby, and reads the baby's access log and delegations.
func testGuardianAndConsent(t *testing.T, e *cliEnv) {
	dir := t.TempDir()
	op := e.as("operator")
	parent := strings.TrimSpace(e.ok(t, "resolve", op, "--id-number", personID(311)).stdout)
	baby := strings.TrimSpace(e.ok(t, "resolve", op, "--id-number", personID(312)).stdout)
	key := filepath.Join(dir, "parent.key")
	e.ok(t, "keygen", "--out", key, "--subject", parent)
	bind := filepath.Join(dir, "bind.json")
	e.ok(t, "key", "request", "--key", key, "--out", bind)
	e.ok(t, "key", "submit", e.as("police"), "--request", bind)

	req := filepath.Join(dir, "guardian.json")
	until := time.Now().AddDate(18, 0, 0).Format("2006-01-02")
	e.fails(t, exitUsage, "edossierctl: ", "delegation", "request", "--key", key, "--for", baby, "--until", "soon")
	e.ok(t, "delegation", "request", "--key", key, "--for", baby, "--until", until, "--out", req)
	e.fails(t, exitFailure, "edossierctl: forbidden: ", "delegation", "submit", op, "--request", req)
	var d service.DelegationResult
	e.okJSON(t, &d, "delegation", "submit", e.as("police"), "--request", req)
	if d.Delegation.DelegateID != parent || d.Delegation.SubjectID != baby || d.Delegation.AttestedBy != "PublicSecurityMSP" {
		t.Fatalf("delegation: %+v", d)
	}
	if r := e.ok(t, "delegation", "list", "--key", key, baby); !strings.Contains(r.stdout, d.Delegation.DelegationID) {
		t.Fatalf("delegation list:\n%s", r)
	}

	// The bureau asks; the parent approves for the baby.
	var asked service.ConsentRequestResult
	e.okJSON(t, &asked, "consent", "ask", e.as("social"), "--subject", baby, "--types", "birth-medical-certificate",
		"--purpose", "social-insurance-enrolment", "--reference", "app-2026-0312")
	if r := e.ok(t, "consent", "list", "--key", key, baby); !strings.Contains(r.stdout, asked.Request.RequestID) || !strings.Contains(r.stdout, "pending") {
		t.Fatalf("consent list:\n%s", r)
	}
	var g service.GrantResult
	e.okJSON(t, &g, "consent", "approve", "--key", key, "--for", baby, asked.Request.RequestID)
	if g.Grant.SubjectID != baby || g.Grant.SignedBy != parent || g.Grant.Grantee != "SocialSecurityMSP" {
		t.Fatalf("approved grant: %+v", g.Grant)
	}
	if r := e.ok(t, "consent", "status", e.as("social"), asked.Request.RequestID); !strings.Contains(r.stdout, "approved") {
		t.Fatalf("consent status:\n%s", r)
	}
	e.fails(t, exitFailure, "edossierctl: conflict: ", "consent", "approve", "--key", key, "--for", baby, asked.Request.RequestID)
	e.ok(t, "access-log", "--key", key, baby)
	// One grant for the newborn matter, and a free combination of two departments,
	// each signed once by the parent for the baby.
	mg := strings.TrimSpace(e.ok(t, "grant", "--key", key, "--for", baby, "--matter", "newborn", "-q").stdout)
	fg := strings.TrimSpace(e.ok(t, "grant", "--key", key, "--for", baby, "--part", "SocialSecurityMSP:birth-medical-certificate:social-insurance-enrolment",
		"--part", "HealthMSP:household-register:child-health-record", "-q").stdout)
	e.fails(t, exitFailure, "edossierctl: not_found: ", "grant", "--key", key, "--for", baby, "--matter", "newborn@99")
	if r := e.ok(t, "grants", "--key", key, baby); !strings.Contains(r.stdout, mg) || !strings.Contains(r.stdout, "matter newborn@") ||
		!strings.Contains(r.stdout, fg) || !strings.Contains(r.stdout, "2 parts") || !strings.Contains(r.stdout, "HealthMSP,SocialSecurityMSP") {
		t.Fatalf("grants:\n%s", r)
	}
	e.ok(t, "revoke-grant", "--key", key, "--for", baby, mg)
	if r := e.ok(t, "access-log", "--key", key, baby, "--by-grant", "-o", "json"); !strings.Contains(r.stdout, `"groups"`) {
		t.Fatalf("access-log --by-grant:\n%s", r)
	}
	// The parent lists the baby's dossier and reads its file, each read signed with the
	// parent's key and logged in the baby's log as the guardian's, never as the baby's.
	birth := []byte("%PDF-1.7 the baby's birth certificate, read by its guardian\n")
	var br client.RecordResult
	e.okJSON(t, &br, "append", e.as("health"), "--subject", baby, "--type", "birth-medical-certificate", writeFile(t, dir, "birth.pdf", birth))
	if r := e.ok(t, "list", "--key", key, "--for", baby); !strings.Contains(r.stdout, br.Record.RecordID) {
		t.Fatalf("the guardian's list:\n%s", r)
	}
	out := filepath.Join(dir, "baby.pdf")
	e.ok(t, "read", br.Record.RecordID, "--key", key, "--for", baby, "--out", out)
	if got, err := os.ReadFile(out); err != nil || string(got) != string(birth) {
		t.Fatalf("the guardian's read: %q %v", got, err)
	}
	e.fails(t, exitUsage, "edossierctl: ", "read", br.Record.RecordID, "--key", key, "--for", baby, "--grant", "g-x", "--purpose", "p", "--out", out+"2")
	var blog wire.AccessPage
	e.okJSON(t, &blog, "access-log", "--key", key, baby)
	delegateReads := 0
	for _, a := range blog.Entries {
		if a.Kind == wire.AccessSelf {
			t.Fatalf("a guardian's read logged as the baby's own: %+v", a)
		}
		if a.Kind == wire.AccessDelegate && a.DelegateID == parent && a.DelegationID == d.Delegation.DelegationID {
			delegateReads++
		}
	}
	if delegateReads != 2 {
		t.Fatalf("%d delegate reads in the baby's log, want 2 (list, file): %+v", delegateReads, blog.Entries)
	}
	// The bureau lists all its requests, across subjects, by status.
	if r := e.ok(t, "consent", "sent", e.as("social"), "--status", "approved"); !strings.Contains(r.stdout, asked.Request.RequestID) {
		t.Fatalf("consent sent:\n%s", r)
	}
	if r := e.ok(t, "consent", "sent", e.as("health")); strings.Contains(r.stdout, asked.Request.RequestID) {
		t.Fatalf("health lists social's request:\n%s", r)
	}
	e.fails(t, exitUsage, "edossierctl: ", "consent", "sent", e.as("social"), "--status", "lost")
	// The parent ends the relation; its key no longer acts for the baby.
	e.ok(t, "delegation", "revoke", "--key", key, baby, d.Delegation.DelegationID)
	e.fails(t, exitFailure, "edossierctl: forbidden: ", "access-log", "--key", key, baby)
	e.fails(t, exitFailure, "edossierctl: forbidden: ", "list", "--key", key, "--for", baby)
}
