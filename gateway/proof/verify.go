package proof

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/index"
)

// Roots are the channel organisations' MSP root certificates, by MSP ID. Every
// organisation listed counts for the endorsement policy (a majority of them).
type Roots map[string]*x509.CertPool

// LoadRoots reads a folder holding one file <MSP ID>.pem per organisation (one or more
// PEM certificates each).
func LoadRoots(dir string) (Roots, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, err
	}
	roots := Roots{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		n := 0
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			pool.AddCert(c)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: no PEM certificate", f)
		}
		roots[strings.TrimSuffix(filepath.Base(f), ".pem")] = pool
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("no <MSP ID>.pem root certificates in %s", dir)
	}
	return roots, nil
}

// Report is what a verified bundle establishes.
type Report struct {
	Record        wire.Record `json:"record"`
	Channel       string      `json:"channel"`
	AppendBlock   uint64      `json:"appendBlock"`
	StatusBlock   uint64      `json:"statusBlock"`
	StatusAtBlock uint64      `json:"statusAtBlock"`
	// Endorsers lists, per transaction, the organisations whose peers endorsed it.
	Endorsers [][]string `json:"endorsers"`
	// Orderers lists the ordering nodes (MSP and certificate subject) that signed
	// each block.
	Orderers [][]string `json:"orderers"`
	Policy   string     `json:"policy"`
	// Batch is set for a record of an anchored batch.
	Batch *BatchReport `json:"batch,omitempty"`
	// Unproven lists what the bundle states without a signature behind it.
	Unproven []string `json:"unproven"`
}

// unproven is what no signature in a bundle covers (docs/security.md).
var unproven = []string{
	"validation code: set by the committing peer, not signed by the orderers (ask a peer: qscc GetTransactionByID)",
	"status at block: the serving gateway's statement that no later write of the record was seen up to that block",
	"certificate expiry and revocation lists at signing time: chains are checked as of each certificate's issue",
}

// ErrInvalid wraps every reason a bundle is refused.
var ErrInvalid = errors.New("proof refused")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Verify checks a bundle offline:
//
//  1. each block: the data hash is the SHA-256 of the block's envelopes, and at least
//     one signature, every one valid, by an ordering node (OU orderer) whose
//     certificate chains to its organisation's root, over the signature metadata and
//     the header;
//  2. each transaction: it is at TxIndex in that block, its ID is the hash of its
//     nonce and creator, its creator (the record's issuer) signed it, every
//     endorsement is by a peer (OU peer) of a root organisation with a valid signature
//     over the same proposal response, the append by a majority of the organisations
//     (the chaincode's policy for a new key), a status change by the issuer's peer (the
//     record key's key-level policy), the chaincode answered 200,
//     and the committing peer marked it VALID;
//  3. the record: the last transaction wrote RecordValue under the record's key, the
//     append transaction wrote the same record (status aside) with this transaction
//     ID, and the status transaction is the one the record names.
func Verify(b *gateway.ProofBundle, roots Roots) (*Report, error) {
	return NewVerifier(roots).Verify(b)
}

// Verifier verifies bundles against one set of roots, remembering the identities
// (certificate chains) it has checked already.
type Verifier struct {
	roots Roots
	mu    sync.Mutex
	ids   map[string]checkedID
}

type checkedID struct {
	msp  string
	cert *x509.Certificate
	key  *ecdsa.PublicKey
	err  error
}

// NewVerifier returns a verifier for roots.
func NewVerifier(roots Roots) *Verifier { return &Verifier{roots: roots, ids: map[string]checkedID{}} }

