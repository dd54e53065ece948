package service

import (
	"context"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Users registers and enrolls department users with their organisation's Fabric CA
// and issues their API keys (implemented by gateway/identity and gateway/ca).
type Users interface {
	// EnrollUser registers the user with the organisation's CA (if new), enrolls it and
	// stores the identity in the gateway's wallet.
	EnrollUser(ctx context.Context, org, user string) (mspID string, err error)
	// IssueKey creates an API key for an enrolled identity; the key is shown once.
	IssueKey(role gateway.Role, org, mspID, user, label string) (key, keyID string, err error)
}

// AdminResult is an operator change with its receipt.
type AdminResult[T any] struct {
	Value   T               `json:"value"`
	Receipt gateway.Receipt `json:"receipt"`
}

func admin[T any](p gateway.Principal, f func() (*T, gateway.Receipt, error)) (*AdminResult[T], error) {
	if err := requireRole(p, gateway.RoleOperator); err != nil {
		return nil, err
	}
	v, r, err := f()
	if err != nil {
		return nil, err
	}
	return &AdminResult[T]{Value: *v, Receipt: r}, nil
}

// RegisterDepartment registers a department (operator only).
func (s *Service) RegisterDepartment(ctx context.Context, p gateway.Principal, mspID, name, code string) (*AdminResult[wire.Department], error) {
	return admin(p, func() (*wire.Department, gateway.Receipt, error) {
		return s.ledger.RegisterDepartment(ctx, p.Actor(), mspID, name, code)
	})
}

// DeactivateDepartment deactivates a department (operator only).
func (s *Service) DeactivateDepartment(ctx context.Context, p gateway.Principal, mspID string) (*AdminResult[wire.Department], error) {
	return admin(p, func() (*wire.Department, gateway.Receipt, error) {
		return s.ledger.DeactivateDepartment(ctx, p.Actor(), mspID)
	})
}

// DefineRecordType defines a record type (operator only).
func (s *Service) DefineRecordType(ctx context.Context, p gateway.Principal, code, name string) (*AdminResult[wire.RecordType], error) {
	return admin(p, func() (*wire.RecordType, gateway.Receipt, error) {
		return s.ledger.DefineRecordType(ctx, p.Actor(), code, name)
	})
}

// Accredit allows a department to issue a record type (operator only).
func (s *Service) Accredit(ctx context.Context, p gateway.Principal, mspID, recordType string) (*AdminResult[wire.Accreditation], error) {
	return admin(p, func() (*wire.Accreditation, gateway.Receipt, error) {
		return s.ledger.Accredit(ctx, p.Actor(), mspID, recordType)
	})
}

// Unaccredit withdraws an accreditation (operator only).
func (s *Service) Unaccredit(ctx context.Context, p gateway.Principal, mspID, recordType string) (*AdminResult[wire.Accreditation], error) {
	return admin(p, func() (*wire.Accreditation, gateway.Receipt, error) {
		return s.ledger.Unaccredit(ctx, p.Actor(), mspID, recordType)
	})
}

// DefinePurpose registers a purpose code (operator only).
func (s *Service) DefinePurpose(ctx context.Context, p gateway.Principal, code, name string) (*AdminResult[wire.Purpose], error) {
	return admin(p, func() (*wire.Purpose, gateway.Receipt, error) {
		return s.ledger.DefinePurpose(ctx, p.Actor(), code, name)
	})
}

// DefineReason registers a revocation reason code (operator only).
func (s *Service) DefineReason(ctx context.Context, p gateway.Principal, code, name string) (*AdminResult[wire.Reason], error) {
	return admin(p, func() (*wire.Reason, gateway.Receipt, error) {
		return s.ledger.DefineReason(ctx, p.Actor(), code, name)
	})
}

// Registry is the issuer registry: departments, record types, accreditations,
// purposes and reasons.
type Registry = wire.Registry

// Registry returns the issuer registry (any authenticated department or operator), read
// in one ledger query.
func (s *Service) Registry(ctx context.Context, p gateway.Principal) (*Registry, error) {
	if err := requireRole(p, gateway.RoleOperator, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	return s.ledger.Registry(ctx, p.Actor())
}

// NewUser is the answer to creating a department user: the key is shown only here.
type NewUser struct {
	Org    string       `json:"org"`
	MSPID  string       `json:"mspId"`
	User   string       `json:"user"`
	Role   gateway.Role `json:"role"`
	KeyID  string       `json:"keyId"`
	APIKey string       `json:"apiKey"`
}

// CreateUser registers and enrolls a user with its organisation's Fabric CA and issues
// an API key for it (operator only) through Config.Users.
func (s *Service) CreateUser(ctx context.Context, p gateway.Principal, org, user string, role gateway.Role, label string) (*NewUser, error) {
	if err := requireRole(p, gateway.RoleOperator); err != nil {
		return nil, err
	}
	users := s.cfg.Users
	if users == nil {
		return nil, gateway.Errorf(gateway.CodeUnavailable, "user enrolment is not configured")
	}
	if role == "" {
		role = gateway.RoleDepartment
	}
	if role != gateway.RoleDepartment && role != gateway.RoleOperator {
		return nil, gateway.Errorf(gateway.CodeInvalid, "role must be department or operator")
	}
	if err := wire.ValidateCode("user", user); err != nil {
		return nil, wireErr(err)
	}
	msp, err := users.EnrollUser(ctx, org, user)
	if err != nil {
		return nil, err
	}
	key, id, err := users.IssueKey(role, org, msp, user, label)
	if err != nil {
		return nil, err
	}
	return &NewUser{Org: org, MSPID: msp, User: user, Role: role, KeyID: id, APIKey: key}, nil
}
