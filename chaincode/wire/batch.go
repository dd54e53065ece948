package wire

// Batch anchoring: the compact leaves of a legacy batch, their canonical,
// domain-separated hashed form, the RFC 6962 Merkle tree over them and the
// inclusion proofs that prove one record of a batch. The dossier chaincode
// (AnchorBatch, GetBatchRecord, RevokeBatchRecord, SupersedeBatchRecord), the
// sharing chaincode (RecordBatchAccess), the gateway and any offline verifier
// use these functions and nothing else, so the encoding has one definition.
//
// Two encodings of a leaf exist:
//
//   - the compact form, which travels in the AnchorBatch transaction (so every
//     peer keeps it in its blocks): EncodeBatch / DecodeBatch. It carries only
//     what differs between records; the batch's record types, media types and
//     the longest common record-ID prefix are written once per batch, the CID
//     as its 32-byte sha2-256 digest and the subject as its 20 raw bytes.
//   - the hashed form (LeafBytes), never stored: the context tag, channel,
//     chaincode, batch ID, index, issuer and every field of the record, each
//     length-prefixed. Its RFC 6962 leaf hash (SHA-256 of 0x00 || bytes) is
//     what the batch root commits to, so a leaf proves nothing in another
//     batch, at another index, for another issuer, channel or chaincode.

