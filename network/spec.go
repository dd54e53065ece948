// Package network describes, starts and stops a native Hyperledger Fabric network
// (Fabric CA per organisation, Raft orderers, peers, chaincode as a service) from a
// YAML spec. Both the edossierctl CLI and the test harness (package nettest) use it.
package network

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Spec is the network description read from network/network.yaml.
type Spec struct {
	Name          string          `yaml:"name"`
	BasePort      int             `yaml:"basePort"`
	Organizations []OrgSpec       `yaml:"organizations"`
	Ordering      OrderingSpec    `yaml:"ordering"`
	Channels      []ChannelSpec   `yaml:"channels"`
	Chaincodes    []ChaincodeSpec `yaml:"chaincodes"`
	Sharing       SharingSpec     `yaml:"sharing"`
}

// SharingSpec configures the sharing chaincode's trust settings, the same for every
// organisation's chaincode server (so changing them takes a majority of organisations).
type SharingSpec struct {
	// RecoveryDelay is the time lock of a subject-key recovery (default 72h): the
	// subject's active keys can cancel it until then.
	RecoveryDelay Duration `yaml:"recoveryDelay"`
}

// DefaultRecoveryDelay is SharingSpec.RecoveryDelay's default.
const DefaultRecoveryDelay = 72 * time.Hour

// RepresentativeAuthorities returns the MSP IDs of the organisations marked
// representativeAuthority, in spec order.
func (s *Spec) RepresentativeAuthorities() []string {
	var out []string
	for _, o := range s.Active() {
		if o.RepresentativeAuthority {
			out = append(out, o.MSPID)
		}
	}
	return out
}

// IdentityAuthorities returns the MSP IDs of the organisations marked
// identityAuthority, in spec order.
func (s *Spec) IdentityAuthorities() []string {
	var out []string
	for _, o := range s.Active() {
		if o.IdentityAuthority {
			out = append(out, o.MSPID)
		}
	}
	return out
}

// OrgSpec is one organisation. Exactly one organisation has role "operator": it runs
// the ordering service and administers the platform. Every organisation runs one peer.
type OrgSpec struct {
	Name  string   `yaml:"name"`  // short name, used in paths and host names: [a-z][a-z0-9-]*
	MSPID string   `yaml:"mspId"` // Fabric MSP ID
	Role  string   `yaml:"role"`  // "operator" or "department"
	Title string   `yaml:"title"` // human-readable name
	Users []string `yaml:"users"` // client users enrolled at set-up (besides the org admin)
	// IdentityAuthority marks a department (never the operator) whose transactions
	// attest subjects' first keys and key recoveries: a real-name identity service.
	IdentityAuthority bool `yaml:"identityAuthority"`
	// RepresentativeAuthority marks a department (never the operator) whose
	// transactions attest enterprises' legal representatives (market regulation).
	RepresentativeAuthority bool `yaml:"representativeAuthority"`
	// Retired marks a department that left the network: it keeps its place in the
	// list (ports are assigned by position) but is no member of any channel and runs no
	// process. Its records stay readable and verifiable; it can no longer endorse,
	// append or read. Retiring is for good: a returning department comes back as a new
	// organisation under a new name and MSP ID.
	Retired bool `yaml:"retired"`
	// Host is the IP address the organisation's processes listen on and are reached at
	// (default 127.0.0.1); the orderers run on the operator's host. TLS certificates
	// name it.
	Host string `yaml:"host"`
	// Netns, if set, is the Linux network namespace the organisation's processes run in
	// (`ip netns exec`), which must exist and hold Host: on one machine, organisations
	// in their own namespaces behave as separate hosts (TestNetworkAcrossNamespaces).
	Netns string `yaml:"netns"`
}

// OrderingSpec configures the Raft ordering service run by the operator organisation.
type OrderingSpec struct {
	Orderers     int      `yaml:"orderers"`
	TickInterval Duration `yaml:"tickInterval"`
}

// ChannelSpec is one application channel and its block cutting settings.
type ChannelSpec struct {
	Name              string   `yaml:"name"`
	BatchTimeout      Duration `yaml:"batchTimeout"`
	MaxMessageCount   int      `yaml:"maxMessageCount"`
	PreferredMaxBytes string   `yaml:"preferredMaxBytes"`
	AbsoluteMaxBytes  string   `yaml:"absoluteMaxBytes"`
}

// ChaincodeSpec is one chaincode deployed as a service on one channel.
type ChaincodeSpec struct {
	Name    string `yaml:"name"`
	Channel string `yaml:"channel"`
	// Contract selects the contract set the chaincode server runs (dossier, sharing).
	Contract string `yaml:"contract"`
	Version  string `yaml:"version"`
	// EndorsementPolicy is a signature policy such as "OR('HealthMSP.peer','CivilMSP.peer')";
	// empty means the channel default (MAJORITY of the organisations' Endorsement policies).
	EndorsementPolicy string `yaml:"endorsementPolicy"`
}

