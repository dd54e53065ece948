package dossier

import (
	"strconv"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// Matters ("get one thing done"): the operator defines which departments take part in
// a matter, and for each the record types it reads and the purpose code. Each change
// is a new version; versions are never rewritten, so a grant can pin the version its
// subject signed. Like the other registry keys, a matter key is pinned to the
// operator's peer by a key-level endorsement policy.

const objMatter = "matter" // (code, version %06d) -> Matter

func matterKey(code string, version int) string {
	return ccutil.MustKey(objMatter, code, pad6(version))
}

func pad6(n int) string {
	b := []byte("000000")
	for i := 5; i >= 0 && n > 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}

// DefineMatter (operator) defines a matter from a wire.MatterDefinition JSON document,
// or a new version of it. Every part's department must be a registered active
// department, its record types defined and its purpose registered (invalid
// otherwise). Defining the content of the latest version again returns it unchanged.
func (c *Contract) DefineMatter(ctx contractapi.TransactionContextInterface, definition string) (_ *wire.Matter, err error) {
	defer ccutil.Guard(&err)
	if err := c.requireOperator(ctx); err != nil {
		return nil, err
	}
	d, err := wire.DecodeMatterDefinition([]byte(definition))
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	keys := []string{}
	for _, p := range d.Parts {
		keys = append(keys, deptKey(p.Department), purposeKey(p.Purpose))
		for _, t := range p.RecordTypes {
			keys = append(keys, typeKey(t))
		}
	}
	vals, err := stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, ccutil.Internal("reading registry", err)
	}
	if len(vals) != len(keys) {
		return nil, wire.Errorf(wire.CodeInternal, "short multi-key read")
	}
	i := 0
	for _, p := range d.Parts {
		var dept wire.Department
		if len(vals[i]) == 0 || ccutil.Unmarshal(vals[i], &dept) != nil || !dept.Active {
			return nil, wire.Errorf(wire.CodeInvalid, "%s is not an active registered department", p.Department)
		}
		if len(vals[i+1]) == 0 {
			return nil, wire.Errorf(wire.CodeInvalid, "purpose %s is not registered", p.Purpose)
		}
		i += 2
		for _, t := range p.RecordTypes {
			if len(vals[i]) == 0 {
				return nil, wire.Errorf(wire.CodeInvalid, "record type %s is not defined", t)
			}
			i++
		}
	}
	versions, err := ccutil.ScanJSON[wire.Matter](stub, objMatter, []string{d.Code})
	if err != nil {
		return nil, err
	}
	next := 1
	if n := len(versions); n > 0 {
		latest := versions[n-1]
		if latest.SameContent(&d) {
			return &latest, nil
		}
		if latest.Version >= wire.MaxMatterVersions {
			return nil, wire.Errorf(wire.CodeConflict, "matter %s has too many versions", d.Code)
		}
		next = latest.Version + 1
	}
	_, now, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	m := wire.Matter{Code: d.Code, Version: next, Name: d.Name, Parts: d.Parts, DefinedAt: now, TxID: stub.GetTxID()}
	if err := c.putRegistry(ctx, matterKey(m.Code, m.Version), m); err != nil {
		return nil, err
	}
	return &m, nil
}

// GetMatter returns one version of a matter ("" or "0": the latest); not_found if the
// matter or the version does not exist.
func (c *Contract) GetMatter(ctx contractapi.TransactionContextInterface, code, version string) (_ *wire.Matter, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateCode("code", code); err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	if version == "" || version == "0" {
		versions, err := ccutil.ScanJSON[wire.Matter](stub, objMatter, []string{code})
		if err != nil {
			return nil, err
		}
		if len(versions) == 0 {
			return nil, wire.Errorf(wire.CodeNotFound, "matter %s is not defined", code)
		}
		return &versions[len(versions)-1], nil
	}
	v, err := strconv.Atoi(version)
	if err != nil || v < 1 || v > wire.MaxMatterVersions || strconv.Itoa(v) != version {
		return nil, wire.Errorf(wire.CodeInvalid, "version must be an integer in 1..%d", wire.MaxMatterVersions)
	}
	return ccutil.Load[wire.Matter](stub, matterKey(code, v), wire.CodeNotFound, "matter %s has no version %d", code, v)
}

// ListMatters returns the latest version of every matter, ordered by code.
func (c *Contract) ListMatters(ctx contractapi.TransactionContextInterface) (_ []wire.Matter, err error) {
	defer ccutil.Guard(&err)
	all, err := ccutil.ScanJSON[wire.Matter](ctx.GetStub(), objMatter, nil)
	if err != nil {
		return nil, err
	}
	out := []wire.Matter{}
	for _, m := range all {
		if n := len(out); n > 0 && out[n-1].Code == m.Code {
			out[n-1] = m // versions of one code come in ascending order
			continue
		}
		out = append(out, m)
	}
	return out, nil
}
