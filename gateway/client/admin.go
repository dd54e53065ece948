package client

import (
	"context"
	"net/http"
	"strconv"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// Registry returns the departments, record types, accreditations, purposes and
// revocation reasons (departments and
// operators).
func (c *Client) Registry(ctx context.Context) (*service.Registry, error) {
	var reg service.Registry
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/admin/registry", nil, &reg); err != nil {
		return nil, err
	}
	return &reg, nil
}

func adminCall[T any](ctx context.Context, c *Client, path string, body any) (*service.AdminResult[T], error) {
	var res service.AdminResult[T]
	if err := c.DoJSON(ctx, http.MethodPost, path, body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// RegisterDepartment registers (or updates) a department (operator).
func (c *Client) RegisterDepartment(ctx context.Context, mspID, name, code string) (*service.AdminResult[wire.Department], error) {
	return adminCall[wire.Department](ctx, c, "/v1/admin/departments", map[string]string{"mspId": mspID, "name": name, "code": code})
}

// DeactivateDepartment deactivates a department (operator): it can no longer append,
// supersede, be a grantee or read under a grant.
func (c *Client) DeactivateDepartment(ctx context.Context, mspID string) (*service.AdminResult[wire.Department], error) {
	return adminCall[wire.Department](ctx, c, "/v1/admin/departments/"+seg(mspID)+"/deactivate", nil)
}

// DefineRecordType defines (or renames) a record type (operator).
func (c *Client) DefineRecordType(ctx context.Context, code, name string) (*service.AdminResult[wire.RecordType], error) {
	return adminCall[wire.RecordType](ctx, c, "/v1/admin/record-types", map[string]string{"code": code, "name": name})
}

// Accredit allows a department to issue a record type (operator).
func (c *Client) Accredit(ctx context.Context, mspID, recordType string) (*service.AdminResult[wire.Accreditation], error) {
	return adminCall[wire.Accreditation](ctx, c, "/v1/admin/accreditations", map[string]string{"mspId": mspID, "recordType": recordType})
}

// Unaccredit withdraws a department's accreditation for a record type (operator).
func (c *Client) Unaccredit(ctx context.Context, mspID, recordType string) (*service.AdminResult[wire.Accreditation], error) {
	return adminCall[wire.Accreditation](ctx, c, "/v1/admin/accreditations/revoke", map[string]string{"mspId": mspID, "recordType": recordType})
}

// DefineMatter defines a "one thing" matter or a new version of it (operator).
func (c *Client) DefineMatter(ctx context.Context, d wire.MatterDefinition) (*service.AdminResult[wire.Matter], error) {
	return adminCall[wire.Matter](ctx, c, "/v1/admin/matters", d)
}

// Matters lists the latest version of every matter (no credentials needed).
func (c *Client) Matters(ctx context.Context) ([]wire.Matter, error) {
	var out struct {
		Matters []wire.Matter `json:"matters"`
	}
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/matters", nil, &out); err != nil {
		return nil, err
	}
	return out.Matters, nil
}

// Matter returns one version of a matter (0: the latest).
func (c *Client) Matter(ctx context.Context, code string, version int) (*wire.Matter, error) {
	path := "/v1/matters/" + seg(code)
	if version > 0 {
		path += "?version=" + strconv.Itoa(version)
	}
	var m wire.Matter
	if err := c.DoJSON(ctx, http.MethodGet, path, nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// DefinePurpose registers a purpose code with its display name (operator).
func (c *Client) DefinePurpose(ctx context.Context, code, name string) (*service.AdminResult[wire.Purpose], error) {
	return adminCall[wire.Purpose](ctx, c, "/v1/admin/purposes", map[string]string{"code": code, "name": name})
}

// DefineReason registers a revocation reason code with its display name (operator).
func (c *Client) DefineReason(ctx context.Context, code, name string) (*service.AdminResult[wire.Reason], error) {
	return adminCall[wire.Reason](ctx, c, "/v1/admin/reasons", map[string]string{"code": code, "name": name})
}

// NewUser asks for a department or operator user.
type NewUser struct {
	// Org is the organisation name of the connection file (e.g. "health").
	Org string `json:"org"`
	// User is the Fabric CA enrolment ID to register and enroll.
	User string `json:"user"`
	// Role is department (default) or operator.
	Role gateway.Role `json:"role,omitempty"`
	// Label is a free note stored with the API key.
	Label string `json:"label,omitempty"`
}

// CreateUser registers and enrolls a user with its organisation's Fabric CA and
// returns its API key, shown only in this answer (operator).
func (c *Client) CreateUser(ctx context.Context, u NewUser) (*service.NewUser, error) {
	var res service.NewUser
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/admin/users", u, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ListAPIKeys lists API keys without secrets or hashes: the operator all, a department
// its organisation's department keys.
func (c *Client) ListAPIKeys(ctx context.Context) ([]service.APIKey, error) {
	var res struct {
		Keys []service.APIKey `json:"keys"`
	}
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/admin/api-keys", nil, &res); err != nil {
		return nil, err
	}
	return res.Keys, nil
}

// RevokeAPIKey revokes an API key (the operator any key, a department its own
// organisation's). Every gateway of the platform refuses it within apiKeyRefresh.
func (c *Client) RevokeAPIKey(ctx context.Context, keyID string) (*service.APIKey, error) {
	var k service.APIKey
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/admin/api-keys/"+seg(keyID)+"/revoke", nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// CreateVerifier issues an API key for a verifier organisation (operator); the key is
// in the answer only.
func (c *Client) CreateVerifier(ctx context.Context, name, label string) (*service.NewVerifier, error) {
	var v service.NewVerifier
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/admin/verifiers", map[string]string{"name": name, "label": label}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
