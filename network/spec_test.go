package network

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const goodSpec = `
name: t
basePort: 9000
organizations:
  - {name: operator, mspId: OpMSP, role: operator}
  - {name: civil, mspId: CivilMSP, users: [clerk]}
ordering: {orderers: 3}
channels:
  - {name: municipal}
  - {name: datashare, batchTimeout: 250ms}
chaincodes:
  - {name: dossier, channel: municipal}
  - {name: sharing, channel: datashare}
`

func TestParseSpecDefaults(t *testing.T) {
	s, err := ParseSpec([]byte(goodSpec))
	if err != nil {
		t.Fatal(err)
	}
	if s.Organizations[1].Role != RoleDepartment {
		t.Errorf("default role = %q", s.Organizations[1].Role)
	}
	if got := s.Channels[0].BatchTimeout.String(); got != "100ms" {
		t.Errorf("default batch timeout = %s", got)
	}
	if got := s.Channels[1].BatchTimeout.String(); got != "250ms" {
		t.Errorf("batch timeout = %s", got)
	}
	if s.Chaincodes[0].Contract != "dossier" || s.Chaincodes[0].Version != "1.0" {
		t.Errorf("chaincode defaults = %+v", s.Chaincodes[0])
	}
	if s.Operator().MSPID != "OpMSP" {
		t.Errorf("operator = %+v", s.Operator())
	}
	// every port distinct
	want := 3*3 + 2*(5+2)
	if got := len(s.AllPorts()); got != want {
		t.Errorf("distinct ports = %d, want %d", got, want)
	}
}

func TestDefaultSpecFileIsValid(t *testing.T) {
	s, err := LoadSpec("network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Organizations) < 3 || s.Channels[0].BatchTimeout.Seconds() >= 1 {
		t.Fatalf("default spec: %d orgs, batch timeout %s", len(s.Organizations), s.Channels[0].BatchTimeout)
	}
}

func TestParseSpecRefusesBadSpecs(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"unknown channel", "{name: sharing, channel: datashare}", "{name: sharing, channel: datashar}", `unknown channel "datashar"`},
		{"duplicate org name", "{name: civil, mspId: CivilMSP", "{name: operator, mspId: CivilMSP", `duplicate organization name "operator"`},
		{"duplicate msp", "mspId: CivilMSP", "mspId: OpMSP", `duplicate mspId "OpMSP"`},
		{"missing mspId", "{name: civil, mspId: CivilMSP, users: [clerk]}", "{name: civil, users: [clerk]}", "organizations[1] (civil): missing field: mspId"},
		{"missing name", "name: t\n", "", "missing field: name"},
		{"missing base port", "basePort: 9000", "", "missing field: basePort"},
		{"base port too high", "basePort: 9000", "basePort: 65500", "basePort 65500"},
		{"port clash", "{name: sharing, channel: datashare}", "{name: sharing, channel: datashare}\n  - {name: c3, channel: municipal, contract: meta}\n  - {name: c4, channel: municipal, contract: meta}\n  - {name: c5, channel: municipal, contract: meta}\n  - {name: c6, channel: municipal, contract: meta}", "would clash"},
		{"no operator", "role: operator", "role: department", "exactly one organization must have role operator"},
		{"unknown role", "role: operator", "role: boss", `unknown role "boss"`},
		{"unknown field", "ordering: {orderers: 3}", "ordering: {orderers: 3, leader: 1}", "field leader not found"},
		{"too many orderers", "orderers: 3", "orderers: 9", "ordering.orderers 9"},
		{"bad duration", "batchTimeout: 250ms", "batchTimeout: soon", `invalid duration "soon"`},
		{"batch timeout too long", "batchTimeout: 250ms", "batchTimeout: 1m", "batchTimeout 1m0s"},
		{"duplicate channel", "{name: datashare, batchTimeout: 250ms}", "{name: municipal}", `duplicate channel "municipal"`},
		{"unknown contract", "{name: dossier, channel: municipal}", "{name: dossier, channel: municipal, contract: bank}", `unknown contract "bank"`},
		{"bad size", "{name: municipal}", "{name: municipal, absoluteMaxBytes: 10MB}", `size "10MB"`},
		{"bad user", "users: [clerk]", "users: [admin]", `user "admin"`},
		{"missing channel of chaincode", "{name: dossier, channel: municipal}", "{name: dossier}", "chaincodes[0] (dossier): missing field: channel"},
		{"not yaml", "name: t", "name: [t", "invalid YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(goodSpec, c.old) {
				t.Fatalf("test case does not apply: %q", c.old)
			}
			_, err := ParseSpec([]byte(strings.Replace(goodSpec, c.old, c.new, 1)))
			if err == nil {
				t.Fatal("spec accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name the problem %q", err, c.want)
			}
		})
	}
}

