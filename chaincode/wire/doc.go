// Package wire holds the types that cross the boundary between the e-dossier
// chaincode ("dossier" on channel municipal, "sharing" on channel datashare)
// and its clients (the REST gateway, the CLI): records, registry entries,
// grant and revocation documents, access-log entries, event payloads, error
// codes, limits, and the helpers that validate them (CID parsing, strict JSON
// decoding, subject-key signatures).
//
// The package depends on the standard library, go-cid and
// transparency-dev/merkle (RFC 6962 hashing for batch anchoring, batch.go) only. All types have
// a fixed JSON field order and no maps, so their encoding is deterministic.
// Times on the wire are RFC 3339 strings; times produced by the ledger are
// UTC with nanoseconds (time.RFC3339Nano).
package wire
