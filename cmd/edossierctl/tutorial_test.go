package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tutorialBlock is one ```sh block of docs/tutorial.md.
type tutorialBlock struct {
	line int // of the opening fence
	code string
	skip string // reason from a preceding "<!-- skip-test: reason -->" line
}

// tutorialBlocks extracts the sh blocks of a markdown file.
func tutorialBlocks(path string) ([]tutorialBlock, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var blocks []tutorialBlock
	var cur *tutorialBlock
	skip := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch {
		case cur != nil && trim == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.code += line + "\n"
		case trim == "```sh":
			cur = &tutorialBlock{line: n, skip: skip}
			skip = ""
		case strings.HasPrefix(trim, "<!-- skip-test:"):
			skip = strings.TrimSuffix(strings.TrimPrefix(trim, "<!-- skip-test:"), "-->")
		case trim != "":
			skip = ""
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: unterminated code block", path, cur.line)
	}
	return blocks, sc.Err()
}

// testTutorial runs docs/tutorial.md: every sh block not marked skip-test, in order,
// in one bash script, in a folder laid out like the repository after `make run`
// (.edossier/bin/edossierctl, .edossier/gateway/demo-keys.json), against the test
// gateway (EDOSSIER_GATEWAY).
func testTutorial(t *testing.T, e *cliEnv) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("the tutorial uses jq, which is not installed: run make deps (make test does)")
	}
	blocks, err := tutorialBlocks(filepath.Join(e.n.Root, "docs", "tutorial.md"))
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	run, skipped := 0, 0
	for _, b := range blocks {
		if b.skip != "" {
			skipped++
			if !strings.Contains(b.code, "make ") {
				t.Errorf("tutorial.md:%d: only the make blocks may be skipped, not:\n%s", b.line, b.code)
			}
			continue
		}
		run++
		fmt.Fprintf(&script, "echo '>>> tutorial.md:%d'\n%s", b.line, b.code)
	}
	if run < 10 || skipped != 2 {
		t.Fatalf("tutorial has %d tested and %d skipped blocks", run, skipped)
	}
	work := t.TempDir()
	for _, d := range []string{".edossier/bin", ".edossier/gateway"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(e.ctlBin, filepath.Join(work, ".edossier/bin/edossierctl")); err != nil {
		t.Fatal(err)
	}
	keys, err := os.ReadFile(e.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, ".edossier/gateway/demo-keys.json"), keys, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = work
	cmd.Env = append(os.Environ(), envGateway+"="+e.url, envAPIKey+"=", envAPIKeyFile+"=", envSubjectKey+"=", envSubject+"=", "HOME="+work)
	out, err := cmd.CombinedOutput()
	t.Logf("tutorial output:\n%s", out)
	if err != nil {
		t.Fatalf("tutorial failed: %v", err)
	}
	// The outcomes the tutorial promises, in order.
	want := []string{
		"Departments", "HealthMSP", "birth-medical-certificate", // registry
		"record r-", "issuer", "HealthMSP", "note", "Li Xiaoming", // show: the note, off-chain, for its issuer
		"VERIFIED  bafkrei", // verify birth.pdf
		"in the named subject's dossier: yes",
		"NOT VERIFIED (not found)", "edossierctl: not_verified: not_found", "exit code 3", // forged copy
		"bound to p-", "bound", "attestation:PublicSecurityMSP", "PublicSecurityMSP", // bind, key log
		"active  SocialSecurityMSP",                                                                 // grants
		"birth-medical-certificate", "wrote ", "access logged in datashare tx", "VERIFIED  bafkrei", // list, read, verify
		"SocialSecurityMSP  clerk", "social-insurance-enrolment", // access log
		"revoked", "edossierctl: revoked: ", "exit code 1", "no file written", // revocation
		"newborn version", "CivilAffairsMSP", "SocialSecurityMSP", // the matter
		"guardian", "PublicSecurityMSP", // the guardian relation
		"pending", "CivilAffairsMSP", "matter newborn@", // the consent request
		"active", "CivilAffairsMSP,HealthMSP,PublicSecurityMSP,SocialSecurityMSP", "matter newborn@", // the grant
		"wrote ", "access logged", "wrote ", "access logged", "edossierctl: out_of_scope: ", "exit code 1", // parts
		"HealthMSP", "2 (newborn@", "PublicSecurityMSP", "3 (newborn@", // access log by grant
		"edossierctl: revoked: ", "exit code 1", // one revocation ends all parts
		"NOT VERIFIED (revoked)", "issued-in-error (Issued in error)", "exit code 3", // withdrawal
	}
	rest := string(out)
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("tutorial output lacks %q (in order) after:\n%s", w, rest)
		}
		rest = rest[i+len(w):]
	}
	if _, err := os.Stat(filepath.Join(work, "again.pdf")); err == nil {
		t.Fatal("the refused read wrote again.pdf")
	}
	if st, err := os.Stat(filepath.Join(work, "citizen.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("citizen.key: %v %v", st, err)
	}
}