// TestSpecRefusesEphemeralPorts: a port in the kernel's ephemeral range can be taken
// by any client socket while its process is down, so such a spec is refused, naming
// the range and the first conflicting port.
func TestSpecRefusesEphemeralPorts(t *testing.T) {
	dir := t.TempDir()
	old := ephemeralRangeFile
	t.Cleanup(func() { ephemeralRangeFile = old })
	cases := []struct {
		name, rangeFile, basePort, want string
	}{
		{"default range, inside", "32768\t60999\n", "basePort: 33000", "port 33000 (orderer0) lies in the kernel's ephemeral port range 32768-60999"},
		{"straddles the start", "32768 60999", "basePort: 32730", "port 32770 (ca.operator) lies in the kernel's ephemeral port range 32768-60999"},
		{"custom range", "9050 20000", "basePort: 9000", "port 9050 (ca.civil) lies in the kernel's ephemeral port range 9050-20000"},
		{"unreadable file falls back", "", "basePort: 40000", "port 40000 (orderer0) lies in the kernel's ephemeral port range 32768-60999"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ephemeralRangeFile = filepath.Join(dir, "missing")
			if c.rangeFile != "" {
				ephemeralRangeFile = filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
				if err := os.WriteFile(ephemeralRangeFile, []byte(c.rangeFile), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ParseSpec([]byte(strings.Replace(goodSpec, "basePort: 9000", c.basePort, 1)))
			if err == nil {
				t.Fatal("spec accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name %q", err, c.want)
			}
		})
	}
	ephemeralRangeFile = filepath.Join(dir, "missing")
	if _, err := ParseSpec([]byte(goodSpec)); err != nil {
		t.Fatalf("a spec below the range is refused: %v", err)
	}
}

func TestLoadSpecMissingFile(t *testing.T) {
	_, err := LoadSpec("no-such-spec.yaml")
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("err = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestPackageIsDeterministic(t *testing.T) {
	a, err := tarGz(map[string][]byte{"metadata.json": []byte("{}"), "code.tar.gz": []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tarGz(map[string][]byte{"code.tar.gz": []byte("x"), "metadata.json": []byte("{}")})
	if string(a) != string(b) {
		t.Fatal("same files gave different packages (package IDs would change between runs)")
	}
}

// TestOneThingSpecIsDefaultPlusDepartments: network/one-thing.yaml is the default
// network with the four departments of the "one thing" matters added (the ones
// TestOneThingMatters adds), market regulation as the representative authority.
func TestOneThingSpecIsDefaultPlusDepartments(t *testing.T) {
	def, err := LoadSpec("network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSpec("one-thing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	extra, err := ExtraOrganizations(def, s)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range extra {
		names = append(names, o.Name)
	}
	if strings.Join(names, ",") != "medins,transport,education,market" {
		t.Fatalf("extra organisations %v", names)
	}
	if got := s.RepresentativeAuthorities(); len(got) != 1 || got[0] != "MarketRegulationMSP" {
		t.Fatalf("representative authorities %v", got)
	}
	s.Organizations = s.Organizations[:len(def.Organizations)]
	if !reflect.DeepEqual(s, def) {
		t.Fatalf("one-thing.yaml without its extra departments differs from network.yaml:\n%+v\n%+v", s, def)
	}
}