// Verify checks a bundle (see the package function Verify).
func (v *Verifier) Verify(b *gateway.ProofBundle) (*Report, error) {
	roots := v.roots
	if b == nil || b.Format != gateway.ProofFormat {
		return nil, bad("not a %s bundle", gateway.ProofFormat)
	}
	if len(b.Transactions) < 1 || len(b.Transactions) > 2 {
		return nil, bad("a bundle has one or two transactions, this one %d", len(b.Transactions))
	}
	if b.Batch != nil {
		return v.verifyBatch(b)
	}
	var rec wire.Record
	if err := strictJSON(b.RecordValue, &rec); err != nil {
		return nil, bad("record value: %v", err)
	}
	if rec.RecordID != b.RecordID {
		return nil, bad("record value is record %q, bundle names %q", rec.RecordID, b.RecordID)
	}
	rep := &Report{Record: rec, Channel: b.Channel, StatusAtBlock: b.StatusAtBlock,
		Policy: fmt.Sprintf("majority of %d organisations (%s)", len(roots), strings.Join(sortedKeys(roots), ", ")), Unproven: unproven}
	var prevBlock uint64
	for i, t := range b.Transactions {
		need := needMajority
		if i > 0 {
			need = needIssuer
		}
		num, endorsers, orderers, value, err := v.verifyTx(b, &t, rec.Issuer, recordKey(b.RecordID), need)
		if err != nil {
			return nil, fmt.Errorf("transaction %d (%s): %w", i, t.TxID, err)
		}
		if i == 0 {
			rep.AppendBlock = num
			if t.TxID != rec.TxID {
				return nil, bad("the record was appended by %s, not by %s", rec.TxID, t.TxID)
			}
			var first wire.Record
			if err := strictJSON(value, &first); err != nil {
				return nil, bad("appended record: %v", err)
			}
			if first.Status != wire.StatusActive || first.StatusTxID != "" {
				return nil, bad("the append transaction wrote a record that is not active")
			}
			now := rec
			now.Status, now.Reason, now.SupersededBy, now.StatusChangedAt, now.StatusTxID = first.Status, first.Reason, first.SupersededBy, first.StatusChangedAt, first.StatusTxID
			if now != first {
				return nil, bad("the appended record differs from the proven one beyond its status")
			}
		} else {
			if num < prevBlock {
				return nil, bad("status transaction in block %d before the append in block %d", num, prevBlock)
			}
			if t.TxID != rec.StatusTxID {
				return nil, bad("the record's status changed in %s, not %s", rec.StatusTxID, t.TxID)
			}
		}
		if i == len(b.Transactions)-1 {
			if !bytes.Equal(value, b.RecordValue) {
				return nil, bad("the record value is not what the last transaction wrote")
			}
			rep.StatusBlock = num
		}
		prevBlock = num
		rep.Endorsers = append(rep.Endorsers, endorsers)
		rep.Orderers = append(rep.Orderers, orderers)
	}
	if len(b.Transactions) == 1 && rec.StatusTxID != "" {
		return nil, bad("the record's status changed in %s, which the bundle lacks", rec.StatusTxID)
	}
	if b.StatusAtBlock < rep.StatusBlock {
		return nil, bad("status stated at block %d, before the block %d that wrote it", b.StatusAtBlock, rep.StatusBlock)
	}
	return rep, nil
}

