package wire

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
)

func testLeaves(n int) []BatchLeaf {
	out := make([]BatchLeaf, n)
	for i := range out {
		d := sha256.Sum256(fmt.Appendf(nil, "file %d", i))
		subj := testSubject
		if i%3 == 1 {
			subj = "e-" + testSubject[2:]
		}
		out[i] = BatchLeaf{
			RecordID: fmt.Sprintf("legacy-%07d", i), SubjectID: subj, Type: []string{"birth", "marriage"}[i%2],
			CID: CIDFromSHA256(d[:]).String(), Size: int64(1000 + i), MediaType: "application/pdf",
		}
	}
	return out
}

var testCtx = BatchContext{Channel: "municipal", Chaincode: "dossier", BatchID: "b-1", Issuer: "HealthMSP"}

func TestBatchEncodingRoundTripAndSize(t *testing.T) {
	leaves := testLeaves(8192)
	enc, err := EncodeBatch(&Batch{BatchID: "b-1", Leaves: leaves})
	if err != nil {
		t.Fatal(err)
	}
	per := float64(len(enc)) / float64(len(leaves))
	t.Logf("compact encoding: %d bytes for %d leaves, %.1f bytes per leaf", len(enc), len(leaves), per)
	if per >= 64 {
		t.Errorf("compact leaf is %.1f bytes, want under 64", per)
	}
	dec, err := DecodeBatch(enc)
	if err != nil {
		t.Fatal(err)
	}
	if dec.BatchID != "b-1" || len(dec.Leaves) != len(leaves) {
		t.Fatalf("decoded %s with %d leaves", dec.BatchID, len(dec.Leaves))
	}
	for i := range leaves {
		if dec.Leaves[i] != leaves[i] {
			t.Fatalf("leaf %d: got %+v want %+v", i, dec.Leaves[i], leaves[i])
		}
	}
}

func TestBatchEncodingRefusals(t *testing.T) {
	good := testLeaves(3)
	enc, err := EncodeBatch(&Batch{BatchID: "b-1", Leaves: good})
	if err != nil {
		t.Fatal(err)
	}
	dup := testLeaves(2)
	dup[1].RecordID = dup[0].RecordID
	badSubj := testLeaves(1)
	badSubj[0].SubjectID = "110101202611201235"
	for name, b := range map[string]*Batch{
		"empty":      {BatchID: "b-1"},
		"oversized":  {BatchID: "b-1", Leaves: make([]BatchLeaf, MaxAnchorBatch+1)},
		"duplicate":  {BatchID: "b-1", Leaves: dup},
		"raw-id":     {BatchID: "b-1", Leaves: badSubj},
		"no-batchid": {Leaves: good},
	} {
		if _, err := EncodeBatch(b); codeOf(err) != CodeInvalid {
			t.Errorf("%s: EncodeBatch = %v, want invalid", name, err)
		}
	}
	// Every truncation, a trailing byte and a non-canonical header are refused.
	for i := 0; i < len(enc); i++ {
		if _, err := DecodeBatch(enc[:i]); codeOf(err) != CodeInvalid {
			t.Fatalf("truncated at %d: %v, want invalid", i, err)
		}
	}
	if _, err := DecodeBatch(append(bytes.Clone(enc), 0)); codeOf(err) != CodeInvalid {
		t.Errorf("trailing byte accepted: %v", err)
	}
	// A shorter prefix than the longest common one: same leaves, other bytes.
	nc := bytes.Clone(enc)
	off := len(batchMagic) + 1 + len("b-1")
	if nc[off] == 0 {
		t.Fatal("test expects a non-empty prefix")
	}
	if _, err := DecodeBatch(nc[:off]); err == nil {
		t.Error("header cut accepted")
	}
}

func TestBatchTreeProofs(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8, 13, 64, 100} {
		leaves := testLeaves(n)
		tree, err := NewBatchTree(testCtx, leaves)
		if err != nil {
			t.Fatal(err)
		}
		root, err := BatchRoot(testCtx, leaves)
		if err != nil || !bytes.Equal(root, tree.Root()) {
			t.Fatalf("n=%d: BatchRoot differs from tree root (%v)", n, err)
		}
		// A decoded batch's Root uses the digests it decoded; a batch built in
		// memory parses its CIDs: both are the tree's root.
		built := &Batch{BatchID: testCtx.BatchID, Leaves: leaves}
		enc, err := EncodeBatch(built)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := DecodeBatch(enc)
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string]*Batch{"built": built, "decoded": decoded} {
			if r, err := b.Root(testCtx); err != nil || !bytes.Equal(r, root) {
				t.Fatalf("n=%d: Root of the %s batch differs from the tree root (%v)", n, name, err)
			}
		}
		for i := range leaves {
			p, err := tree.InclusionProof(uint64(i))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyBatchLeaf(testCtx, uint64(i), uint64(n), &leaves[i], p, root); err != nil {
				t.Fatalf("n=%d i=%d: genuine proof refused: %v", n, i, err)
			}
		}
	}
}

