package proof

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/index"
)

// A synthetic PKI and ledger: five organisations with a root CA each, their peers,
// clients and (for the operator) an ordering node, and blocks built and signed the
// way Fabric builds them. The real-network test checks a bundle of the real ledger.

type signer struct {
	msp  string
	cert []byte // PEM
	key  *ecdsa.PrivateKey
}

func (s signer) serialized() []byte {
	return must(proto.Marshal(&msp.SerializedIdentity{Mspid: s.msp, IdBytes: s.cert}))
}

func (s signer) sign(msg []byte) []byte {
	h := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, h[:])
	if err != nil {
		panic(err)
	}
	return sig
}

type org struct {
	msp     string
	caCert  *x509.Certificate
	caKey   *ecdsa.PrivateKey
	caPEM   []byte
	peer    signer
	client  signer
	orderer signer
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

var serial int64

func newCert(tmpl *x509.Certificate, parent *x509.Certificate, parentKey, key *ecdsa.PrivateKey) *x509.Certificate {
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

func newOrg(mspID string) *org {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := newCert(&x509.Certificate{Subject: pkix.Name{CommonName: "ca." + mspID}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}, nil, caKey, caKey)
	o := &org{msp: mspID, caCert: ca, caKey: caKey, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})}
	o.peer, o.client, o.orderer = o.member("peer"), o.member("client"), o.member("orderer")
	return o
}

func (o *org) member(ou string) signer {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := newCert(&x509.Certificate{Subject: pkix.Name{CommonName: ou + "." + o.msp, OrganizationalUnit: []string{ou}},
		KeyUsage: x509.KeyUsageDigitalSignature}, o.caCert, o.caKey, key)
	return signer{msp: o.msp, cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), key: key}
}

type world struct {
	orgs  map[string]*org
	roots Roots
}

var mspIDs = []string{"OperatorMSP", "CivilAffairsMSP", "HealthMSP", "SocialSecurityMSP", "PublicSecurityMSP"}

func newWorld() *world {
	w := &world{orgs: map[string]*org{}, roots: Roots{}}
	for _, m := range mspIDs {
		o := newOrg(m)
		w.orgs[m] = o
		pool := x509.NewCertPool()
		pool.AddCert(o.caCert)
		w.roots[m] = pool
	}
	return w
}

// txSpec describes one endorser transaction to build.
type txSpec struct {
	creator   signer
	endorsers []signer
	// writes returns the record writes (key -> value, namespace "dossier") once the
	// transaction ID is known.
	writes func(txID string) map[string][]byte
}

func (w *world) envelope(t txSpec) ([]byte, string) {
	nonce := make([]byte, 24)
	rand.Read(nonce)
	creator := t.creator.serialized()
	sum := sha256.Sum256(append(append([]byte{}, nonce...), creator...))
	txID := hex.EncodeToString(sum[:])
	kv := &kvrwset.KVRWSet{}
	for k, v := range t.writes(txID) {
		kv.Writes = append(kv.Writes, &kvrwset.KVWrite{Key: k, Value: v})
	}
	rws := &rwset.TxReadWriteSet{DataModel: rwset.TxReadWriteSet_KV, NsRwset: []*rwset.NsReadWriteSet{{Namespace: "dossier", Rwset: must(proto.Marshal(kv))}}}
	ca := &peer.ChaincodeAction{Results: must(proto.Marshal(rws)), Response: &peer.Response{Status: 200}, ChaincodeId: &peer.ChaincodeID{Name: "dossier"}}
	prp := must(proto.Marshal(&peer.ProposalResponsePayload{ProposalHash: []byte("proposal"), Extension: must(proto.Marshal(ca))}))
	act := &peer.ChaincodeEndorsedAction{ProposalResponsePayload: prp}
	for _, e := range t.endorsers {
		id := e.serialized()
		act.Endorsements = append(act.Endorsements, &peer.Endorsement{Endorser: id, Signature: e.sign(append(append([]byte{}, prp...), id...))})
	}
	cap := must(proto.Marshal(&peer.ChaincodeActionPayload{ChaincodeProposalPayload: []byte("input"), Action: act}))
	tx := must(proto.Marshal(&peer.Transaction{Actions: []*peer.TransactionAction{{Header: []byte("sh"), Payload: cap}}}))
	ch := must(proto.Marshal(&common.ChannelHeader{Type: int32(common.HeaderType_ENDORSER_TRANSACTION), ChannelId: "municipal", TxId: txID}))
	sh := must(proto.Marshal(&common.SignatureHeader{Creator: creator, Nonce: nonce}))
	payload := must(proto.Marshal(&common.Payload{Header: &common.Header{ChannelHeader: ch, SignatureHeader: sh}, Data: tx}))
	return must(proto.Marshal(&common.Envelope{Payload: payload, Signature: t.creator.sign(payload)})), txID
}

