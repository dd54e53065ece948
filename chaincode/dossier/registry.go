package dossier

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

func (c *Contract) requireOperator(ctx contractapi.TransactionContextInterface) error {
	_, err := ccutil.RequireMSP(ctx, c.cfg.OperatorMSP, "platform operator")
	return err
}

// putRegistry writes a registry key and pins it to the operator with a
// key-level endorsement policy.
func (c *Contract) putRegistry(ctx contractapi.TransactionContextInterface, key string, v any) error {
	stub := ctx.GetStub()
	if err := ccutil.PutJSON(stub, key, v); err != nil {
		return err
	}
	pc := ccutil.PolicyCache{Role: c.role}
	return pc.SetFor(stub, key, c.cfg.OperatorMSP)
}

// RegisterDepartment (operator) registers a department or updates its name
// and code, and makes it active. Idempotent.
func (c *Contract) RegisterDepartment(ctx contractapi.TransactionContextInterface, mspID, name, code string) (_ *wire.Department, err error) {
	defer ccutil.Guard(&err)
	if err := c.requireOperator(ctx); err != nil {
		return nil, err
	}
	if err := wire.ValidateMSPID("mspId", mspID); err != nil {
		return nil, err
	}
	if err := wire.ValidateText("name", name, wire.MaxNameLen, true); err != nil {
		return nil, err
	}
	if err := wire.ValidateCode("code", code); err != nil {
		return nil, err
	}
	want := wire.Department{MSPID: mspID, Name: name, Code: code, Active: true}
	var have wire.Department
	found, err := ccutil.GetJSON(ctx.GetStub(), deptKey(mspID), &have)
	if err != nil {
		return nil, err
	}
	if found && have == want {
		return &have, nil
	}
	if err := c.putRegistry(ctx, deptKey(mspID), want); err != nil {
		return nil, err
	}
	return &want, nil
}

// DeactivateDepartment (operator) marks a department inactive: it can no
// longer append or supersede records, be named as a grantee, or read under
// a grant. Its records stay as they are. Idempotent.
func (c *Contract) DeactivateDepartment(ctx contractapi.TransactionContextInterface, mspID string) (_ *wire.Department, err error) {
	defer ccutil.Guard(&err)
	if err := c.requireOperator(ctx); err != nil {
		return nil, err
	}
	if err := wire.ValidateMSPID("mspId", mspID); err != nil {
		return nil, err
	}
	d, err := ccutil.Load[wire.Department](ctx.GetStub(), deptKey(mspID), wire.CodeNotFound, "department %s is not registered", mspID)
	if err != nil {
		return nil, err
	}
	if !d.Active {
		return d, nil
	}
	d.Active = false
	if err := c.putRegistry(ctx, deptKey(mspID), d); err != nil {
		return nil, err
	}
	return d, nil
}

// DefineRecordType (operator) defines a record type or renames it.
// Idempotent.
func (c *Contract) DefineRecordType(ctx contractapi.TransactionContextInterface, code, name string) (_ *wire.RecordType, err error) {
	defer ccutil.Guard(&err)
	if err := c.requireOperator(ctx); err != nil {
		return nil, err
	}
	if err := wire.ValidateCode("code", code); err != nil {
		return nil, err
	}
	if err := wire.ValidateText("name", name, wire.MaxNameLen, true); err != nil {
		return nil, err
	}
	want := wire.RecordType{Code: code, Name: name}
	var have wire.RecordType
	found, err := ccutil.GetJSON(ctx.GetStub(), typeKey(code), &have)
	if err != nil {
		return nil, err
	}
	if found && have == want {
		return &have, nil
	}
	if err := c.putRegistry(ctx, typeKey(code), want); err != nil {
		return nil, err
	}
	return &want, nil
}

// defineCode writes a registry entry {code, name} (purpose or reason) under
// key, pinned to the operator. Idempotent.
func defineCode[T wire.Purpose | wire.Reason](c *Contract, ctx contractapi.TransactionContextInterface, key string, want T) (*T, error) {
	var have T
	found, err := ccutil.GetJSON(ctx.GetStub(), key, &have)
	if err != nil {
		return nil, err
	}
	if found && have == want {
		return &have, nil
	}
	if err := c.putRegistry(ctx, key, want); err != nil {
		return nil, err
	}
	return &want, nil
}

