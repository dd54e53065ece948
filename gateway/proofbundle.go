package gateway

import "github.com/edossier-city/edossier/chaincode/wire"

// ProofFormat names the version of ProofBundle.
const ProofFormat = "edossier-proof/1"

// ProofBundle is a self-contained proof of a record that a verifier keeps and checks
// offline against the channel's MSP root certificates (gateway/proof.Verify):
//
//   - RecordValue is the record's state value, byte for byte as the last transaction of
//     Transactions wrote it;
//   - Transactions[0] is the transaction that appended the record; Transactions[1], if
//     present, the last one that changed its status (revocation, supersession);
//   - each transaction comes with its whole block's data (Fabric's block data hash is a
//     hash of all the block's envelopes, so all are needed), the block header, and the
//     orderers' signatures over it.
//
// For a record of an anchored batch, Batch is set and RecordValue is empty:
// Transactions[0] is the AnchorBatch transaction, Transactions[1] (if present) the one
// that wrote the record's sparse status key (revocation, supersession).
//
// StatusAtBlock states the channel block up to which the serving gateway saw no later
// write of the record: the status is as of that block. That statement is the
// gateway's; the rest is signed by the endorsing peers and the orderers.
type ProofBundle struct {
	Format        string    `json:"format"`
	Channel       string    `json:"channel"`
	Chaincode     string    `json:"chaincode"`
	RecordID      string    `json:"recordId"`
	RecordValue   []byte    `json:"recordValue"`
	Transactions  []ProofTx `json:"transactions"`
	StatusAtBlock uint64    `json:"statusAtBlock"`
	// Batch proves a record of an anchored batch; absent for a record appended alone.
	Batch *ProofBatch `json:"batch,omitempty"`
}

// ProofBatch is the batch part of a proof bundle: the leaf and its inclusion proof
// (wire.BatchProof), the batch key's value as the AnchorBatch transaction wrote it
// (root, size, issuer, time, transaction) and, after a status change, the record's
// sparse status key's value as the status transaction wrote it.
type ProofBatch struct {
	Proof       wire.BatchProof `json:"proof"`
	AnchorValue []byte          `json:"anchorValue"`
	StatusValue []byte          `json:"statusValue,omitempty"`
}

// ProofTx is one transaction of a proof and the block that orders it.
type ProofTx struct {
	TxID    string `json:"txId"`
	TxIndex int    `json:"txIndex"`
	// ValidationCode is the committing peer's verdict on the transaction (Fabric's
	// TxValidationCode; 0 = VALID). It is not covered by the orderers' signature.
	ValidationCode int32 `json:"validationCode"`
	// Header is the block header (protobuf common.BlockHeader); Data the block's
	// envelopes in order; Signatures the block metadata's SIGNATURES entry
	// (protobuf common.Metadata).
	Header     []byte   `json:"header"`
	Data       [][]byte `json:"data"`
	Signatures []byte   `json:"signatures"`
}