// block orders envelopes into a block signed by signers.
func (w *world) block(number uint64, envs [][]byte, signers ...signer) *common.Block {
	dh := sha256.Sum256(bytesJoin(envs))
	hdr := &common.BlockHeader{Number: number, PreviousHash: []byte("previous"), DataHash: dh[:]}
	value := []byte("last config 0")
	md := &common.Metadata{Value: value}
	for _, s := range signers {
		nonce := make([]byte, 24)
		rand.Read(nonce)
		sh := must(proto.Marshal(&common.SignatureHeader{Creator: s.serialized(), Nonce: nonce}))
		msg := append(append(append([]byte{}, value...), sh...), index.HeaderBytes(hdr)...)
		md.Signatures = append(md.Signatures, &common.MetadataSignature{SignatureHeader: sh, Signature: s.sign(msg)})
	}
	meta := make([][]byte, 5)
	meta[common.BlockMetadataIndex_SIGNATURES] = must(proto.Marshal(md))
	meta[common.BlockMetadataIndex_TRANSACTIONS_FILTER] = make([]byte, len(envs)) // all VALID
	return &common.Block{Header: hdr, Data: &common.BlockData{Data: envs}, Metadata: &common.BlockMetadata{Metadata: meta}}
}

func bytesJoin(b [][]byte) []byte {
	var out []byte
	for _, x := range b {
		out = append(out, x...)
	}
	return out
}

// blockMap serves blocks by transaction ID.
type blockMap struct {
	byTx   map[string]*common.Block
	height uint64
}

func (f *blockMap) BlockByTxID(_ context.Context, _, txID string) (*common.Block, error) {
	b, ok := f.byTx[txID]
	if !ok {
		return nil, errors.New("no such transaction")
	}
	return b, nil
}

func (f *blockMap) Height(context.Context, string) (uint64, error) { return f.height, nil }

const subject = "p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// story is how the scenario's ledger is made.
type story struct {
	revoked                          bool
	creator, revoker                 signer
	appendEndorsers, revokeEndorsers []signer
	blockSigners                     []signer
}

func (w *world) defaultStory(revoked bool) story {
	o := w.orgs
	return story{revoked: revoked, creator: o["HealthMSP"].client, revoker: o["HealthMSP"].client,
		appendEndorsers: []signer{o["HealthMSP"].peer, o["CivilAffairsMSP"].peer, o["OperatorMSP"].peer},
		revokeEndorsers: []signer{o["HealthMSP"].peer, o["SocialSecurityMSP"].peer, o["PublicSecurityMSP"].peer},
		blockSigners:    []signer{o["OperatorMSP"].orderer}}
}

