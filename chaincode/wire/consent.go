package wire

import "time"

// Consent request statuses. A pending request past its ExpiresAt counts as expired.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestDeclined = "declined"
	// RequestExpired is never stored: it is the status at a time of a pending
	// request past its expiry (ConsentRequest.StatusAt).
	RequestExpired = "expired"
)

// StatusAt is the request's status at t: its stored status, except that a pending
// request at or past its ExpiresAt is RequestExpired (it can no longer be approved).
func (r *ConsentRequest) StatusAt(t time.Time) string {
	if r.Status == RequestPending {
		if exp, err := ParseTime("expiresAt", r.ExpiresAt); err == nil && !t.Before(exp) {
			return RequestExpired
		}
	}
	return r.Status
}

// CheckRequestStatus validates a status filter: "" (any) or one of pending, approved,
// declined, expired.
func CheckRequestStatus(status string) error {
	switch status {
	case "", RequestPending, RequestApproved, RequestDeclined, RequestExpired:
		return nil
	}
	return Errorf(CodeInvalid, "status must be pending, approved, declined or expired")
}

// ConsentRequestPage is one page of a department's requests, newest first.
type ConsentRequestPage struct {
	Requests []ConsentRequest `json:"requests"`
	Bookmark string           `json:"bookmark"`
}

// ConsentDeclineKind is the kind of the document a subject signs to decline a request.
const ConsentDeclineKind = "edossier.consent-decline.v1"

// MaxRequestSpan bounds how long a consent request stays open.
const MaxRequestSpan = 30 * 24 * time.Hour

// ConsentRequestInput is what a department submits to ask a subject for access: the
// exact grant it asks for (its grantee is the department itself), a reference code of
// its application (no free text), and when the request lapses.
type ConsentRequestInput struct {
	Grant     Grant  `json:"grant"`
	Reference string `json:"reference"`
	ExpiresAt string `json:"expiresAt"`
}

// ConsentRequest is a stored request (channel datashare). Document is the canonical
// encoding of Grant (wire.EncodeGrant), base64: approving means signing exactly these
// bytes, so nothing can be altered between the request and the approval.
type ConsentRequest struct {
	RequestID string `json:"requestId"`
	SubjectID string `json:"subjectId"`
	Requester string `json:"requester"`
	Reference string `json:"reference"`
	Grant     Grant  `json:"grant"`
	Document  string `json:"document"`
	CreatedAt string `json:"createdAt"`
	CreatedTx string `json:"createdTxId"`
	ExpiresAt string `json:"expiresAt"`
	Status    string `json:"status"`
	// DecidedBy is the key that approved or declined ("key:<key ID>").
	DecidedBy string `json:"decidedBy"`
	DecidedAt string `json:"decidedAt"`
	DecidedTx string `json:"decidedTxId"`
}

// ConsentDecline is the document a subject (or its delegate) signs to decline.
type ConsentDecline struct {
	Kind      string `json:"kind"`
	RequestID string `json:"requestId"`
	SubjectID string `json:"subjectId"`
	IssuedAt  string `json:"issuedAt"`
	Nonce     string `json:"nonce"`
}

// DecodeConsentRequestInput strictly decodes a request and returns it with the
// canonical grant document and the parsed request expiry.
func DecodeConsentRequestInput(data []byte) (ConsentRequestInput, []byte, time.Time, error) {
	var in ConsentRequestInput
	if err := DecodeStrict(data, &in, MaxRequestBytes); err != nil {
		return in, nil, time.Time{}, err
	}
	if in.Grant.Kind == "" {
		in.Grant.Kind = GrantKind
	}
	doc, err := EncodeGrant(in.Grant)
	if err != nil {
		return in, nil, time.Time{}, err
	}
	g, _, err := ParseGrant(doc)
	if err != nil {
		return in, nil, time.Time{}, err
	}
	in.Grant = g
	if err := ValidateCode("reference", in.Reference); err != nil {
		return in, nil, time.Time{}, err
	}
	exp, err := ParseTime("expiresAt", in.ExpiresAt)
	if err != nil {
		return in, nil, time.Time{}, err
	}
	return in, doc, exp, nil
}

// ParseConsentDecline strictly decodes and validates a decline document.
func ParseConsentDecline(doc []byte) (ConsentDecline, time.Time, error) {
	var d ConsentDecline
	if err := DecodeSigned(doc, &d, MaxDocumentBytes); err != nil {
		return d, time.Time{}, err
	}
	if d.Kind != ConsentDeclineKind {
		return d, time.Time{}, Errorf(CodeInvalid, "kind must be %q", ConsentDeclineKind)
	}
	if err := ValidateID("requestId", d.RequestID); err != nil {
		return d, time.Time{}, err
	}
	if err := ValidateSubjectID("subjectId", d.SubjectID); err != nil {
		return d, time.Time{}, err
	}
	issued, err := ParseTime("issuedAt", d.IssuedAt)
	if err != nil {
		return d, time.Time{}, err
	}
	return d, issued, checkNonce(d.Nonce)
}
