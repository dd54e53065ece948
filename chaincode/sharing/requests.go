package sharing

import (
	"encoding/base64"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// Consent requests: a department asks a subject for access; the subject (or its
// delegate) approves by signing exactly the requested grant, or declines. A request
// lapses at its expiry; an altered or lapsed request cannot be approved.

const (
	objRequest     = "creq"         // (requestId) -> ConsentRequest
	objSubjRequest = "subject~creq" // (subjectId, requestId) -> 0x00
	// objReqRequest indexes a department's requests newest first; the status is read
	// from the request key, so deciding a request writes no index key.
	objReqRequest = "requester~creq" // (requester MSP ID, invertedNanos %019d, requestId) -> 0x00
)

func requestKey(id string) string              { return ccutil.MustKey(objRequest, id) }
func subjRequestKey(subject, id string) string { return ccutil.MustKey(objSubjRequest, subject, id) }
func reqRequestKey(requester, inv, id string) string {
	return ccutil.MustKey(objReqRequest, requester, inv, id)
}

// RequestConsent (an active department) asks a subject for the grant in request (a
// wire.ConsentRequestInput JSON document). The grant must give the creator a part (its
// grantee, or one of its parts: e.g. civil affairs asks for the whole newborn matter);
// its departments and purposes registered, its matter version current (unknown_matter); the request expires at most 30 days ahead. Refused:
// invalid request, forbidden (not an active department, or a grant for another
// grantee), conflict (grant ID already used). The request ID is the transaction ID.
func (c *Contract) RequestConsent(ctx contractapi.TransactionContextInterface, request string) (_ *wire.ConsentRequest, err error) {
	defer ccutil.Guard(&err)
	in, doc, exp, err := wire.DecodeConsentRequestInput([]byte(request))
	if err != nil {
		return nil, err
	}
	now, nowS, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	if !exp.After(now) || exp.Sub(now) > wire.MaxRequestSpan {
		return nil, wire.Errorf(wire.CodeInvalid, "expiresAt must be after now and at most 30 days ahead")
	}
	org, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	if _, err := c.activeDepartment(stub, org); err != nil {
		return nil, err
	}
	if !in.Grant.Names(org) {
		return nil, wire.Errorf(wire.CodeForbidden, "a department asks for a grant that gives it a part, not only to others")
	}
	if err := c.checkParties(stub, &in.Grant); err != nil {
		return nil, err
	}
	if used, err := stub.GetState(grantKey(in.Grant.GrantID)); err != nil {
		return nil, ccutil.Internal("reading grant", err)
	} else if len(used) > 0 {
		return nil, wire.Errorf(wire.CodeConflict, "grant ID %s is already used", in.Grant.GrantID)
	}
	r := &wire.ConsentRequest{
		RequestID: stub.GetTxID(), SubjectID: in.Grant.SubjectID, Requester: org, Reference: in.Reference,
		Grant: in.Grant, Document: base64.StdEncoding.EncodeToString(doc), CreatedAt: nowS, CreatedTx: stub.GetTxID(),
		ExpiresAt: wire.FormatTime(exp), Status: wire.RequestPending,
	}
	if err := ccutil.PutJSON(stub, requestKey(r.RequestID), r); err != nil {
		return nil, err
	}
	if err := stub.PutState(subjRequestKey(r.SubjectID, r.RequestID), ccutil.IndexValue); err != nil {
		return nil, ccutil.Internal("writing request index", err)
	}
	inv, err := invertedNanos(now)
	if err != nil {
		return nil, err
	}
	if err := stub.PutState(reqRequestKey(org, inv, r.RequestID), ccutil.IndexValue); err != nil {
		return nil, ccutil.Internal("writing requester index", err)
	}
	return r, nil
}

// loadOpenRequest loads a pending, unexpired request.
func loadOpenRequest(ctx contractapi.TransactionContextInterface, requestID string) (*wire.ConsentRequest, error) {
	if err := wire.ValidateID("requestId", requestID); err != nil {
		return nil, err
	}
	r, err := ccutil.Load[wire.ConsentRequest](ctx.GetStub(), requestKey(requestID), wire.CodeNotFound, "consent request %s does not exist", requestID)
	if err != nil {
		return nil, err
	}
	if r.Status != wire.RequestPending {
		return nil, wire.Errorf(wire.CodeConflict, "consent request %s is %s", requestID, r.Status)
	}
	now, _, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	exp, err := wire.ParseTime("expiresAt", r.ExpiresAt)
	if err != nil {
		return nil, wire.Errorf(wire.CodeInternal, "stored request: %s", err)
	}
	if !now.Before(exp) {
		return nil, wire.Errorf(wire.CodeExpired, "consent request %s expired at %s", requestID, r.ExpiresAt)
	}
	return r, nil
}

// ApproveConsentRequest creates the requested grant: document must be exactly the
// request's grant document (any other bytes: invalid, the request was altered) and
// signature the subject's or a live delegate's. Refused as CreateGrant, plus: unknown
// request (not_found), decided (conflict), lapsed (expired).
func (c *Contract) ApproveConsentRequest(ctx contractapi.TransactionContextInterface, requestID, document, signature string) (_ *wire.GrantState, err error) {
	defer ccutil.Guard(&err)
	r, err := loadOpenRequest(ctx, requestID)
	if err != nil {
		return nil, err
	}
	if base64.StdEncoding.EncodeToString([]byte(document)) != r.Document {
		return nil, wire.Errorf(wire.CodeInvalid, "the document is not the requested grant: sign exactly the request's document")
	}
	st, err := c.CreateGrant(ctx, document, signature)
	if err != nil {
		return nil, err
	}
	_, nowS, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	r.Status, r.DecidedBy, r.DecidedAt, r.DecidedTx = wire.RequestApproved, "key:"+st.SignerKeyID, nowS, ctx.GetStub().GetTxID()
	if err := ccutil.PutJSON(ctx.GetStub(), requestKey(r.RequestID), r); err != nil {
		return nil, err
	}
	return st, nil
}

// DeclineConsentRequest declines a request with a wire.ConsentDecline signed by the
// subject or a live delegate.
func (c *Contract) DeclineConsentRequest(ctx contractapi.TransactionContextInterface, document, signature string) (_ *wire.ConsentRequest, err error) {
	defer ccutil.Guard(&err)
	doc := []byte(document)
	d, _, nowS, err := ccutil.ParseStatement(ctx, doc, wire.ParseConsentDecline)
	if err != nil {
		return nil, err
	}
	r, err := loadOpenRequest(ctx, d.RequestID)
	if err != nil {
		return nil, err
	}
	if r.SubjectID != d.SubjectID {
		return nil, wire.Errorf(wire.CodeForbidden, "consent request %s is for another subject", d.RequestID)
	}
	sg, err := signedForSubject(ctx, r.SubjectID, doc, signature)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	if err := useStatement(stub, doc); err != nil {
		return nil, err
	}
	r.Status, r.DecidedBy, r.DecidedAt, r.DecidedTx = wire.RequestDeclined, "key:"+sg.key.KeyID, nowS, stub.GetTxID()
	if err := ccutil.PutJSON(stub, requestKey(r.RequestID), r); err != nil {
		return nil, err
	}
	return r, nil
}

// GetConsentRequest returns a request to the operator or its requester (not_found for
// anyone else).
func (c *Contract) GetConsentRequest(ctx contractapi.TransactionContextInterface, requestID string) (_ *wire.ConsentRequest, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateID("requestId", requestID); err != nil {
		return nil, err
	}
	msp, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	r, err := ccutil.Load[wire.ConsentRequest](ctx.GetStub(), requestKey(requestID), wire.CodeNotFound, "consent request %s does not exist", requestID)
	if err != nil {
		return nil, err
	}
	if msp != c.cfg.OperatorMSP && msp != r.Requester {
		return nil, wire.Errorf(wire.CodeNotFound, "consent request %s does not exist", requestID)
	}
	return r, nil
}

// ListConsentRequests returns a subject's requests (all statuses, by request ID).
// Operator only (its gateway answers the subject's signed requests).
func (c *Contract) ListConsentRequests(ctx contractapi.TransactionContextInterface, subjectID string) (_ []wire.ConsentRequest, err error) {
	defer ccutil.Guard(&err)
	if err := c.requireReader(ctx); err != nil {
		return nil, err
	}
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	var keys []string
	err = ccutil.Scan(stub, objSubjRequest, []string{subjectID}, func(k string, _ []byte) error {
		id, err := ccutil.LastAttr(k)
		if err != nil {
			return err
		}
		keys = append(keys, requestKey(id))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return requestsAt(stub, keys)
}

// requestsAt reads the consent requests under keys, in that order.
func requestsAt(stub shim.ChaincodeStubInterface, keys []string) ([]wire.ConsentRequest, error) {
	out := []wire.ConsentRequest{}
	if len(keys) == 0 {
		return out, nil
	}
	vals, err := stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, ccutil.Internal("reading requests", err)
	}
	for _, v := range vals {
		var r wire.ConsentRequest
		if err := ccutil.Unmarshal(v, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// MyConsentRequests returns one page of the calling department's own consent requests
// across subjects, newest first: the requester is the creator's MSP ID, never an
// argument, so a department sees no other department's requests. The creator must be
// an active department (forbidden otherwise; the operator reads a subject's requests
// with ListConsentRequests). status filters by the status at the transaction time
// ("" any; pending, approved, declined, expired; invalid otherwise): a filtered page
// may hold fewer than pageSize requests while the bookmark says more follow. pageSize
// is a decimal string ("" = wire.DefaultPageSize, max wire.MaxPageSize); bookmark ""
// for the first page. Evaluate only.
func (c *Contract) MyConsentRequests(ctx contractapi.TransactionContextInterface, status, pageSize, bookmark string) (_ *wire.ConsentRequestPage, err error) {
	defer ccutil.Guard(&err)
	if err := wire.CheckRequestStatus(status); err != nil {
		return nil, err
	}
	org, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	if _, err := c.activeDepartment(stub, org); err != nil {
		return nil, err
	}
	now, _, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	var keys []string
	next, err := ccutil.Page(stub, objReqRequest, []string{org}, pageSize, bookmark, func(k string, _ []byte) error {
		id, err := ccutil.LastAttr(k)
		if err != nil {
			return err
		}
		keys = append(keys, requestKey(id))
		return nil
	})
	if err != nil {
		return nil, err
	}
	page := &wire.ConsentRequestPage{Requests: []wire.ConsentRequest{}, Bookmark: next}
	reqs, err := requestsAt(stub, keys)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		if r.Requester != org {
			return nil, wire.Errorf(wire.CodeInternal, "requester index of %s names request %s of %s", org, r.RequestID, r.Requester)
		}
		if status == "" || r.StatusAt(now) == status {
			page.Requests = append(page.Requests, r)
		}
	}
	return page, nil
}
