package cctest

import (
	"fmt"

	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// Leaves returns n batch leaves "<prefix>-<i>" of subject "1" (even i) and
// "2" (odd i), types birth-cert and marriage alternating.
func Leaves(prefix string, n int) []wire.BatchLeaf {
	out := make([]wire.BatchLeaf, n)
	for i := range out {
		id := fmt.Sprintf("%s-%05d", prefix, i)
		out[i] = wire.BatchLeaf{
			RecordID: id, SubjectID: Subject(fmt.Sprint(1 + i%2)), Type: []string{BirthCert, Marriage}[i%2],
			CID: FileCID("content:" + id), Size: int64(1024 + i), MediaType: "application/pdf",
		}
	}
	return out
}

// EncodeBatch is wire.EncodeBatch failing the test on error.
func (e *Env) EncodeBatch(batchID string, leaves []wire.BatchLeaf) string {
	e.T.Helper()
	b, err := wire.EncodeBatch(&wire.Batch{BatchID: batchID, Leaves: leaves})
	if err != nil {
		e.T.Fatal(err)
	}
	return string(b)
}

// Anchor anchors leaves as batch batchID by id and returns the anchor.
func (e *Env) Anchor(id *fakeledger.Identity, batchID string, leaves []wire.BatchLeaf) wire.BatchAnchor {
	e.T.Helper()
	return Decode[wire.BatchAnchor](e.T, e.OK(e.Dossier(id, "AnchorBatch", e.EncodeBatch(batchID, leaves))))
}

// Proof returns the BatchProof document of leaves[i] in batch batchID
// anchored by issuer on channel municipal.
func (e *Env) Proof(issuer, batchID string, leaves []wire.BatchLeaf, i int) string {
	e.T.Helper()
	return JSON(e.T, e.ProofDoc(issuer, batchID, leaves, i))
}

// ProofDoc is Proof before encoding.
func (e *Env) ProofDoc(issuer, batchID string, leaves []wire.BatchLeaf, i int) wire.BatchProof {
	e.T.Helper()
	tree, err := wire.NewBatchTree(wire.BatchContext{Channel: Municipal, Chaincode: "dossier", BatchID: batchID, Issuer: issuer}, leaves)
	if err != nil {
		e.T.Fatal(err)
	}
	p, err := tree.InclusionProof(uint64(i))
	if err != nil {
		e.T.Fatal(err)
	}
	return wire.BatchProof{BatchID: batchID, Index: uint64(i), Leaf: leaves[i], Proof: wire.HexPath(p)}
}