func TestVerifyBatchLeafRefusals(t *testing.T) {
	leaves := testLeaves(10)
	tree, _ := NewBatchTree(testCtx, leaves)
	root := tree.Root()
	const i = 6
	p, _ := tree.InclusionProof(i)
	other := testLeaves(11)[10]
	mut := map[string]func(l *BatchLeaf){
		"recordId":  func(l *BatchLeaf) { l.RecordID = "legacy-9999999" },
		"subjectId": func(l *BatchLeaf) { l.SubjectID = "e-" + l.SubjectID[2:] },
		"type":      func(l *BatchLeaf) { l.Type = "marriage" },
		"cid":       func(l *BatchLeaf) { l.CID = other.CID },
		"size":      func(l *BatchLeaf) { l.Size++ },
		"mediaType": func(l *BatchLeaf) { l.MediaType = "image/png" },
	}
	for name, f := range mut {
		l := leaves[i]
		f(&l)
		if err := VerifyBatchLeaf(testCtx, i, 10, &l, p, root); codeOf(err) != CodeBadProof {
			t.Errorf("forged %s: %v, want bad_proof", name, err)
		}
	}
	ctxs := map[string]BatchContext{
		"other batch":     {Channel: "municipal", Chaincode: "dossier", BatchID: "b-2", Issuer: "HealthMSP"},
		"other issuer":    {Channel: "municipal", Chaincode: "dossier", BatchID: "b-1", Issuer: "CivilMSP"},
		"other channel":   {Channel: "datashare", Chaincode: "dossier", BatchID: "b-1", Issuer: "HealthMSP"},
		"other chaincode": {Channel: "municipal", Chaincode: "sharing", BatchID: "b-1", Issuer: "HealthMSP"},
	}
	for name, c := range ctxs {
		if err := VerifyBatchLeaf(c, i, 10, &leaves[i], p, root); codeOf(err) != CodeBadProof {
			t.Errorf("replayed into %s: %v, want bad_proof", name, err)
		}
	}
	if err := VerifyBatchLeaf(testCtx, i+1, 10, &leaves[i], p, root); codeOf(err) != CodeBadProof {
		t.Errorf("other index: %v", err)
	}
	if err := VerifyBatchLeaf(testCtx, i, 10, &leaves[i], p[:len(p)-1], root); codeOf(err) != CodeBadProof {
		t.Errorf("truncated proof: %v", err)
	}
	// (The size is not the prover's: it comes from the anchored batch key.)
	for k := range p {
		q := make([][]byte, len(p))
		copy(q, p)
		q[k] = bytes.Clone(p[k])
		q[k][0] ^= 1
		if err := VerifyBatchLeaf(testCtx, i, 10, &leaves[i], q, root); codeOf(err) != CodeBadProof {
			t.Errorf("flipped proof[%d]: %v", k, err)
		}
	}
}

func TestDecodeBatchProof(t *testing.T) {
	leaves := testLeaves(4)
	tree, _ := NewBatchTree(testCtx, leaves)
	p, _ := tree.InclusionProof(2)
	doc, err := Marshal(BatchProof{BatchID: "b-1", Index: 2, Leaf: leaves[2], Proof: HexPath(p)})
	if err != nil {
		t.Fatal(err)
	}
	bp, err := DecodeBatchProof(doc)
	if err != nil {
		t.Fatal(err)
	}
	path, _ := bp.Path()
	if err := VerifyBatchLeaf(testCtx, bp.Index, 4, &bp.Leaf, path, tree.Root()); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(doc, []byte(`"proof":["`), []byte(`"proof":["zz`), 1)
	if _, err := DecodeBatchProof(bad); codeOf(err) != CodeBadProof {
		t.Errorf("bad hex: %v", err)
	}
	dup := bytes.Replace(doc, []byte(`"index":2`), []byte(`"index":2,"index":3`), 1)
	if _, err := DecodeBatchProof(dup); codeOf(err) != CodeInvalid {
		t.Errorf("duplicate key: %v", err)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	enc, _ := EncodeBatch(&Batch{BatchID: "b-1", Leaves: testLeaves(3)})
	f.Add(enc)
	f.Add([]byte(batchMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBatch(data)
		if err != nil {
			if e := AsError(err); e.Code != CodeInvalid {
				t.Fatalf("code %s", e.Code)
			}
			return
		}
		again, err := EncodeBatch(b)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("decoded batch does not re-encode to its input: %v", err)
		}
	})
}

func codeOf(err error) Code {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}
