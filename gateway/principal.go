package gateway

// Role of an authenticated caller.
type Role string

// Roles.
const (
	RoleDepartment Role = "department" // a department user, by API key
	RoleOperator   Role = "operator"   // a platform operator, by API key
	RoleVerifier   Role = "verifier"   // a verifier organisation (bank, school), by API key
	RoleCitizen    Role = "citizen"    // a subject, by request signature
	RolePublic     Role = "public"     // an anonymous verifier
)

// Principal is who makes a request.
type Principal struct {
	Role Role
	// Org is the organisation (connection-file name) whose Fabric identity acts for
	// department and operator callers; MSPID is its MSP ID.
	Org   string
	MSPID string
	// User is the Fabric identity (enrolment ID) that signs the caller's transactions.
	User string
	// KeyID names the API key used (never the key itself), or for citizens the subject
	// key that signed the request.
	KeyID string
	// SubjectID is set for citizens.
	SubjectID string
	// Verifier is the verifier organisation's name for the verifier role (its key maps
	// to the platform's Fabric identity; the name is what the platform asserts on the
	// ledger when it checks ownership for it).
	Verifier string
}

// Receipt says where a write landed on the ledger.
type Receipt struct {
	Channel string `json:"channel"`
	TxID    string `json:"txId"`
	Block   uint64 `json:"block"`
}

// Actor is the Fabric identity a ledger call runs as.
type Actor struct {
	Org  string // organisation name (connection file) or MSP ID
	User string // enrolment ID
}

// Actor returns the Fabric identity of a department or operator principal.
func (p Principal) Actor() Actor { return Actor{Org: p.Org, User: p.User} }
