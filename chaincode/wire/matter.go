package wire

import (
	"slices"
	"sort"
)

// MaxMatterParts bounds the departments of one matter; MaxMatterVersions its versions.
const (
	MaxMatterParts    = 32
	MaxMatterVersions = 999999
)

// MatterPart is what one department needs for a "one thing" matter: the record types
// it reads and the purpose code it reads them for.
type MatterPart struct {
	Department  string   `json:"department"` // MSP ID of a registered department
	RecordTypes []string `json:"recordTypes"`
	Purpose     string   `json:"purpose"`
}

// MatterDefinition is what the operator submits to define (a new version of) a matter,
// e.g. "newborn": the civil affairs bureau, the public security bureau and the social
// security bureau each read given records of the newborn's dossier.
type MatterDefinition struct {
	Code  string       `json:"code"`
	Name  string       `json:"name"`
	Parts []MatterPart `json:"parts"`
}

// Matter is one version of a matter as stored (channel municipal, key (code,
// version)). Versions never change once written: a grant pins the version it was
// signed against.
type Matter struct {
	Code      string       `json:"code"`
	Version   int          `json:"version"`
	Name      string       `json:"name"`
	Parts     []MatterPart `json:"parts"`
	DefinedAt string       `json:"definedAt"`
	TxID      string       `json:"txId"`
}

// DecodeMatterDefinition strictly decodes and validates a definition and returns it
// normalised: parts ordered by department, record types sorted, so that the same
// content always has the same form. It refuses (invalid) a bad code, name, department
// MSP ID, record type or purpose code, an empty or oversized part list, a department
// twice, and a part without record types.
func DecodeMatterDefinition(data []byte) (MatterDefinition, error) {
	var d MatterDefinition
	if err := DecodeStrict(data, &d, MaxRequestBytes); err != nil {
		return MatterDefinition{}, err
	}
	if err := ValidateCode("code", d.Code); err != nil {
		return MatterDefinition{}, err
	}
	if err := ValidateText("name", d.Name, MaxNameLen, true); err != nil {
		return MatterDefinition{}, err
	}
	if len(d.Parts) == 0 || len(d.Parts) > MaxMatterParts {
		return MatterDefinition{}, Errorf(CodeInvalid, "a matter has 1 to %d parts", MaxMatterParts)
	}
	seen := map[string]bool{}
	for i := range d.Parts {
		p := &d.Parts[i]
		if err := ValidateMSPID("parts.department", p.Department); err != nil {
			return MatterDefinition{}, err
		}
		if seen[p.Department] {
			return MatterDefinition{}, Errorf(CodeInvalid, "department %s has two parts", p.Department)
		}
		seen[p.Department] = true
		if len(p.RecordTypes) == 0 || len(p.RecordTypes) > MaxScopeTypes {
			return MatterDefinition{}, Errorf(CodeInvalid, "part of %s: 1 to %d record types", p.Department, MaxScopeTypes)
		}
		if err := checkList("parts.recordTypes", p.RecordTypes, ValidateCode); err != nil {
			return MatterDefinition{}, err
		}
		if err := ValidateCode("parts.purpose", p.Purpose); err != nil {
			return MatterDefinition{}, err
		}
		sort.Strings(p.RecordTypes)
	}
	sort.Slice(d.Parts, func(i, j int) bool { return d.Parts[i].Department < d.Parts[j].Department })
	return d, nil
}

// SameContent reports whether m holds exactly the (normalised) definition d.
func (m *Matter) SameContent(d *MatterDefinition) bool {
	if m.Code != d.Code || m.Name != d.Name || len(m.Parts) != len(d.Parts) {
		return false
	}
	for i := range m.Parts {
		a, b := m.Parts[i], d.Parts[i]
		if a.Department != b.Department || a.Purpose != b.Purpose || len(a.RecordTypes) != len(b.RecordTypes) {
			return false
		}
		for j := range a.RecordTypes {
			if a.RecordTypes[j] != b.RecordTypes[j] {
				return false
			}
		}
	}
	return true
}

// GrantParts returns the parts a grant for this matter version lists: one per
// department, in the matter's (department) order, the part's record types as scope
// and its purpose.
func (m *Matter) GrantParts() []GrantPart {
	out := make([]GrantPart, len(m.Parts))
	for i, p := range m.Parts {
		types := append([]string{}, p.RecordTypes...)
		out[i] = GrantPart{Grantee: p.Department, Scope: GrantScope{RecordTypes: types, RecordIDs: []string{}}, Purpose: p.Purpose}
	}
	return out
}

// Ref names this matter version.
func (m *Matter) Ref() MatterRef { return MatterRef{Code: m.Code, Version: m.Version} }

// CheckGrant refuses (invalid) a grant for this matter version whose parts are not
// exactly the version's parts (departments, record types in order, no record IDs,
// purposes): what the subject signs is what the matter asks, nothing more.
func (m *Matter) CheckGrant(g *Grant) error {
	if g.Matter == nil || g.Matter.Code != m.Code || g.Matter.Version != m.Version {
		return Errorf(CodeInvalid, "the grant does not name matter %s version %d", m.Code, m.Version)
	}
	want := m.GrantParts()
	if len(g.Parts) != len(want) {
		return Errorf(CodeInvalid, "matter %s version %d has %d parts, the grant %d", m.Code, m.Version, len(want), len(g.Parts))
	}
	for i, w := range want {
		p := g.Parts[i]
		if p.Grantee != w.Grantee || p.Purpose != w.Purpose || len(p.Scope.RecordIDs) != 0 || !slices.Equal(p.Scope.RecordTypes, w.Scope.RecordTypes) {
			return Errorf(CodeInvalid, "part %d of the grant is not the part of %s in matter %s version %d", i+1, w.Grantee, m.Code, m.Version)
		}
	}
	return nil
}