// verifyBatch checks the bundle of a batch record:
//
//  1. the leaf: its RFC 6962 hash in its context (channel, contract, batch ID, index,
//     issuer from the anchored batch) and the inclusion proof lead to the anchored
//     root (wire.VerifyBatchLeaf), so a forged or altered leaf, a leaf of another
//     batch, index or issuer, and a wrong or truncated proof are refused;
//  2. the anchor: Transactions[0] (checked as in Verify, submitted by the batch's
//     issuer, endorsed by a majority: the batch key is new) is the transaction the
//     anchor names and wrote AnchorValue under the batch key;
//  3. the status: without Transactions[1] the record is active; with it, that
//     transaction (submitted by the issuer, endorsed by the issuer's peer, the batch
//     key's key-level policy, and by a majority, the new status key's) wrote
//     StatusValue under the record's status key, and the status names it.
func (v *Verifier) verifyBatch(b *gateway.ProofBundle) (*Report, error) {
	pb := b.Batch
	if len(b.RecordValue) > 0 {
		return nil, bad("a batch record's bundle carries no record value")
	}
	var a wire.BatchAnchor
	if err := strictJSON(pb.AnchorValue, &a); err != nil {
		return nil, bad("anchor value: %v", err)
	}
	p := pb.Proof
	if p.BatchID != a.BatchID || p.Leaf.RecordID != b.RecordID {
		return nil, bad("the proof is of record %q in batch %q, the bundle names %q and the anchor batch %q", p.Leaf.RecordID, p.BatchID, b.RecordID, a.BatchID)
	}
	path, err := p.Path()
	if err != nil {
		return nil, bad("inclusion proof: %s", wire.AsError(err).Message)
	}
	ctx := wire.BatchContext{Channel: b.Channel, Chaincode: wire.DossierContract, BatchID: a.BatchID, Issuer: a.Issuer}
	if err := wire.VerifyBatchLeaf(ctx, p.Index, a.Size, &p.Leaf, path, a.RootBytes()); err != nil {
		return nil, bad("leaf: %s", wire.AsError(err).Message)
	}
	rep := &Report{Channel: b.Channel, StatusAtBlock: b.StatusAtBlock, Batch: &BatchReport{BatchID: a.BatchID, Index: p.Index, Size: a.Size, Root: a.Root},
		Policy: fmt.Sprintf("majority of %d organisations (%s)", len(v.roots), strings.Join(sortedKeys(v.roots), ", ")), Unproven: unproven}
	t0 := &b.Transactions[0]
	num, endorsers, orderers, value, err := v.verifyTx(b, t0, a.Issuer, batchKey(a.BatchID), needMajority)
	if err != nil {
		return nil, fmt.Errorf("anchor transaction (%s): %w", t0.TxID, err)
	}
	if t0.TxID != a.TxID {
		return nil, bad("the batch was anchored by %s, not by %s", a.TxID, t0.TxID)
	}
	if !bytes.Equal(value, pb.AnchorValue) {
		return nil, bad("the anchor value is not what the anchor transaction wrote")
	}
	rep.AppendBlock, rep.StatusBlock = num, num
	rep.Endorsers, rep.Orderers = append(rep.Endorsers, endorsers), append(rep.Orderers, orderers)
	var st *wire.BatchRecordStatus
	switch {
	case len(b.Transactions) == 2:
		t1 := &b.Transactions[1]
		num2, endorsers, orderers, value, err := v.verifyTx(b, t1, a.Issuer, batchStatusKey(a.BatchID, p.Index), needBoth)
		if err != nil {
			return nil, fmt.Errorf("status transaction (%s): %w", t1.TxID, err)
		}
		if num2 < num {
			return nil, bad("status transaction in block %d before the anchor in block %d", num2, num)
		}
		st = &wire.BatchRecordStatus{}
		if err := strictJSON(pb.StatusValue, st); err != nil {
			return nil, bad("status value: %v", err)
		}
		if !bytes.Equal(value, pb.StatusValue) {
			return nil, bad("the status value is not what the status transaction wrote")
		}
		if st.BatchID != a.BatchID || st.Index != p.Index || st.RecordID != p.Leaf.RecordID || st.StatusTxID != t1.TxID ||
			(st.Status != wire.StatusRevoked && st.Status != wire.StatusSuperseded) {
			return nil, bad("the status value is not a change of this record by this transaction")
		}
		rep.StatusBlock = num2
		rep.Endorsers, rep.Orderers = append(rep.Endorsers, endorsers), append(rep.Orderers, orderers)
	case len(pb.StatusValue) > 0:
		return nil, bad("a status value without its transaction")
	}
	rep.Record = a.RecordOf(&p.Leaf, st)
	if b.StatusAtBlock < rep.StatusBlock {
		return nil, bad("status stated at block %d, before the block %d that wrote it", b.StatusAtBlock, rep.StatusBlock)
	}
	return rep, nil
}

// BatchReport is where a proven batch record sits.
type BatchReport struct {
	BatchID string `json:"batchId"`
	Index   uint64 `json:"index"`
	Size    uint64 `json:"size"`
	Root    string `json:"root"`
}

// need is the endorsement a transaction's write needs: a majority of the organisations
// (the chaincode's policy for a new key), the issuer's peer (a key-level policy), or
// both.
type need int

const (
	needMajority need = 1 << iota
	needIssuer
	needBoth = needMajority | needIssuer
)

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func sortedKeys(r Roots) []string {
	var k []string
	for m := range r {
		k = append(k, m)
	}
	sort.Strings(k)
	return k
}

// identity checks a serialized identity: its certificate chains to its MSP's root
// and carries the OU role. It returns the MSP ID, the certificate and its public key.
func (v *Verifier) identity(raw []byte, roles ...string) (string, *x509.Certificate, *ecdsa.PublicKey, error) {
	key := string(raw) + "\x00" + strings.Join(roles, ",")
	v.mu.Lock()
	c, ok := v.ids[key]
	v.mu.Unlock()
	if !ok {
		c.msp, c.cert, c.key, c.err = identity(raw, v.roots, roles...)
		v.mu.Lock()
		if len(v.ids) > 10000 {
			v.ids = map[string]checkedID{}
		}
		v.ids[key] = c
		v.mu.Unlock()
	}
	return c.msp, c.cert, c.key, c.err
}

