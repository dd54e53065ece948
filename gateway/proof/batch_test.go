package proof

import (
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// batchStory is how a batch scenario's ledger is made: batch "bt-1" of seven leaves
// anchored by Health in block 7 (beside another transaction), leaf 3 proved, its
// status changed in block 9 if status is set.
type batchStory struct {
	status                           string // "", revoked, superseded
	creator, changer                 signer
	anchorEndorsers, changeEndorsers []signer
	blockSigners                     []signer
	issuer                           string // the anchor's issuer (default the creator's)
}

func (w *world) defaultBatchStory(status string) batchStory {
	o := w.orgs
	return batchStory{status: status, creator: o["HealthMSP"].client, changer: o["HealthMSP"].client,
		anchorEndorsers: []signer{o["HealthMSP"].peer, o["CivilAffairsMSP"].peer, o["OperatorMSP"].peer},
		changeEndorsers: []signer{o["HealthMSP"].peer, o["SocialSecurityMSP"].peer, o["PublicSecurityMSP"].peer},
		blockSigners:    []signer{o["OperatorMSP"].orderer}}
}

func testLeaves(batchID string, n int) []wire.BatchLeaf {
	leaves := make([]wire.BatchLeaf, n)
	for i := range leaves {
		c := wire.CIDFromSHA256(must(hex.DecodeString(fmt.Sprintf("%064x", 1000+i)))).String()
		leaves[i] = wire.BatchLeaf{RecordID: fmt.Sprintf("%s.%d", batchID, i), SubjectID: subject, Type: "birth-certificate", CID: c, Size: int64(100 + i), MediaType: "application/pdf"}
	}
	return leaves
}

// anchorOf builds the anchor of leaves as batch id by issuer, and the inclusion proof
// of leaf index.
func anchorOf(t *testing.T, id, issuer string, leaves []wire.BatchLeaf, index uint64) (wire.BatchAnchor, wire.BatchProof) {
	t.Helper()
	tree, err := wire.NewBatchTree(wire.BatchContext{Channel: "municipal", Chaincode: wire.DossierContract, BatchID: id, Issuer: issuer}, leaves)
	if err != nil {
		t.Fatal(err)
	}
	path, err := tree.InclusionProof(index)
	if err != nil {
		t.Fatal(err)
	}
	a := wire.BatchAnchor{BatchID: id, Root: hex.EncodeToString(tree.Root()), Size: tree.Size(), Issuer: issuer, AnchoredAt: "2026-12-01T10:00:00Z"}
	return a, wire.BatchProof{BatchID: id, Index: index, Leaf: leaves[index], Proof: wire.HexPath(path)}
}

func (w *world) batchScenario(t *testing.T, s batchStory) *gateway.ProofBundle {
	t.Helper()
	issuer := s.issuer
	if issuer == "" {
		issuer = s.creator.msp
	}
	a, p := anchorOf(t, "bt-1", issuer, testLeaves("bt-1", 7), 3)
	other, _ := w.envelope(txSpec{creator: w.orgs["CivilAffairsMSP"].client, endorsers: s.anchorEndorsers,
		writes: func(string) map[string][]byte { return map[string][]byte{recordKey("r-0"): []byte(`{}`)} }})
	env, txID := w.envelope(txSpec{creator: s.creator, endorsers: s.anchorEndorsers, writes: func(id string) map[string][]byte {
		a.TxID = id
		return map[string][]byte{batchKey("bt-1"): must(wire.Marshal(a))}
	}})
	blocks := map[string]*common.Block{txID: w.block(7, [][]byte{other, env}, s.blockSigners...)}
	br := wire.BatchRecord{BatchID: "bt-1", Index: 3, Root: a.Root}
	var st *wire.BatchRecordStatus
	if s.status != "" {
		env2, tx2 := w.envelope(txSpec{creator: s.changer, endorsers: s.changeEndorsers, writes: func(id string) map[string][]byte {
			st = &wire.BatchRecordStatus{BatchID: "bt-1", Index: 3, RecordID: p.Leaf.RecordID, Status: s.status, StatusChangedAt: "2026-12-01T11:00:00Z", StatusTxID: id}
			if s.status == wire.StatusRevoked {
				st.Reason = "issued-in-error"
			} else {
				st.SupersededBy = "r-new"
			}
			return map[string][]byte{batchKey("bt-1"): must(wire.Marshal(a)), batchStatusKey("bt-1", 3): must(wire.Marshal(st))}
		}})
		blocks[tx2] = w.block(9, [][]byte{env2}, s.blockSigners...)
	}
	br.Record = a.RecordOf(&p.Leaf, st)
	b := &Builder{Blocks: &blockMap{byTx: blocks, height: 12}, Channel: "municipal", Chaincode: "dossier"}
	bundle, err := b.BuildBatch(t.Context(), br, p)
	if err != nil {
		t.Fatal(err)
	}
	return bundle
}

func TestGenuineBatchBundlesAccepted(t *testing.T) {
	w := newWorld()
	for _, status := range []string{"", wire.StatusRevoked, wire.StatusSuperseded} {
		b := w.batchScenario(t, w.defaultBatchStory(status))
		rep, err := Verify(b, w.roots)
		if err != nil {
			t.Fatalf("status %q: %v", status, err)
		}
		want := status
		if want == "" {
			want = wire.StatusActive
		}
		if rep.Record.Status != want || rep.Record.RecordID != "bt-1.3" || rep.Record.Issuer != "HealthMSP" || rep.Record.Size != 103 ||
			rep.Batch == nil || rep.Batch.Index != 3 || rep.Batch.Size != 7 || rep.AppendBlock != 7 || rep.StatusAtBlock != 11 ||
			len(rep.Endorsers[0]) != 3 || len(rep.Orderers[0]) != 1 {
			t.Fatalf("status %q: report %+v", status, rep)
		}
		if status != "" && (rep.StatusBlock != 9 || rep.Record.StatusTxID != b.Transactions[1].TxID || len(rep.Endorsers) != 2) {
			t.Fatalf("status %q: report %+v", status, rep)
		}
		if status == wire.StatusRevoked && rep.Record.Reason != "issued-in-error" {
			t.Fatalf("reason %q", rep.Record.Reason)
		}
	}
}

// TestBatchBundleCorruptions flips every byte of the batch part's values and of the
// inclusion proof, changes every leaf field and position, truncates the proof, replays
// the leaf into another batch and swaps the parts of two bundles: each refused.
func TestBatchBundleCorruptions(t *testing.T) {
	w := newWorld()
	genuine := w.batchScenario(t, w.defaultBatchStory(wire.StatusRevoked))
	v := NewVerifier(w.roots)
	if _, err := v.Verify(genuine); err != nil {
		t.Fatal(err)
	}
	n := 0
	flipAll := func(name string, field func(b *gateway.ProofBundle) []byte) {
		size := len(field(genuine))
		if size == 0 {
			t.Fatalf("%s is empty", name)
		}
		stride := 1
		if testing.Short() {
			stride = 5 // the fast tier: every fifth byte
		}
		for i := 0; i < size; i += stride {
			b := clone(genuine)
			field(b)[i] ^= 0x01
			n++
			if _, err := v.Verify(b); err == nil {
				t.Errorf("%s byte %d of %d flipped: accepted", name, i, size)
				return
			}
		}
	}
	flipAll("anchorValue", func(b *gateway.ProofBundle) []byte { return b.Batch.AnchorValue })
	flipAll("statusValue", func(b *gateway.ProofBundle) []byte { return b.Batch.StatusValue })
	for ti := range genuine.Transactions {
		for di := range genuine.Transactions[ti].Data {
			flipAll("data", func(b *gateway.ProofBundle) []byte { return b.Transactions[ti].Data[di] })
		}
	}
	for hi := range genuine.Batch.Proof.Proof {
		for ci := 0; ci < 64; ci++ {
			b := clone(genuine)
			h := []byte(b.Batch.Proof.Proof[hi])
			h[ci] = "10"[map[bool]int{true: 1, false: 0}[h[ci] == '1']] // another hex digit
			b.Batch.Proof.Proof[hi] = string(h)
			n++
			refused(t, fmt.Sprintf("proof hash %d digit %d", hi, ci), b, w.roots)
		}
	}
	otherCID := wire.CIDFromSHA256(make([]byte, 32)).String()
	cases := map[string]func(b *gateway.ProofBundle){
		"leaf recordId":        func(b *gateway.ProofBundle) { b.Batch.Proof.Leaf.RecordID = "bt-1.4"; b.RecordID = "bt-1.4" },
		"leaf subjectId":       func(b *gateway.ProofBundle) { b.Batch.Proof.Leaf.SubjectID = "p-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" },
		"leaf type":            func(b *gateway.ProofBundle) { b.Batch.Proof.Leaf.Type = "death-certificate" },
		"leaf cid":             func(b *gateway.ProofBundle) { b.Batch.Proof.Leaf.CID = otherCID },
		"leaf size":            func(b *gateway.ProofBundle) { b.Batch.Proof.Leaf.Size++ },
		"leaf mediaType":       func(b *gateway.ProofBundle) { b.Batch.Proof.Leaf.MediaType = "text/plain" },
		"leaf invalid":         func(b *gateway.ProofBundle) { b.Batch.Proof.Leaf.SubjectID = "110101199003077777" },
		"index":                func(b *gateway.ProofBundle) { b.Batch.Proof.Index = 2 },
		"index beyond":         func(b *gateway.ProofBundle) { b.Batch.Proof.Index = 7 },
		"batchId":              func(b *gateway.ProofBundle) { b.Batch.Proof.BatchID = "bt-2" },
		"recordId of bundle":   func(b *gateway.ProofBundle) { b.RecordID = "bt-1.4" },
		"channel":              func(b *gateway.ProofBundle) { b.Channel = "datashare" },
		"truncated proof":      func(b *gateway.ProofBundle) { b.Batch.Proof.Proof = b.Batch.Proof.Proof[:len(b.Batch.Proof.Proof)-1] },
		"no proof":             func(b *gateway.ProofBundle) { b.Batch.Proof.Proof = nil },
		"proof hash too short": func(b *gateway.ProofBundle) { b.Batch.Proof.Proof[0] = b.Batch.Proof.Proof[0][:62] },
		"proof hash extra": func(b *gateway.ProofBundle) {
			b.Batch.Proof.Proof = append(b.Batch.Proof.Proof, b.Batch.Proof.Proof[0])
		},
		"record value set":     func(b *gateway.ProofBundle) { b.RecordValue = []byte(`{}`) },
		"status dropped":       func(b *gateway.ProofBundle) { b.Transactions = b.Transactions[:1] },
		"status value dropped": func(b *gateway.ProofBundle) { b.Batch.StatusValue = nil },
		"statusAtBlock":        func(b *gateway.ProofBundle) { b.StatusAtBlock = 8 },
		"swapped txs": func(b *gateway.ProofBundle) {
			b.Transactions[0], b.Transactions[1] = b.Transactions[1], b.Transactions[0]
		},
		"anchor value of the status tx": func(b *gateway.ProofBundle) { b.Batch.AnchorValue = b.Batch.StatusValue },
	}
	for name, mutate := range cases {
		b := clone(genuine)
		mutate(b)
		n++
		refused(t, name, b, w.roots)
	}

	// The same leaf anchored in another batch (by the same issuer, same index): its
	// proof in batch bt-2 does not prove it in the bundle's batch bt-1, and the other
	// way round.
	leaves := testLeaves("bt-1", 7)
	_, p2 := anchorOf(t, "bt-2", "HealthMSP", leaves, 3)
	b := clone(genuine)
	b.Batch.Proof.Proof = p2.Proof
	refused(t, "the inclusion proof of the same leaf in batch bt-2", b, w.roots)
	b = clone(genuine)
	b.Batch.Proof.BatchID = "bt-2"
	b.Batch.Proof.Proof = p2.Proof
	refused(t, "the leaf replayed under batch bt-2's ID and proof", b, w.roots)
	t.Logf("%d corruptions refused", n)
}

func TestBatchSignaturesOfTheWrongOrganisationRefused(t *testing.T) {
	w := newWorld()
	o := w.orgs
	cases := map[string]func(s *batchStory){
		"anchor endorsed by two organisations": func(s *batchStory) { s.anchorEndorsers = s.anchorEndorsers[:2] },
		"anchor endorsed by a foreign CA":      func(s *batchStory) { s.anchorEndorsers[2] = newOrg("OperatorMSP").peer },
		// The anchor names Health as issuer, submitted by Civil Affairs.
		"anchored by another department": func(s *batchStory) { s.creator, s.issuer = o["CivilAffairsMSP"].client, "HealthMSP" },
		"changed by another department":  func(s *batchStory) { s.changer = o["CivilAffairsMSP"].client },
		"change without the issuer's peer": func(s *batchStory) {
			s.changeEndorsers = []signer{o["CivilAffairsMSP"].peer, o["SocialSecurityMSP"].peer, o["PublicSecurityMSP"].peer}
		},
		// The new status key falls under the chaincode's majority policy.
		"change endorsed by the issuer alone": func(s *batchStory) { s.changeEndorsers = []signer{o["HealthMSP"].peer} },
		"block signed by a peer":              func(s *batchStory) { s.blockSigners = []signer{o["CivilAffairsMSP"].peer} },
	}
	for name, mutate := range cases {
		s := w.defaultBatchStory(wire.StatusRevoked)
		s.anchorEndorsers = append([]signer{}, s.anchorEndorsers...)
		mutate(&s)
		refused(t, name, w.batchScenario(t, s), w.roots)
	}
	b := w.batchScenario(t, w.defaultBatchStory(""))
	refused(t, "roots lacking the issuer", b, Roots{"OperatorMSP": w.roots["OperatorMSP"], "CivilAffairsMSP": w.roots["CivilAffairsMSP"]})
}
