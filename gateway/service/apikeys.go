package service

import (
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// APIKey describes an issued API key: never its secret, never its hash.
type APIKey struct {
	ID    string       `json:"keyId"`
	Role  gateway.Role `json:"role"`
	Org   string       `json:"org"`
	MSPID string       `json:"mspId"`
	User  string       `json:"user"`
	// Verifier names the verifier organisation of a verifier key.
	Verifier  string     `json:"verifier,omitempty"`
	Label     string     `json:"label,omitempty"`
	Created   time.Time  `json:"created"`
	Revoked   bool       `json:"revoked"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	RevokedBy string     `json:"revokedBy,omitempty"`
}

// KeyAdmin lists, revokes and issues API keys (implemented over gateway/identity's key
// store shared by a platform's gateways). Errors: not_found for an unknown key ID.
type KeyAdmin interface {
	ListKeys() []APIKey
	GetKey(id string) (APIKey, error)
	// RevokeKey revokes id, recording the revoking key's ID; revoking a revoked key
	// returns it unchanged.
	RevokeKey(id, by string) (APIKey, error)
	// IssueVerifierKey creates a key of role verifier for the named organisation, acting
	// as the platform's Fabric identity; the key is returned once.
	IssueVerifierKey(verifier, label string) (string, APIKey, error)
}

// MaxKeyLabelLen bounds an API key's label.
const MaxKeyLabelLen = 200

// ownsKey tells whether p may see and revoke k: the operator any key, a department the
// department keys of its own organisation.
func ownsKey(p gateway.Principal, k APIKey) bool {
	switch p.Role {
	case gateway.RoleOperator:
		return true
	case gateway.RoleDepartment:
		return k.Role == gateway.RoleDepartment && k.MSPID == p.MSPID
	}
	return false
}

// keyAdmin checks p's role, then returns Config.KeyAdmin (unavailable if not
// configured).
func (s *Service) keyAdmin(p gateway.Principal, roles ...gateway.Role) (KeyAdmin, error) {
	if err := requireRole(p, roles...); err != nil {
		return nil, err
	}
	if s.cfg.KeyAdmin == nil {
		return nil, gateway.Errorf(gateway.CodeUnavailable, "API key administration is not configured")
	}
	return s.cfg.KeyAdmin, nil
}

// ListAPIKeys lists the keys p may manage (operator: all; department: its
// organisation's department keys), oldest first.
func (s *Service) ListAPIKeys(p gateway.Principal) ([]APIKey, error) {
	keys, err := s.keyAdmin(p, gateway.RoleOperator, gateway.RoleDepartment)
	if err != nil {
		return nil, err
	}
	out := []APIKey{}
	for _, k := range keys.ListKeys() {
		if ownsKey(p, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// RevokeAPIKey revokes a key: the operator any key, a department only its own
// organisation's department keys (forbidden otherwise). Every gateway sharing the key
// file refuses the key within its refresh interval.
func (s *Service) RevokeAPIKey(p gateway.Principal, id string) (*APIKey, error) {
	keys, err := s.keyAdmin(p, gateway.RoleOperator, gateway.RoleDepartment)
	if err != nil {
		return nil, err
	}
	if err := wire.ValidateID("keyId", id); err != nil {
		return nil, wireErr(err)
	}
	k, err := keys.GetKey(id)
	if err != nil {
		return nil, err
	}
	if !ownsKey(p, k) {
		return nil, gateway.Errorf(gateway.CodeForbidden, "a department may revoke only its own organisation's keys")
	}
	k, err = keys.RevokeKey(id, p.KeyID)
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// NewVerifier is the answer to issuing a verifier key: the key is shown only here.
type NewVerifier struct {
	APIKey
	Key string `json:"apiKey"`
}

// CreateVerifier issues an API key for a verifier organisation (operator only). name is
// a code ([A-Za-z0-9._:-]); it is what the platform names as the checker of the
// verifier's ownership checks in subjects' access logs.
func (s *Service) CreateVerifier(p gateway.Principal, name, label string) (*NewVerifier, error) {
	keys, err := s.keyAdmin(p, gateway.RoleOperator)
	if err != nil {
		return nil, err
	}
	if err := wire.ValidateCode("name", name); err != nil {
		return nil, wireErr(err)
	}
	if err := wire.ValidateText("label", label, MaxKeyLabelLen, false); err != nil {
		return nil, wireErr(err)
	}
	key, k, err := keys.IssueVerifierKey(name, label)
	if err != nil {
		return nil, err
	}
	return &NewVerifier{APIKey: k, Key: key}, nil
}