func identity(raw []byte, roots Roots, roles ...string) (string, *x509.Certificate, *ecdsa.PublicKey, error) {
	var sid msp.SerializedIdentity
	if err := proto.Unmarshal(raw, &sid); err != nil {
		return "", nil, nil, bad("identity: %v", err)
	}
	pool, ok := roots[sid.Mspid]
	if !ok {
		return "", nil, nil, bad("identity of %q, not an organisation of the roots", sid.Mspid)
	}
	blk, rest := pem.Decode(sid.IdBytes)
	if blk == nil || len(bytes.TrimSpace(rest)) > 0 {
		return "", nil, nil, bad("identity of %s: not one PEM certificate", sid.Mspid)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return "", nil, nil, bad("identity of %s: %v", sid.Mspid, err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: cert.NotBefore}); err != nil {
		return "", nil, nil, bad("identity %q of %s does not chain to its root: %v", cert.Subject.CommonName, sid.Mspid, err)
	}
	if !slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(cert.Subject.OrganizationalUnit, r) }) {
		return "", nil, nil, bad("identity %q of %s is not a %s", cert.Subject.CommonName, sid.Mspid, strings.Join(roles, " or "))
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return "", nil, nil, bad("identity of %s: not an ECDSA key", sid.Mspid)
	}
	return sid.Mspid, cert, pub, nil
}

func checkSig(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	h := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(pub, h[:], sig)
}

// verifyTx checks one transaction of the bundle and its block; it returns the block
// number, the endorsing organisations, the signing orderers and the record value the
// transaction wrote.
func (v *Verifier) verifyTx(b *gateway.ProofBundle, t *gateway.ProofTx, issuer, key string, need need) (uint64, []string, []string, []byte, error) {
	roots := v.roots
	var hdr common.BlockHeader
	if err := proto.Unmarshal(t.Header, &hdr); err != nil {
		return 0, nil, nil, nil, bad("block header: %v", err)
	}
	sum := sha256.Sum256(bytes.Join(t.Data, nil))
	if !bytes.Equal(sum[:], hdr.DataHash) {
		return 0, nil, nil, nil, bad("block %d: data hash does not match its transactions", hdr.Number)
	}
	orderers, err := v.verifyBlockSignatures(&hdr, t.Signatures)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	if t.TxIndex < 0 || t.TxIndex >= len(t.Data) {
		return 0, nil, nil, nil, bad("transaction index %d outside the block's %d", t.TxIndex, len(t.Data))
	}
	if t.ValidationCode != int32(peer.TxValidationCode_VALID) {
		return 0, nil, nil, nil, bad("the peer marked the transaction %s", peer.TxValidationCode(t.ValidationCode))
	}
	var env common.Envelope
	if err := proto.Unmarshal(t.Data[t.TxIndex], &env); err != nil {
		return 0, nil, nil, nil, bad("envelope: %v", err)
	}
	var payload common.Payload
	if err := proto.Unmarshal(env.Payload, &payload); err != nil {
		return 0, nil, nil, nil, bad("payload: %v", err)
	}
	var ch common.ChannelHeader
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &ch); err != nil {
		return 0, nil, nil, nil, bad("channel header: %v", err)
	}
	if common.HeaderType(ch.Type) != common.HeaderType_ENDORSER_TRANSACTION || ch.ChannelId != b.Channel || ch.TxId != t.TxID {
		return 0, nil, nil, nil, bad("envelope %d is %s transaction %s on %s, not %s on %s", t.TxIndex, common.HeaderType(ch.Type), ch.TxId, ch.ChannelId, t.TxID, b.Channel)
	}
	var sh common.SignatureHeader
	if err := proto.Unmarshal(payload.GetHeader().GetSignatureHeader(), &sh); err != nil {
		return 0, nil, nil, nil, bad("signature header: %v", err)
	}
	idSum := sha256.Sum256(append(append([]byte{}, sh.Nonce...), sh.Creator...))
	if hex.EncodeToString(idSum[:]) != t.TxID {
		return 0, nil, nil, nil, bad("transaction ID is not the hash of its nonce and creator")
	}
	creatorMSP, _, creatorKey, err := v.identity(sh.Creator, "client", "admin")
	if err != nil {
		return 0, nil, nil, nil, fmt.Errorf("creator: %w", err)
	}
	if !checkSig(creatorKey, env.Payload, env.Signature) {
		return 0, nil, nil, nil, bad("the creator's signature does not verify")
	}
	if creatorMSP != issuer {
		return 0, nil, nil, nil, bad("submitted by %s, the record's issuer is %s", creatorMSP, issuer)
	}
	var tx peer.Transaction
	if err := proto.Unmarshal(payload.Data, &tx); err != nil || len(tx.Actions) != 1 {
		return 0, nil, nil, nil, bad("transaction: want one action")
	}
	var cap peer.ChaincodeActionPayload
	if err := proto.Unmarshal(tx.Actions[0].Payload, &cap); err != nil {
		return 0, nil, nil, nil, bad("chaincode action payload: %v", err)
	}
	prpBytes := cap.GetAction().GetProposalResponsePayload()
	orgs := map[string]bool{}
	for _, e := range cap.GetAction().GetEndorsements() {
		m, _, key, err := v.identity(e.Endorser, "peer")
		if err != nil {
			return 0, nil, nil, nil, fmt.Errorf("endorser: %w", err)
		}
		if !checkSig(key, append(append([]byte{}, prpBytes...), e.Endorser...), e.Signature) {
			return 0, nil, nil, nil, bad("the endorsement of %s does not verify", m)
		}
		orgs[m] = true
	}
	// The policy that governs the key's write: a new key (an append, an anchor, a batch
	// record's first status) falls under the chaincode's policy, a majority of the
	// organisations; the chaincode gives a record key and a batch key the key-level
	// policy "the issuer's peer", which Fabric applies from the next write on
	// (revocation, supersession; a batch status change rewrites the batch key).
	if need&needIssuer != 0 && !orgs[issuer] {
		return 0, nil, nil, nil, bad("status change not endorsed by the issuer %s", issuer)
	}
	if need&needMajority != 0 && len(orgs) <= len(roots)/2 {
		return 0, nil, nil, nil, bad("endorsed by %d of %d organisations, a majority needs %d", len(orgs), len(roots), len(roots)/2+1)
	}
	var prp peer.ProposalResponsePayload
	if err := proto.Unmarshal(prpBytes, &prp); err != nil {
		return 0, nil, nil, nil, bad("proposal response: %v", err)
	}
	var ca peer.ChaincodeAction
	if err := proto.Unmarshal(prp.Extension, &ca); err != nil {
		return 0, nil, nil, nil, bad("chaincode action: %v", err)
	}
	if ca.GetChaincodeId().GetName() != b.Chaincode || ca.GetResponse().GetStatus() != 200 {
		return 0, nil, nil, nil, bad("chaincode %q answered %d, want %q answering 200", ca.GetChaincodeId().GetName(), ca.GetResponse().GetStatus(), b.Chaincode)
	}
	rws, err := index.ActionResults(tx.Actions[0])
	if err != nil {
		return 0, nil, nil, nil, bad("%v", err)
	}
	var value []byte
	for _, ns := range rws.NsRwset {
		if ns.Namespace != b.Chaincode {
			continue
		}
		var kv kvrwset.KVRWSet
		if err := proto.Unmarshal(ns.Rwset, &kv); err != nil {
			return 0, nil, nil, nil, bad("write set: %v", err)
		}
		for _, w := range kv.Writes {
			if w.Key == key && !w.IsDelete {
				value = w.Value
			}
		}
	}
	if value == nil {
		return 0, nil, nil, nil, bad("the transaction does not write key %q", key)
	}
	return hdr.Number, sortedSet(orgs), orderers, value, nil
}