// scenario builds the ledger of a story (a record appended by Health beside another
// transaction in block 7, revoked in block 9 if the story says so) and its bundle.
func (w *world) scenario(t *testing.T, s story) *gateway.ProofBundle {
	t.Helper()
	r := wire.Record{RecordID: "r-1", SubjectID: subject, Type: "birth-certificate",
		CID: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", Size: 3, MediaType: "text/plain",
		Issuer: "HealthMSP", IssuedAt: "2026-12-01T10:00:00Z", Status: wire.StatusActive}
	other, _ := w.envelope(txSpec{creator: w.orgs["CivilAffairsMSP"].client, endorsers: s.appendEndorsers,
		writes: func(string) map[string][]byte { return map[string][]byte{recordKey("r-0"): []byte(`{}`)} }})
	env, txID := w.envelope(txSpec{creator: s.creator, endorsers: s.appendEndorsers, writes: func(id string) map[string][]byte {
		r.TxID = id
		return map[string][]byte{recordKey("r-1"): must(wire.Marshal(r))}
	}})
	blocks := map[string]*common.Block{txID: w.block(7, [][]byte{other, env}, s.blockSigners...)}
	if s.revoked {
		env2, tx2 := w.envelope(txSpec{creator: s.revoker, endorsers: s.revokeEndorsers, writes: func(id string) map[string][]byte {
			r.Status, r.Reason, r.StatusChangedAt, r.StatusTxID = wire.StatusRevoked, "issued-in-error", "2026-12-01T11:00:00Z", id
			return map[string][]byte{recordKey("r-1"): must(wire.Marshal(r))}
		}})
		blocks[tx2] = w.block(9, [][]byte{env2}, s.blockSigners...)
	}
	b := &Builder{Blocks: &blockMap{byTx: blocks, height: 12}, Channel: "municipal", Chaincode: "dossier"}
	bundle, err := b.Build(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	return bundle
}

func clone(b *gateway.ProofBundle) *gateway.ProofBundle {
	var c gateway.ProofBundle
	if err := json.Unmarshal(must(json.Marshal(b)), &c); err != nil {
		panic(err)
	}
	return &c
}

func refused(t *testing.T, what string, b *gateway.ProofBundle, roots Roots) {
	t.Helper()
	if rep, err := Verify(b, roots); err == nil {
		t.Errorf("%s: accepted (%+v)", what, rep)
	} else if !errors.Is(err, ErrInvalid) {
		t.Errorf("%s: %v, want ErrInvalid", what, err)
	}
}

func TestGenuineBundlesAccepted(t *testing.T) {
	w := newWorld()
	for _, revoked := range []bool{false, true} {
		b := w.scenario(t, w.defaultStory(revoked))
		rep, err := Verify(b, w.roots)
		if err != nil {
			t.Fatalf("revoked=%v: %v", revoked, err)
		}
		want := wire.StatusActive
		if revoked {
			want = wire.StatusRevoked
		}
		if rep.Record.Status != want || rep.AppendBlock != 7 || rep.StatusAtBlock != 11 || len(rep.Endorsers[0]) != 3 || len(rep.Orderers[0]) != 1 {
			t.Fatalf("revoked=%v: report %+v", revoked, rep)
		}
		if revoked && rep.StatusBlock != 9 {
			t.Fatalf("status block %d", rep.StatusBlock)
		}
	}
	// A revocation needs only the issuer's peer (the record key's key-level policy).
	s := w.defaultStory(true)
	s.revokeEndorsers = []signer{w.orgs["HealthMSP"].peer}
	if _, err := Verify(w.scenario(t, s), w.roots); err != nil {
		t.Fatalf("revocation endorsed by the issuer alone: %v", err)
	}
}

// TestEveryFieldFlipped flips every byte of every signed or hashed field of a genuine
// bundle (record value, header, every envelope of the block, the signatures), and
// each scalar field, and expects each to be refused.
func TestEveryFieldFlipped(t *testing.T) {
	w := newWorld()
	genuine := w.scenario(t, w.defaultStory(true))
	v := NewVerifier(w.roots)
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
	flipAll("recordValue", func(b *gateway.ProofBundle) []byte { return b.RecordValue })
	for ti := range genuine.Transactions {
		ti := ti
		flipAll("header", func(b *gateway.ProofBundle) []byte { return b.Transactions[ti].Header })
		flipAll("signatures", func(b *gateway.ProofBundle) []byte { return b.Transactions[ti].Signatures })
		for di := range genuine.Transactions[ti].Data {
			di := di
			flipAll("data", func(b *gateway.ProofBundle) []byte { return b.Transactions[ti].Data[di] })
		}
	}
	scalars := map[string]func(b *gateway.ProofBundle){
		"format":        func(b *gateway.ProofBundle) { b.Format += "x" },
		"channel":       func(b *gateway.ProofBundle) { b.Channel = "datashare" },
		"chaincode":     func(b *gateway.ProofBundle) { b.Chaincode = "sharing" },
		"recordId":      func(b *gateway.ProofBundle) { b.RecordID = "r-0" },
		"statusAtBlock": func(b *gateway.ProofBundle) { b.StatusAtBlock = 8 }, // before the revocation's block 9
		"batch":         func(b *gateway.ProofBundle) { b.Batch = &gateway.ProofBatch{AnchorValue: []byte("{}")} },
		"txId":          func(b *gateway.ProofBundle) { b.Transactions[0].TxID = b.Transactions[1].TxID },
		"txIndex":       func(b *gateway.ProofBundle) { b.Transactions[0].TxIndex = 0 },
		"txIndex range": func(b *gateway.ProofBundle) { b.Transactions[0].TxIndex = 5 },
		"validationCode": func(b *gateway.ProofBundle) {
			b.Transactions[0].ValidationCode = int32(peer.TxValidationCode_MVCC_READ_CONFLICT)
		},
		"transactions": func(b *gateway.ProofBundle) { b.Transactions = b.Transactions[:1] },
		"swapped txs": func(b *gateway.ProofBundle) {
			b.Transactions[0], b.Transactions[1] = b.Transactions[1], b.Transactions[0]
		},
		"status tx again": func(b *gateway.ProofBundle) { b.Transactions = append(b.Transactions, b.Transactions[1]) },
	}
	for name, mutate := range scalars {
		b := clone(genuine)
		mutate(b)
		n++
		refused(t, name, b, w.roots)
	}
	// Every field of the bundle is covered above (a new field must be added here).
	if got := reflect.TypeOf(gateway.ProofBundle{}).NumField() + reflect.TypeOf(gateway.ProofTx{}).NumField(); got != 8+6 {
		t.Fatalf("ProofBundle/ProofTx have %d fields: cover the new ones in this test", got)
	}
	t.Logf("%d corruptions refused", n)
}

func TestSignaturesOfTheWrongOrganisationRefused(t *testing.T) {
	w := newWorld()
	o := w.orgs
	cases := map[string]func(s *story){
		// A department's peer signs the block instead of an ordering node.
		"block signed by a peer": func(s *story) { s.blockSigners = []signer{o["CivilAffairsMSP"].peer} },
		// A "orderer" certificate of a CA outside the roots, under the operator's MSP ID.
		"block signed by a foreign CA": func(s *story) {
			f := newOrg("OperatorMSP")
			s.blockSigners = []signer{f.orderer}
		},
		"block unsigned": func(s *story) { s.blockSigners = nil },
		// A majority needs three organisations.
		"endorsed by two organisations": func(s *story) { s.appendEndorsers = s.appendEndorsers[:2] },
		"one organisation endorsing thrice": func(s *story) {
			s.appendEndorsers = []signer{o["HealthMSP"].peer, o["HealthMSP"].peer, o["HealthMSP"].peer}
		},
		"an endorser that is a client": func(s *story) { s.appendEndorsers[2] = o["OperatorMSP"].client },
		"an endorser of a foreign CA":  func(s *story) { s.appendEndorsers[2] = newOrg("OperatorMSP").peer },
		// Only the issuer appends and revokes its record.
		"appended by another department": func(s *story) { s.creator = o["CivilAffairsMSP"].client },
		"revoked by another department":  func(s *story) { s.revoker = o["CivilAffairsMSP"].client },
		// The record key's key-level policy: the issuer's peer endorses a status change.
		"revocation without the issuer's peer": func(s *story) {
			s.revokeEndorsers = []signer{o["CivilAffairsMSP"].peer, o["SocialSecurityMSP"].peer, o["PublicSecurityMSP"].peer}
		},
	}
	for name, mutate := range cases {
		s := w.defaultStory(true)
		s.appendEndorsers = append([]signer{}, s.appendEndorsers...)
		mutate(&s)
		refused(t, name, w.scenario(t, s), w.roots)
	}
	// A verifier holding fewer roots cannot be satisfied by unknown organisations.
	genuine := w.scenario(t, w.defaultStory(false))
	fewer := Roots{"HealthMSP": w.roots["HealthMSP"]}
	refused(t, "roots lacking the orderer's and endorsers' organisations", genuine, fewer)
}

func TestTruncatedProofRefused(t *testing.T) {
	w := newWorld()
	genuine := w.scenario(t, w.defaultStory(true))
	raw := must(json.Marshal(genuine))
	for _, n := range []int{0, 1, len(raw) / 4, len(raw) / 2, len(raw) - 2} {
		var b gateway.ProofBundle
		if err := json.Unmarshal(raw[:n], &b); err == nil {
			t.Errorf("truncated JSON (%d of %d bytes) decoded", n, len(raw))
		}
	}
	cut := map[string]func(b *gateway.ProofBundle){
		"a block without its last envelope": func(b *gateway.ProofBundle) { b.Transactions[0].Data = b.Transactions[0].Data[:1] },
		"no envelopes":                      func(b *gateway.ProofBundle) { b.Transactions[0].Data = nil },
		"header cut":                        func(b *gateway.ProofBundle) { b.Transactions[0].Header = b.Transactions[0].Header[:5] },
		"signatures cut": func(b *gateway.ProofBundle) {
			s := b.Transactions[1].Signatures
			b.Transactions[1].Signatures = s[:len(s)-10]
		},
		"envelope cut":     func(b *gateway.ProofBundle) { d := b.Transactions[0].Data[1]; b.Transactions[0].Data[1] = d[:len(d)/2] },
		"record value cut": func(b *gateway.ProofBundle) { b.RecordValue = b.RecordValue[:len(b.RecordValue)-1] },
		"no transactions":  func(b *gateway.ProofBundle) { b.Transactions = nil },
	}
	for name, mutate := range cut {
		b := clone(genuine)
		mutate(b)
		refused(t, name, b, w.roots)
	}
}

func TestLoadRoots(t *testing.T) {
	w := newWorld()
	dir := t.TempDir()
	for m, o := range w.orgs {
		if err := os.WriteFile(filepath.Join(dir, m+".pem"), o.caPEM, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	roots, err := LoadRoots(dir)
	if err != nil || len(roots) != 5 {
		t.Fatalf("%d roots, %v", len(roots), err)
	}
	if _, err := Verify(w.scenario(t, w.defaultStory(true)), roots); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRoots(t.TempDir()); err == nil {
		t.Fatal("an empty roots folder loaded")
	}
	os.WriteFile(filepath.Join(dir, "Bad.pem"), []byte("not pem"), 0o644)
	if _, err := LoadRoots(dir); err == nil {
		t.Fatal("a file without a certificate loaded")
	}
}
