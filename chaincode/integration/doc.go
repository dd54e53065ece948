// Package integration holds the real-network tests of the e-dossier chaincodes.
// It has no code of its own: its _test.go files start a Fabric network with
// network/nettest (the organisations of network/network.yaml, among them the
// operator, civil and health; channels municipal and datashare; the
// dossier and sharing contracts served by the chaincode server) and drive it
// through fabric-gateway exactly as the gateway service would.
//
//   - TestDossierAndSharingFlow walks the whole flow across both channels with
//     the operator, two departments and citizen keys: registry, appends,
//     queries and pagination, idempotent retries and concurrent appends,
//     batches (all or nothing), revocation, supersession, key-level
//     endorsement, subject keys and their rotation, signed grants, every
//     access refusal, department deactivation, the access log and the
//     events. Refusals are asserted by their wire.Code, never by message
//     text, and must happen at endorsement (the chaincode refuses; nothing
//     reaches the orderer). It takes about 20 s.
//
//   - BenchmarkAppend measures, on one network in the same run, a trivial
//     meta:Put (the Fabric baseline) against single and batch appends with a
//     bounded number of transactions in flight, and prints a summary table
//     with transactions/s, records/s, the ratio to the baseline, CPU per
//     transaction and per record, latency and where the CPU went:
//
//     go test ./chaincode/integration -run '^$' -bench . -benchtime 10s
//
//     Flags (after -args): -inflight (default 32, baseline and single
//     appends) and -inflight-batch (default 8, batches).
//
// Base ports: 21000 (flow test) and 21200 (benchmark).
package integration