func (c *Contract) checkDefinition(ctx contractapi.TransactionContextInterface, code, name string) error {
	if err := c.requireOperator(ctx); err != nil {
		return err
	}
	if err := wire.ValidateCode("code", code); err != nil {
		return err
	}
	return wire.ValidateText("name", name, wire.MaxNameLen, true)
}

// DefinePurpose (operator) registers a purpose code, the only kind of
// purpose a grant or an access may state, or renames it. Idempotent.
func (c *Contract) DefinePurpose(ctx contractapi.TransactionContextInterface, code, name string) (_ *wire.Purpose, err error) {
	defer ccutil.Guard(&err)
	if err := c.checkDefinition(ctx, code, name); err != nil {
		return nil, err
	}
	return defineCode(c, ctx, purposeKey(code), wire.Purpose{Code: code, Name: name})
}

// DefineReason (operator) registers a reason code for revoking a record or
// a grant, or renames it. Idempotent.
func (c *Contract) DefineReason(ctx contractapi.TransactionContextInterface, code, name string) (_ *wire.Reason, err error) {
	defer ccutil.Guard(&err)
	if err := c.checkDefinition(ctx, code, name); err != nil {
		return nil, err
	}
	return defineCode(c, ctx, reasonKey(code), wire.Reason{Code: code, Name: name})
}

// GetPurpose returns one purpose; not_found if it is not registered. The
// sharing contract calls it across channels.
func (c *Contract) GetPurpose(ctx contractapi.TransactionContextInterface, code string) (_ *wire.Purpose, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateCode("code", code); err != nil {
		return nil, err
	}
	return ccutil.Load[wire.Purpose](ctx.GetStub(), purposeKey(code), wire.CodeNotFound, "purpose %s is not registered", code)
}

// ListPurposes returns every purpose, ordered by code.
func (c *Contract) ListPurposes(ctx contractapi.TransactionContextInterface) (_ []wire.Purpose, err error) {
	defer ccutil.Guard(&err)
	return ccutil.ScanJSON[wire.Purpose](ctx.GetStub(), objPurpose, nil)
}

// GetReason returns one revocation reason; not_found if it is not
// registered. The sharing contract calls it across channels.
func (c *Contract) GetReason(ctx contractapi.TransactionContextInterface, code string) (_ *wire.Reason, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateCode("code", code); err != nil {
		return nil, err
	}
	return ccutil.Load[wire.Reason](ctx.GetStub(), reasonKey(code), wire.CodeNotFound, "reason %s is not registered", code)
}

// ListReasons returns every revocation reason, ordered by code.
func (c *Contract) ListReasons(ctx contractapi.TransactionContextInterface) (_ []wire.Reason, err error) {
	defer ccutil.Guard(&err)
	return ccutil.ScanJSON[wire.Reason](ctx.GetStub(), objReason, nil)
}

// Accredit (operator) allows a registered department to issue a defined
// record type. Idempotent.
func (c *Contract) Accredit(ctx contractapi.TransactionContextInterface, mspID, recordType string) (_ *wire.Accreditation, err error) {
	defer ccutil.Guard(&err)
	return c.setAccreditation(ctx, mspID, recordType, true)
}

// Unaccredit (operator) withdraws an accreditation: the department can no
// longer append records of that type (existing records are unaffected).
// Idempotent; not_found if the department was never accredited for it.
func (c *Contract) Unaccredit(ctx contractapi.TransactionContextInterface, mspID, recordType string) (_ *wire.Accreditation, err error) {
	defer ccutil.Guard(&err)
	return c.setAccreditation(ctx, mspID, recordType, false)
}