import (
	"bytes"
	"crypto"
	_ "crypto/sha256" // registers crypto.SHA256 for the RFC 6962 hasher
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// BatchLeafTag is the domain-separation tag that starts the hashed form of
// every batch leaf; a new leaf layout gets a new tag.
const BatchLeafTag = "edossier.batch-leaf.v1"

// DossierContract is the contract name in every leaf's context (the dossier
// contract's namespace, whatever name its chaincode is deployed under).
const DossierContract = "dossier"

// batchMagic starts the compact encoding of an AnchorBatch argument.
const batchMagic = "EDB1"

// Limits of batch anchoring.
const (
	// MaxAnchorBatch is the largest number of leaves in one AnchorBatch.
	MaxAnchorBatch = 16384
	// MaxAnchorBatchBytes bounds the compact encoding of one batch.
	MaxAnchorBatchBytes = 2 << 20
	// MaxBatchDict bounds the distinct record types and media types of a batch.
	MaxBatchDict = 64
	// MaxBatchProofBytes bounds a BatchProof JSON document.
	MaxBatchProofBytes = 16 << 10
	// MaxProofHashes bounds the hashes of an inclusion proof (a tree of
	// MaxAnchorBatch leaves needs 14).
	MaxProofHashes = 32
)

// BatchLeaf is one record of an anchored batch, as the issuer states it. The
// issuer, batch, index and context are not fields: they come from the
// transaction and the batch (BatchContext).
type BatchLeaf struct {
	RecordID  string `json:"recordId"`
	SubjectID string `json:"subjectId"`
	Type      string `json:"type"`
	CID       string `json:"cid"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
}

// Validate checks every field of l (CodeInvalid naming the first bad one).
func (l *BatchLeaf) Validate() error {
	_, err := l.packed()
	return err
}

// packedLeaf is what the compact encoding holds of a leaf's subject and CID.
type packedLeaf struct {
	kind   byte // 1 for an enterprise
	subj   [20]byte
	digest [32]byte
}

// packed validates every field of l in order and returns its subject and CID in
// their compact form.
func (l *BatchLeaf) packed() (p packedLeaf, err error) {
	if err := ValidateID("recordId", l.RecordID); err != nil {
		return p, err
	}
	if p.kind, p.subj, err = subjectBytes(l.SubjectID); err != nil {
		return p, err
	}
	if err := ValidateCode("type", l.Type); err != nil {
		return p, err
	}
	c, err := ParseCID(l.CID)
	if err != nil {
		return p, err
	}
	h := c.Hash()                    // multihash: code, length, digest
	copy(p.digest[:], h[len(h)-32:]) // ParseCID checked sha2-256, 32 bytes
	return p, l.checkSizeAndMedia()
}

// checkDecoded checks the fields that the compact encoding keeps as they are (the
// record ID, type, size and media type): all a decoded leaf needs, its subject and
// CID being valid by construction.
func (l *BatchLeaf) checkDecoded() error {
	if err := ValidateID("recordId", l.RecordID); err != nil {
		return err
	}
	if err := ValidateCode("type", l.Type); err != nil {
		return err
	}
	return l.checkSizeAndMedia()
}

func (l *BatchLeaf) checkSizeAndMedia() error {
	if l.Size < 0 || l.Size > MaxSize {
		return Errorf(CodeInvalid, "size must be within 0..%d", MaxSize)
	}
	return ValidateMediaType("mediaType", l.MediaType)
}

// Batch is the argument of AnchorBatch before compact encoding: a batch ID
// and 1..MaxAnchorBatch leaves, leaf i at index i.
type Batch struct {
	BatchID string
	Leaves  []BatchLeaf

	packed []packedLeaf // set by DecodeBatch, for Root
}

// BatchContext is what a leaf's hash binds besides the leaf itself: the
// channel and chaincode the batch is anchored on, the batch ID and the
// issuing organisation (the anchoring transaction's creator).
type BatchContext struct {
	Channel   string
	Chaincode string
	BatchID   string
	Issuer    string
}

var subjectB32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// subjectBytes turns a validated subject ID into its kind bit and 20 bytes.
func subjectBytes(s string) (kind byte, raw [20]byte, err error) {
	if err := ValidateSubjectID("subjectId", s); err != nil {
		return 0, raw, err
	}
	if s[0] == 'e' {
		kind = 1
	}
	b, derr := subjectB32.DecodeString(strings.ToUpper(s[2:]))
	if derr != nil || len(b) != 20 {
		return 0, raw, Errorf(CodeInvalid, "subjectId does not decode")
	}
	copy(raw[:], b)
	return kind, raw, nil
}

func subjectString(kind byte, raw []byte) string {
	p := "p-"
	if kind == 1 {
		p = "e-"
	}
	return p + strings.ToLower(subjectB32.EncodeToString(raw))
}

// cidDigest returns the sha2-256 digest inside a canonical CID string (nil for
// any other string).
func cidDigest(s string) []byte {
	c, err := ParseCID(s)
	if err != nil {
		return nil
	}
	h := c.Hash()        // multihash: code, length, digest
	return h[len(h)-32:] // ParseCID checked sha2-256, 32 bytes
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// EncodeBatch returns the compact, canonical encoding of b, validating every
// leaf (CodeInvalid) and the batch's size (1..MaxAnchorBatch leaves, no record
// ID twice, at most MaxBatchDict distinct types and media types, at most
// MaxAnchorBatchBytes).
func EncodeBatch(b *Batch) ([]byte, error) {
	n := len(b.Leaves)
	if n == 0 || n > MaxAnchorBatch {
		return nil, Errorf(CodeInvalid, "a batch holds 1 to %d records, got %d", MaxAnchorBatch, n)
	}
	packed := make([]packedLeaf, n)
	for i := range b.Leaves {
		var err error
		if packed[i], err = b.Leaves[i].packed(); err != nil {
			e := AsError(err)
			return nil, Errorf(e.Code, "records[%d]: %s", i, e.Message)
		}
	}
	return encodeBatch(b, packed)
}

// encodeBatch is EncodeBatch of valid leaves, packed: it checks what concerns the
// whole batch (its ID and size, no record ID twice, the dictionaries) and encodes.
func encodeBatch(b *Batch, packed []packedLeaf) ([]byte, error) {
	if err := ValidateID("batchId", b.BatchID); err != nil {
		return nil, err
	}
	n := len(b.Leaves)
	if n == 0 || n > MaxAnchorBatch {
		return nil, Errorf(CodeInvalid, "a batch holds 1 to %d records, got %d", MaxAnchorBatch, n)
	}
	var types, media []string
	typeIdx, mediaIdx := map[string]int{}, map[string]int{}
	ids := make(map[string]bool, n)
	prefix := b.Leaves[0].RecordID
	for i := range b.Leaves {
		l := &b.Leaves[i]
		if ids[l.RecordID] {
			return nil, Errorf(CodeInvalid, "records[%d]: record ID %s twice in the batch", i, l.RecordID)
		}
		ids[l.RecordID] = true
		if _, ok := typeIdx[l.Type]; !ok {
			typeIdx[l.Type] = len(types)
			types = append(types, l.Type)
		}
		if _, ok := mediaIdx[l.MediaType]; !ok {
			mediaIdx[l.MediaType] = len(media)
			media = append(media, l.MediaType)
		}
		for !strings.HasPrefix(l.RecordID, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	if len(types) > MaxBatchDict || len(media) > MaxBatchDict {
		return nil, Errorf(CodeInvalid, "a batch holds at most %d record types and %d media types", MaxBatchDict, MaxBatchDict)
	}
	out := make([]byte, 0, 64+n*64)
	out = append(out, batchMagic...)
	out = appendStr(out, b.BatchID)
	out = appendStr(out, prefix)
	out = binary.AppendUvarint(out, uint64(len(types)))
	for _, t := range types {
		out = appendStr(out, t)
	}
	out = binary.AppendUvarint(out, uint64(len(media)))
	for _, m := range media {
		out = appendStr(out, m)
	}
	out = binary.AppendUvarint(out, uint64(n))
	for i := range b.Leaves {
		l, p := &b.Leaves[i], &packed[i]
		out = binary.AppendUvarint(out, uint64(typeIdx[l.Type])<<1|uint64(p.kind))
		out = binary.AppendUvarint(out, uint64(mediaIdx[l.MediaType]))
		out = appendStr(out, l.RecordID[len(prefix):])
		out = append(out, p.subj[:]...)
		out = append(out, p.digest[:]...)
		out = binary.AppendUvarint(out, uint64(l.Size))
	}
	if len(out) > MaxAnchorBatchBytes {
		return nil, Errorf(CodeInvalid, "batch encoding larger than %d bytes", MaxAnchorBatchBytes)
	}
	return out, nil
}

// batchReader reads the compact encoding; the first error sticks.
type batchReader struct {
	b   []byte
	err bool
}

func (r *batchReader) uvarint(max uint64) uint64 {
	if r.err {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > max {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *batchReader) bytes(n int) []byte {
	if r.err || len(r.b) < n {
		r.err = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *batchReader) str(max int) string {
	n := r.uvarint(uint64(max))
	return string(r.bytes(int(n)))
}

// DecodeBatch decodes and validates the compact encoding of an AnchorBatch
// argument. It accepts only the canonical encoding (the one EncodeBatch
// produces for the decoded batch), so one batch has one byte string; anything
// else is CodeInvalid.
func DecodeBatch(data []byte) (*Batch, error) {
	if len(data) > MaxAnchorBatchBytes {
		return nil, Errorf(CodeInvalid, "batch encoding larger than %d bytes", MaxAnchorBatchBytes)
	}
	if !bytes.HasPrefix(data, []byte(batchMagic)) {
		return nil, Errorf(CodeInvalid, "not a batch encoding (magic %q expected)", batchMagic)
	}
	r := &batchReader{b: data[len(batchMagic):]}
	b := &Batch{BatchID: r.str(MaxIDLen)}
	prefix := r.str(MaxIDLen)
	types := make([]string, r.uvarint(MaxBatchDict))
	for i := range types {
		types[i] = r.str(MaxCodeLen)
	}
	media := make([]string, r.uvarint(MaxBatchDict))
	for i := range media {
		media[i] = r.str(MaxMediaTypeLen)
	}
	n := r.uvarint(MaxAnchorBatch)
	if r.err {
		return nil, Errorf(CodeInvalid, "truncated or malformed batch header")
	}
	b.Leaves = make([]BatchLeaf, n)
	packed := make([]packedLeaf, n)
	for i := range b.Leaves {
		tk := r.uvarint(uint64(2*len(types) - 1))
		mi := r.uvarint(uint64(len(media) - 1))
		suffix := r.str(MaxIDLen)
		subj := r.bytes(20)
		digest := r.bytes(32)
		size := r.uvarint(uint64(MaxSize))
		if r.err || len(types) == 0 || len(media) == 0 {
			return nil, Errorf(CodeInvalid, "records[%d]: truncated or malformed leaf", i)
		}
		p := &packed[i]
		p.kind = byte(tk & 1)
		copy(p.subj[:], subj)
		copy(p.digest[:], digest)
		b.Leaves[i] = BatchLeaf{
			RecordID:  prefix + suffix,
			SubjectID: subjectString(p.kind, subj),
			Type:      types[tk>>1],
			CID:       CIDFromSHA256(digest).String(),
			Size:      int64(size),
			MediaType: media[mi],
		}
		if err := b.Leaves[i].checkDecoded(); err != nil {
			e := AsError(err)
			return nil, Errorf(e.Code, "records[%d]: %s", i, e.Message)
		}
	}
	if len(r.b) != 0 {
		return nil, Errorf(CodeInvalid, "trailing data after the batch")
	}
	// The subject and CID of a decoded leaf are valid by construction (any 20 bytes
	// are a subject, any 32 a sha2-256 digest), its other fields are checked above;
	// only the canonical encoding of the batch is accepted.
	again, err := encodeBatch(b, packed)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, data) {
		return nil, Errorf(CodeInvalid, "batch is not in canonical encoding")
	}
	b.packed = packed
	return b, nil
}

// LeafBytes returns the hashed form of leaf index of a batch: the tag, the
// context and every field, each length-prefixed (index and size as 8 bytes
// big-endian, the CID as its 32-byte digest). l must be valid.
func (c BatchContext) LeafBytes(index uint64, l *BatchLeaf) []byte {
	return c.leafBytes(index, l, cidDigest(l.CID))
}

// leafBytes is LeafBytes with the CID's digest given.
func (c BatchContext) leafBytes(index uint64, l *BatchLeaf, digest []byte) []byte {
	out := make([]byte, 0, 256)
	out = appendStr(out, BatchLeafTag)
	out = appendStr(out, c.Channel)
	out = appendStr(out, c.Chaincode)
	out = appendStr(out, c.BatchID)
	out = binary.BigEndian.AppendUint64(out, index)
	out = appendStr(out, c.Issuer)
	out = appendStr(out, l.RecordID)
	out = appendStr(out, l.SubjectID)
	out = appendStr(out, l.Type)
	out = appendStr(out, string(digest))
	out = binary.BigEndian.AppendUint64(out, uint64(l.Size))
	out = appendStr(out, l.MediaType)
	return out
}

var hasher = rfc6962.New(crypto.SHA256)

// LeafHash is the RFC 6962 leaf hash of LeafBytes.
func (c BatchContext) LeafHash(index uint64, l *BatchLeaf) []byte {
	return hasher.HashLeaf(c.LeafBytes(index, l))
}

// BatchTree is the RFC 6962 Merkle tree of a batch: its root and the
// inclusion proof of every leaf.
type BatchTree struct {
	size  uint64
	nodes map[compact.NodeID][]byte
	root  []byte
}

// NewBatchTree builds the tree of the batch's leaves in context c.
func NewBatchTree(c BatchContext, leaves []BatchLeaf) (*BatchTree, error) {
	hashes := make([][]byte, len(leaves))
	for i := range leaves {
		hashes[i] = c.LeafHash(uint64(i), &leaves[i])
	}
	return NewBatchTreeFromHashes(hashes, true)
}

// NewBatchTreeFromHashes builds the tree over given leaf hashes; with
// keepNodes false it only computes the root (InclusionProof then fails).
func NewBatchTreeFromHashes(hashes [][]byte, keepNodes bool) (*BatchTree, error) {
	if len(hashes) == 0 {
		return nil, Errorf(CodeInvalid, "a batch has at least one record")
	}
	t := &BatchTree{size: uint64(len(hashes))}
	var visit compact.VisitFn
	if keepNodes {
		t.nodes = make(map[compact.NodeID][]byte, 2*len(hashes))
		visit = func(id compact.NodeID, h []byte) { t.nodes[id] = h }
	}
	f := compact.RangeFactory{Hash: hasher.HashChildren}
	r := f.NewEmptyRange(0)
	for i, h := range hashes {
		if keepNodes {
			t.nodes[compact.NewNodeID(0, uint64(i))] = h
		}
		if err := r.Append(h, visit); err != nil {
			return nil, Errorf(CodeInternal, "merkle: %v", err)
		}
	}
	root, err := r.GetRootHash(visit)
	if err != nil {
		return nil, Errorf(CodeInternal, "merkle: %v", err)
	}
	t.root = root
	return t, nil
}

// BatchRoot returns the root of the batch's leaves in context c.
func BatchRoot(c BatchContext, leaves []BatchLeaf) ([]byte, error) {
	return batchRoot(len(leaves), func(i int) []byte { return c.LeafHash(uint64(i), &leaves[i]) })
}

// Root is BatchRoot of b's leaves. A batch from DecodeBatch keeps its leaves'
// digests as decoded, so their CIDs are not parsed again; its leaves must not be
// changed after decoding.
func (b *Batch) Root(c BatchContext) ([]byte, error) {
	if len(b.packed) != len(b.Leaves) {
		return BatchRoot(c, b.Leaves)
	}
	return batchRoot(len(b.Leaves), func(i int) []byte {
		return hasher.HashLeaf(c.leafBytes(uint64(i), &b.Leaves[i], b.packed[i].digest[:]))
	})
}

func batchRoot(n int, leafHash func(int) []byte) ([]byte, error) {
	hashes := make([][]byte, n)
	for i := range hashes {
		hashes[i] = leafHash(i)
	}
	t, err := NewBatchTreeFromHashes(hashes, false)
	if err != nil {
		return nil, err
	}
	return t.root, nil
}

// Root returns the tree's root hash; Size its number of leaves.
func (t *BatchTree) Root() []byte { return t.root }
func (t *BatchTree) Size() uint64 { return t.size }

// InclusionProof returns the RFC 6962 audit path of leaf index.
func (t *BatchTree) InclusionProof(index uint64) ([][]byte, error) {
	if t.nodes == nil {
		return nil, Errorf(CodeInternal, "tree built without nodes")
	}
	if index >= t.size {
		return nil, Errorf(CodeInvalid, "index %d outside a batch of %d", index, t.size)
	}
	nodes, err := proof.Inclusion(index, t.size)
	if err != nil {
		return nil, Errorf(CodeInternal, "merkle: %v", err)
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, ok := t.nodes[id]
		if !ok {
			return nil, Errorf(CodeInternal, "merkle: node %+v missing", id)
		}
		hashes[i] = h
	}
	p, err := nodes.Rehash(hashes, hasher.HashChildren)
	if err != nil {
		return nil, Errorf(CodeInternal, "merkle: %v", err)
	}
	return p, nil
}

// VerifyBatchLeaf checks that leaf index of a batch of size leaves, in context
// c, is included under root with the given audit path. Any mismatch is
// CodeBadProof; a leaf that is not valid is CodeInvalid.
func VerifyBatchLeaf(c BatchContext, index, size uint64, l *BatchLeaf, path [][]byte, root []byte) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if size == 0 || index >= size {
		return Errorf(CodeBadProof, "index %d outside batch %s of %d records", index, c.BatchID, size)
	}
	if len(path) > MaxProofHashes {
		return Errorf(CodeBadProof, "proof longer than %d hashes", MaxProofHashes)
	}
	if err := proof.VerifyInclusion(hasher, index, size, c.LeafHash(index, l), path, root); err != nil {
		return Errorf(CodeBadProof, "record %s is not at index %d of batch %s: the proof does not lead to the anchored root", l.RecordID, index, c.BatchID)
	}
	return nil
}

// BatchProof is the document that proves one record of an anchored batch:
// the batch, the leaf's index and fields, and the audit path (hex SHA-256
// hashes, leaf to root). The issuer, channel and chaincode are not in it: the
// verifier takes them from the anchored batch and its own context.
type BatchProof struct {
	BatchID string    `json:"batchId"`
	Index   uint64    `json:"index"`
	Leaf    BatchLeaf `json:"leaf"`
	Proof   []string  `json:"proof"`
}

// Path decodes the audit path (CodeBadProof when a hash is not 32 bytes of
// hex).
func (p *BatchProof) Path() ([][]byte, error) {
	if len(p.Proof) > MaxProofHashes {
		return nil, Errorf(CodeBadProof, "proof longer than %d hashes", MaxProofHashes)
	}
	out := make([][]byte, len(p.Proof))
	for i, s := range p.Proof {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 32 {
			return nil, Errorf(CodeBadProof, "proof[%d] is not a hex SHA-256 hash", i)
		}
		out[i] = b
	}
	return out, nil
}

// HexPath encodes an audit path for BatchProof.Proof.
func HexPath(path [][]byte) []string {
	out := make([]string, len(path))
	for i, h := range path {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

// DecodeBatchProof strictly decodes and validates a BatchProof document.
func DecodeBatchProof(data []byte) (*BatchProof, error) {
	var p BatchProof
	if err := DecodeSigned(data, &p, MaxBatchProofBytes); err != nil {
		return nil, err
	}
	if err := ValidateID("batchId", p.BatchID); err != nil {
		return nil, err
	}
	if err := p.Leaf.Validate(); err != nil {
		return nil, err
	}
	if _, err := p.Path(); err != nil {
		return nil, err
	}
	return &p, nil
}

// BatchAnchor is the one key AnchorBatch writes per batch, under
// ("batch", batchId), with a key-level endorsement policy of its issuer.
type BatchAnchor struct {
	BatchID string `json:"batchId"`
	// Root is the RFC 6962 root of the batch's leaf hashes, hex.
	Root string `json:"root"`
	Size uint64 `json:"size"`
	// Issuer is the MSP ID of the anchoring transaction's creator.
	Issuer     string `json:"issuer"`
	AnchoredAt string `json:"anchoredAt"`
	TxID       string `json:"txId"`
}

// RootBytes decodes Root.
func (a *BatchAnchor) RootBytes() []byte {
	b, _ := hex.DecodeString(a.Root)
	return b
}

// BatchRecordStatus is the sparse key a batch record gets only when it
// changes (revoked or superseded), under ("bstatus", batchId, index), with a
// key-level endorsement policy of the batch's issuer.
type BatchRecordStatus struct {
	BatchID         string `json:"batchId"`
	Index           uint64 `json:"index"`
	RecordID        string `json:"recordId"`
	Status          string `json:"status"`
	Reason          string `json:"reason"`
	SupersededBy    string `json:"supersededBy"`
	StatusChangedAt string `json:"statusChangedAt"`
	StatusTxID      string `json:"statusTxId"`
}

// BatchRecord is a record of an anchored batch as the chaincode proved it: the
// record (issuer, time and transaction of the batch; status from its sparse
// key, active without one) and where it sits.
type BatchRecord struct {
	Record  Record `json:"record"`
	BatchID string `json:"batchId"`
	Index   uint64 `json:"index"`
	Root    string `json:"root"`
}

// BatchSupersedeResult is returned by SupersedeBatchRecord.
type BatchSupersedeResult struct {
	// Superseded is the batch record, now with status superseded.
	Superseded BatchRecord `json:"superseded"`
	// Record is the new (single) record, linked by its supersedes field.
	Record Record `json:"record"`
}

// RecordOf returns the Record a proven leaf stands for.
func (a *BatchAnchor) RecordOf(l *BatchLeaf, st *BatchRecordStatus) Record {
	r := Record{
		RecordID: l.RecordID, SubjectID: l.SubjectID, Type: l.Type, CID: l.CID, Size: l.Size,
		MediaType: l.MediaType, Issuer: a.Issuer, IssuedAt: a.AnchoredAt, Status: StatusActive, TxID: a.TxID,
	}
	if st != nil {
		r.Status, r.Reason, r.SupersededBy = st.Status, st.Reason, st.SupersededBy
		r.StatusChangedAt, r.StatusTxID = st.StatusChangedAt, st.StatusTxID
	}
	return r
}

// BatchAnchoredEvent is emitted by AnchorBatch (the leaves are in the
// transaction's argument; an index decodes them from there).
type BatchAnchoredEvent struct {
	BatchID    string `json:"batchId"`
	Root       string `json:"root"`
	Size       uint64 `json:"size"`
	Issuer     string `json:"issuer"`
	AnchoredAt string `json:"anchoredAt"`
	TxID       string `json:"txId"`
}

// EventBatchAnchored is the name of BatchAnchoredEvent.
const EventBatchAnchored = "BatchAnchored"

// BatchRecordChangedEvent is emitted by RevokeBatchRecord (Status revoked)
// and SupersedeBatchRecord (Status superseded, SupersededBy the new record,
// which is also announced by the event's NewRecord).
type BatchRecordChangedEvent struct {
	BatchID      string    `json:"batchId"`
	Index        uint64    `json:"index"`
	RecordID     string    `json:"recordId"`
	SubjectID    string    `json:"subjectId"`
	Issuer       string    `json:"issuer"`
	Status       string    `json:"status"`
	Reason       string    `json:"reason"`
	SupersededBy string    `json:"supersededBy"`
	NewRecord    RecordRef `json:"newRecord"`
	Time         string    `json:"time"`
	TxID         string    `json:"txId"`
}

// EventBatchRecordChanged is the name of BatchRecordChangedEvent.
const EventBatchRecordChanged = "BatchRecordChanged"