// Duration is a time.Duration that reads "100ms" style strings from YAML.
type Duration struct{ time.Duration }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q", n.Line, s)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Role values.
const (
	RoleOperator   = "operator"
	RoleDepartment = "department"
)

// LoadSpec reads and validates a spec file.
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("network spec: %w", err)
	}
	s, err := ParseSpec(b)
	if err != nil {
		return nil, fmt.Errorf("network spec %s: %w", path, err)
	}
	return s, nil
}

// ParseSpec decodes a spec (unknown fields are refused), applies defaults and validates it.
func ParseSpec(b []byte) (*Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	s.applyDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Spec) applyDefaults() {
	if s.Ordering.Orderers == 0 {
		s.Ordering.Orderers = 1
	}
	if s.Sharing.RecoveryDelay.Duration == 0 {
		s.Sharing.RecoveryDelay.Duration = DefaultRecoveryDelay
	}
	if s.Ordering.TickInterval.Duration == 0 {
		s.Ordering.TickInterval.Duration = 100 * time.Millisecond
	}
	for i := range s.Channels {
		c := &s.Channels[i]
		if c.BatchTimeout.Duration == 0 {
			c.BatchTimeout.Duration = 100 * time.Millisecond
		}
		if c.MaxMessageCount == 0 {
			c.MaxMessageCount = 500
		}
		if c.PreferredMaxBytes == "" {
			c.PreferredMaxBytes = "2 MB"
		}
		if c.AbsoluteMaxBytes == "" {
			c.AbsoluteMaxBytes = "10 MB"
		}
	}
	for i := range s.Chaincodes {
		if s.Chaincodes[i].Version == "" {
			s.Chaincodes[i].Version = "1.0"
		}
		if s.Chaincodes[i].Contract == "" {
			s.Chaincodes[i].Contract = s.Chaincodes[i].Name
		}
	}
	for i := range s.Organizations {
		if s.Organizations[i].Role == "" {
			s.Organizations[i].Role = RoleDepartment
		}
	}
}

var (
	nameRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,29}$`)
	chanRe  = regexp.MustCompile(`^[a-z][a-z0-9.-]{0,48}$`)
	mspRe   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.-]{0,63}$`)
	bytesRe = regexp.MustCompile(`^[0-9]+ (KB|MB)$`)
)