func sortedSet(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// verifyBlockSignatures checks the SIGNATURES metadata of a block: at least one, each
// by an ordering node of a root organisation, over value || signature header ||
// header bytes.
func (v *Verifier) verifyBlockSignatures(hdr *common.BlockHeader, raw []byte) ([]string, error) {
	var md common.Metadata
	if err := proto.Unmarshal(raw, &md); err != nil {
		return nil, bad("block %d signatures: %v", hdr.Number, err)
	}
	if len(md.Signatures) == 0 {
		return nil, bad("block %d is not signed", hdr.Number)
	}
	hb := index.HeaderBytes(hdr)
	var out []string
	for _, s := range md.Signatures {
		var sh common.SignatureHeader
		if err := proto.Unmarshal(s.SignatureHeader, &sh); err != nil {
			return nil, bad("block %d signature header: %v", hdr.Number, err)
		}
		m, cert, key, err := v.identity(sh.Creator, "orderer")
		if err != nil {
			return nil, fmt.Errorf("block %d signer: %w", hdr.Number, err)
		}
		msg := append(append(append([]byte{}, md.Value...), s.SignatureHeader...), hb...)
		if !checkSig(key, msg, s.Signature) {
			return nil, bad("block %d: the signature of %s does not verify", hdr.Number, cert.Subject.CommonName)
		}
		out = append(out, m+" "+cert.Subject.CommonName)
	}
	return out, nil
}
