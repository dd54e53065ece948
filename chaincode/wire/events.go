package wire

// Chaincode event names. Fabric keeps one event per transaction.
const (
	EventRecordAppended   = "RecordAppended"
	EventRecordRevoked    = "RecordRevoked"
	EventRecordSuperseded = "RecordSuperseded"
	EventGrantCreated     = "GrantCreated"
	EventGrantRevoked     = "GrantRevoked"
	EventAccessRecorded   = "AccessRecorded"
	// EventSubjectKeyChanged carries the KeyEvent of a key change (bound, added,
	// removed, recovery requested / cancelled / effective).
	EventSubjectKeyChanged = "SubjectKeyChanged"
)

// RecordRef identifies a record in an event.
type RecordRef struct {
	RecordID  string `json:"recordId"`
	SubjectID string `json:"subjectId"`
	Type      string `json:"type"`
	CID       string `json:"cid"`
}

// RecordAppendedEvent is emitted by AppendRecord and AppendRecords (one
// event per transaction listing every record the transaction created).
type RecordAppendedEvent struct {
	Issuer   string      `json:"issuer"`
	IssuedAt string      `json:"issuedAt"`
	TxID     string      `json:"txId"`
	Records  []RecordRef `json:"records"`
}

// RecordRevokedEvent is emitted by RevokeRecord.
type RecordRevokedEvent struct {
	RecordID  string `json:"recordId"`
	SubjectID string `json:"subjectId"`
	Issuer    string `json:"issuer"`
	Reason    string `json:"reason"`
	Time      string `json:"time"`
	TxID      string `json:"txId"`
}

// RecordSupersededEvent is emitted by SupersedeRecord; it also announces the
// new record (there is no separate RecordAppended event).
type RecordSupersededEvent struct {
	OldRecordID string    `json:"oldRecordId"`
	NewRecord   RecordRef `json:"newRecord"`
	SubjectID   string    `json:"subjectId"`
	Issuer      string    `json:"issuer"`
	Time        string    `json:"time"`
	TxID        string    `json:"txId"`
}

// GrantCreatedEvent is emitted by CreateGrant.
type GrantCreatedEvent struct {
	GrantID   string `json:"grantId"`
	SubjectID string `json:"subjectId"`
	Grantee   string `json:"grantee"`
	// Grantees are the departments of a grant with parts (Grantee is then "").
	Grantees  []string   `json:"grantees,omitempty"`
	Matter    *MatterRef `json:"matter,omitempty"`
	ValidFrom string     `json:"validFrom"`
	ExpiresAt string     `json:"expiresAt"`
	TxID      string     `json:"txId"`
}

// GrantRevokedEvent is emitted by RevokeGrant.
type GrantRevokedEvent struct {
	GrantID   string   `json:"grantId"`
	SubjectID string   `json:"subjectId"`
	Grantee   string   `json:"grantee"`
	Grantees  []string `json:"grantees,omitempty"`
	Time      string   `json:"time"`
	TxID      string   `json:"txId"`
}

// AccessRecordedEvent is emitted by RecordAccess, RecordOwnershipCheck and
// RecordSelfAccess (Kind says which).
type AccessRecordedEvent struct {
	EntryID   string `json:"entryId"`
	Kind      string `json:"kind"`
	SubjectID string `json:"subjectId"`
	RecordID  string `json:"recordId"`
	GrantID   string `json:"grantId"`
	Org       string `json:"org"`
	Time      string `json:"time"`
	TxID      string `json:"txId"`
}