// Validate checks the spec and names the first problem it finds.
func (s *Spec) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Name == "" {
		add("missing field: name")
	} else if !nameRe.MatchString(s.Name) {
		add("name %q: use lower-case letters, digits and '-'", s.Name)
	}
	if s.BasePort == 0 {
		add("missing field: basePort")
	} else if s.BasePort < 1024 || s.BasePort > 65535-portSpan(s) {
		add("basePort %d: must be between 1024 and %d so every port of the network fits", s.BasePort, 65535-portSpan(s))
	}
	if len(s.Organizations) == 0 {
		add("missing field: organizations")
	}
	names, msps := map[string]bool{}, map[string]bool{}
	operators := 0
	for i, o := range s.Organizations {
		where := fmt.Sprintf("organizations[%d]", i)
		if o.Name == "" {
			add("%s: missing field: name", where)
		} else if !nameRe.MatchString(o.Name) {
			add("%s: name %q: use lower-case letters, digits and '-'", where, o.Name)
		} else if names[o.Name] {
			add("%s: duplicate organization name %q", where, o.Name)
		}
		names[o.Name] = true
		if o.MSPID == "" {
			add("%s (%s): missing field: mspId", where, o.Name)
		} else if !mspRe.MatchString(o.MSPID) {
			add("%s (%s): mspId %q: use letters, digits, '.' and '-'", where, o.Name, o.MSPID)
		} else if msps[o.MSPID] {
			add("%s (%s): duplicate mspId %q", where, o.Name, o.MSPID)
		}
		msps[o.MSPID] = true
		if o.Host != "" && net.ParseIP(o.Host) == nil {
			add("%s (%s): host %q: want an IP address", where, o.Name, o.Host)
		}
		switch o.Role {
		case RoleOperator:
			operators++
			if o.IdentityAuthority || o.RepresentativeAuthority {
				add("%s (%s): the operator cannot be an identity or representative authority (no single organisation may bind subject keys or delegations)", where, o.Name)
			}
			if o.Retired {
				add("%s (%s): the operator cannot be retired", where, o.Name)
			}
		case RoleDepartment:
		default:
			add("%s (%s): unknown role %q (want operator or department)", where, o.Name, o.Role)
		}
		users := map[string]bool{}
		for _, u := range o.Users {
			if !nameRe.MatchString(u) || u == "admin" {
				add("%s (%s): user %q: use lower-case letters, digits and '-', not 'admin'", where, o.Name, u)
			} else if users[u] {
				add("%s (%s): duplicate user %q", where, o.Name, u)
			}
			users[u] = true
		}
	}
	if len(s.Organizations) > 0 && operators != 1 {
		add("organizations: exactly one organization must have role operator (found %d)", operators)
	}
	if d := s.Sharing.RecoveryDelay.Duration; d < time.Second || d > 90*24*time.Hour {
		add("sharing.recoveryDelay %s: must be between 1s and 90 days", d)
	}
	if n := s.Ordering.Orderers; n < 1 || n > 7 {
		add("ordering.orderers %d: must be between 1 and 7", n)
	}
	if t := s.Ordering.TickInterval.Duration; t < 10*time.Millisecond || t > 5*time.Second {
		add("ordering.tickInterval %s: must be between 10ms and 5s", t)
	}
	if len(s.Channels) == 0 {
		add("missing field: channels")
	}
	chans := map[string]bool{}
	for i, c := range s.Channels {
		where := fmt.Sprintf("channels[%d]", i)
		if c.Name == "" {
			add("%s: missing field: name", where)
		} else if !chanRe.MatchString(c.Name) {
			add("%s: channel name %q: use lower-case letters, digits, '.' and '-'", where, c.Name)
		} else if chans[c.Name] {
			add("%s: duplicate channel %q", where, c.Name)
		}
		chans[c.Name] = true
		if t := c.BatchTimeout.Duration; t < 10*time.Millisecond || t > 10*time.Second {
			add("%s (%s): batchTimeout %s: must be between 10ms and 10s", where, c.Name, t)
		}
		if c.MaxMessageCount < 1 || c.MaxMessageCount > 10000 {
			add("%s (%s): maxMessageCount %d: must be between 1 and 10000", where, c.Name, c.MaxMessageCount)
		}
		for _, v := range []string{c.PreferredMaxBytes, c.AbsoluteMaxBytes} {
			if !bytesRe.MatchString(v) {
				add("%s (%s): size %q: write it as '<n> KB' or '<n> MB'", where, c.Name, v)
			}
		}
	}
	ccs := map[string]bool{}
	for i, c := range s.Chaincodes {
		where := fmt.Sprintf("chaincodes[%d]", i)
		if c.Name == "" {
			add("%s: missing field: name", where)
		} else if !nameRe.MatchString(c.Name) {
			add("%s: chaincode name %q: use lower-case letters, digits and '-'", where, c.Name)
		} else if ccs[c.Name] {
			add("%s: duplicate chaincode %q", where, c.Name)
		}
		ccs[c.Name] = true
		if c.Channel == "" {
			add("%s (%s): missing field: channel", where, c.Name)
		} else if !chans[c.Channel] {
			add("%s (%s): unknown channel %q", where, c.Name, c.Channel)
		}
		if !knownContracts[c.Contract] {
			add("%s (%s): unknown contract %q (known: %s)", where, c.Name, c.Contract, strings.Join(sortedKeys(knownContracts), ", "))
		}
		if strings.ContainsAny(c.Version, " \t\n:") {
			add("%s (%s): version %q must not contain spaces or ':'", where, c.Name, c.Version)
		}
	}
	if len(errs) == 0 {
		if err := s.checkPorts(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// knownContracts are the contract sets the chaincode server binary can serve.
var knownContracts = map[string]bool{"dossier": true, "sharing": true, "meta": true}

func sortedKeys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Operator returns the operator organisation.
func (s *Spec) Operator() OrgSpec {
	for _, o := range s.Organizations {
		if o.Role == RoleOperator {
			return o
		}
	}
	return OrgSpec{}
}

// Org returns the organisation with the given name.
func (s *Spec) Org(name string) (OrgSpec, bool) {
	for _, o := range s.Organizations {
		if o.Name == name {
			return o, true
		}
	}
	return OrgSpec{}, false
}

// ExtraOrganizations returns the organisations of s after those of base, refusing
// (error) a spec whose first organisations are not exactly base's: a spec that
// extends another one, such as network/one-thing.yaml the default.
func ExtraOrganizations(base, s *Spec) ([]OrgSpec, error) {
	if len(s.Organizations) < len(base.Organizations) {
		return nil, fmt.Errorf("spec has %d organisations, fewer than the %d of its base", len(s.Organizations), len(base.Organizations))
	}
	for i, o := range base.Organizations {
		if !reflect.DeepEqual(o, s.Organizations[i]) {
			return nil, fmt.Errorf("organisation %d (%s) differs from its base's (%s)", i, s.Organizations[i].Name, o.Name)
		}
	}
	return s.Organizations[len(base.Organizations):], nil
}

// Active lists the organisations that are not retired, in spec order.
func (s *Spec) Active() []OrgSpec {
	out := make([]OrgSpec, 0, len(s.Organizations))
	for _, o := range s.Organizations {
		if !o.Retired {
			out = append(out, o)
		}
	}
	return out
}

// HostOf is the address organisation o listens on and is reached at.
func (s *Spec) HostOf(o OrgSpec) string {
	if o.Host != "" {
		return o.Host
	}
	return "127.0.0.1"
}

// OrdererHost is the address the orderers listen on (the operator's host).
func (s *Spec) OrdererHost() string { return s.HostOf(s.Operator()) }