func (c *Contract) setAccreditation(ctx contractapi.TransactionContextInterface, mspID, recordType string, active bool) (*wire.Accreditation, error) {
	if err := c.requireOperator(ctx); err != nil {
		return nil, err
	}
	if err := wire.ValidateMSPID("mspId", mspID); err != nil {
		return nil, err
	}
	if err := wire.ValidateCode("recordType", recordType); err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	vals, err := stub.GetMultipleStates(deptKey(mspID), typeKey(recordType), accrKey(mspID, recordType))
	if err != nil {
		return nil, ccutil.Internal("reading registry", err)
	}
	if len(vals) != 3 {
		return nil, wire.Errorf(wire.CodeInternal, "short multi-key read")
	}
	if len(vals[0]) == 0 {
		return nil, wire.Errorf(wire.CodeNotFound, "department %s is not registered", mspID)
	}
	if len(vals[1]) == 0 {
		return nil, wire.Errorf(wire.CodeNotFound, "record type %s is not defined", recordType)
	}
	want := wire.Accreditation{MSPID: mspID, RecordType: recordType, Active: active}
	if len(vals[2]) == 0 {
		if !active {
			return nil, wire.Errorf(wire.CodeNotFound, "department %s is not accredited for %s", mspID, recordType)
		}
	} else {
		var have wire.Accreditation
		if err := ccutil.Unmarshal(vals[2], &have); err != nil {
			return nil, err
		}
		if have == want {
			return &have, nil
		}
	}
	if err := c.putRegistry(ctx, accrKey(mspID, recordType), want); err != nil {
		return nil, err
	}
	return &want, nil
}

// GetDepartment returns one department (active or not); not_found if it was
// never registered.
func (c *Contract) GetDepartment(ctx contractapi.TransactionContextInterface, mspID string) (_ *wire.Department, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateMSPID("mspId", mspID); err != nil {
		return nil, err
	}
	d, err := ccutil.Load[wire.Department](ctx.GetStub(), deptKey(mspID), wire.CodeNotFound, "department %s is not registered", mspID)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ListDepartments returns every department, ordered by MSP ID.
func (c *Contract) ListDepartments(ctx contractapi.TransactionContextInterface) (_ []wire.Department, err error) {
	defer ccutil.Guard(&err)
	return ccutil.ScanJSON[wire.Department](ctx.GetStub(), objDept, nil)
}

// GetRecordType returns one record type; not_found if undefined.
func (c *Contract) GetRecordType(ctx contractapi.TransactionContextInterface, code string) (_ *wire.RecordType, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateCode("code", code); err != nil {
		return nil, err
	}
	t, err := ccutil.Load[wire.RecordType](ctx.GetStub(), typeKey(code), wire.CodeNotFound, "record type %s is not defined", code)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ListRecordTypes returns every record type, ordered by code.
func (c *Contract) ListRecordTypes(ctx contractapi.TransactionContextInterface) (_ []wire.RecordType, err error) {
	defer ccutil.Guard(&err)
	return ccutil.ScanJSON[wire.RecordType](ctx.GetStub(), objRecordType, nil)
}

// ListAccreditations returns the accreditations (active and withdrawn) of
// one department, or of all departments when mspId is "", ordered by
// (mspId, recordType).
func (c *Contract) ListAccreditations(ctx contractapi.TransactionContextInterface, mspID string) (_ []wire.Accreditation, err error) {
	defer ccutil.Guard(&err)
	var attrs []string
	if mspID != "" {
		if err := wire.ValidateMSPID("mspId", mspID); err != nil {
			return nil, err
		}
		attrs = []string{mspID}
	}
	return ccutil.ScanJSON[wire.Accreditation](ctx.GetStub(), objAccr, attrs)
}

// GetRegistry returns the whole registry in one read-only call (departments, record
// types, all accreditations, purposes, reasons), so that a reader makes one query
// instead of one per department.
func (c *Contract) GetRegistry(ctx contractapi.TransactionContextInterface) (_ *wire.Registry, err error) {
	defer ccutil.Guard(&err)
	stub := ctx.GetStub()
	reg := &wire.Registry{}
	if reg.Departments, err = ccutil.ScanJSON[wire.Department](stub, objDept, nil); err != nil {
		return nil, err
	}
	if reg.RecordTypes, err = ccutil.ScanJSON[wire.RecordType](stub, objRecordType, nil); err != nil {
		return nil, err
	}
	if reg.Accreditations, err = ccutil.ScanJSON[wire.Accreditation](stub, objAccr, nil); err != nil {
		return nil, err
	}
	if reg.Purposes, err = ccutil.ScanJSON[wire.Purpose](stub, objPurpose, nil); err != nil {
		return nil, err
	}
	if reg.Reasons, err = ccutil.ScanJSON[wire.Reason](stub, objReason, nil); err != nil {
		return nil, err
	}
	return reg, nil
}
