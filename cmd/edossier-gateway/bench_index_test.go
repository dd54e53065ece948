package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/proof"
	"github.com/edossier-city/edossier/gateway/service"
)

// indexBenchBasePort: BenchmarkIndex's network uses ports 25600-25689, its gateway
// 25850 (all shifted by EDOSSIER_TEST_PORT_SHIFT).
const (
	indexBenchBasePort    = 25600
	indexBenchGatewayPort = 25850
)

// BenchmarkIndex measures verification by CID from the event-fed index at 32 clients
// beside the chaincode path in the same run (a trivial meta:Get as the baseline, the
// raw FindByCID evaluate, the gateway's chaincode path with ?source=ledger, and the
// gateway's index path with ?source=index; target >= 10,000/s), and offline proof
// verification of a real bundle (of a single record and of a batch record) beside one
// ECDSA P-256 signature verification. Verification by CID of records of an anchored
// batch of 1,024 (CID only) is a row of its own.
// Run: go test ./cmd/edossier-gateway -run '^$' -bench Index -benchtime 20000x
func BenchmarkIndex(b *testing.B) {
	e := startBenchEnvAt(b, indexBenchBasePort, indexBenchGatewayPort)
	defer e.table(os.Stdout)
	ctx := context.Background()
	health := e.client(e.keys.Departments["health"])
	subject, err := health.Resolve(ctx, "person", personID(5))
	if err != nil {
		b.Fatal(err)
	}
	var cids []string
	var last *client.RecordResult
	for i := 0; i < 64; i++ {
		body := []byte(fmt.Sprintf("index benchmark document %d %d", i, time.Now().UnixNano()))
		res, err := health.AppendRecord(ctx, subject, client.RecordMeta{Type: "birth-medical-certificate", MediaType: "text/plain"},
			client.FilePart{Body: bytes.NewReader(body), Size: int64(len(body))})
		if err != nil {
			b.Fatal(err)
		}
		cids = append(cids, res.Record.CID)
		last = res
	}
	// A batch of 1,024 records anchored by CID only: their lookups join the index's
	// batch leaves.
	batch := client.AnchorInput{BatchID: fmt.Sprintf("bench-index-%d", time.Now().UnixNano())}
	var batchCIDs []string
	for i := 0; i < 1024; i++ {
		c, n, err := wire.CIDOf(strings.NewReader(fmt.Sprintf("index benchmark batch document %s %d", batch.BatchID, i)))
		if err != nil {
			b.Fatal(err)
		}
		batch.Records = append(batch.Records, client.AnchorItem{SubjectID: subject, Type: "birth-medical-certificate", CID: c.String(), Size: n})
		batchCIDs = append(batchCIDs, c.String())
	}
	if _, err := health.AnchorBatch(ctx, batch, nil); err != nil {
		b.Fatal(err)
	}
	public := e.client("")
	// The index follows the blocks: wait until it holds the last append.
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := public.VerifyCIDFrom(ctx, cids[len(cids)-1], "index")
		if err == nil && v.Verified {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the index did not catch up: %+v %v", v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ops := e.rawOps.GetNetwork("municipal")
	b.Run("verify-cid-index/c=32", func(b *testing.B) {
		metaGet, find := ops.GetContractWithName("dossier", "meta"), ops.GetContractWithName("dossier", "dossier")
		found, err := find.EvaluateTransaction("FindByCID", cids[0])
		if err != nil {
			b.Fatal(err)
		}
		getKey := fmt.Sprintf("bench-index-get-%d", time.Now().UnixNano())
		if _, err := ops.GetContractWithName("dossier", "meta").SubmitTransaction("Put", getKey, string(bytes.Repeat([]byte("v"), len(found)))); err != nil {
			b.Fatal(err)
		}
		verified := func(v *service.Verification, err error, source string) error {
			if err == nil && (!v.Verified || v.Source != source) {
				err = fmt.Errorf("%s: verified %v from %s", v.CID, v.Verified, v.Source)
			}
			return err
		}
		rows := e.compare(b, benchHighC,
			variant{"baseline meta:Get", func(context.Context, int, int) error {
				_, err := metaGet.EvaluateTransaction("Get", getKey)
				return err
			}},
			variant{"raw FindByCID", func(_ context.Context, _, i int) error {
				_, err := find.EvaluateTransaction("FindByCID", cids[i%len(cids)])
				return err
			}},
			variant{"gateway verify by CID, chaincode", func(ctx context.Context, _, i int) error {
				v, err := public.VerifyCIDFrom(ctx, cids[i%len(cids)], "ledger")
				return verified(v, err, "ledger")
			}},
			variant{"gateway verify by CID, index", func(ctx context.Context, _, i int) error {
				v, err := public.VerifyCIDFrom(ctx, cids[i%len(cids)], "index")
				return verified(v, err, "index")
			}},
			variant{"gateway verify by CID, index, batch record", func(ctx context.Context, _, i int) error {
				v, err := public.VerifyCIDFrom(ctx, batchCIDs[i%len(batchCIDs)], "index")
				if err == nil && (len(v.Records) != 1 || v.Records[0].Batch == nil) {
					err = fmt.Errorf("%s: not a batch record: %+v", v.CID, v.Records)
				}
				return verified(v, err, "index")
			}},
			// The index's own capacity: the same lookup in this process, no HTTP.
			variant{"index lookup, no HTTP", func(ctx context.Context, _, i int) error {
				recs, brs, _, err := e.g.index.store.AllByCID(ctx, cids[i%len(cids)])
				if err == nil && (len(recs) != 1 || len(brs) != 0) {
					err = fmt.Errorf("%d records, %d batch records", len(recs), len(brs))
				}
				return err
			}})
		e.keepGroup("verify-cid c=32", rows)
		for _, i := range []int{3, 4} {
			rows[i].target = ">=10,000/s"
			rows[i].met = func(r, _, _ *runStats) bool { return r.rate() >= 10000 }
		}
	})

	// Offline proof verification of a real bundle (fresh verifier each time: every
	// certificate chain and signature checked), beside one ECDSA P-256 verification.
	bundle, err := health.RecordProof(ctx, last.Record.RecordID)
	if err != nil {
		b.Fatal(err)
	}
	roots := benchRoots(b, e)
	if _, err := proof.Verify(bundle, roots); err != nil {
		b.Fatalf("the real bundle does not verify: %v", err)
	}
	batchBundle, err := health.RecordProofIn(ctx, batch.BatchID+".1000", batch.BatchID)
	if err != nil {
		b.Fatal(err)
	}
	if rep, err := proof.Verify(batchBundle, roots); err != nil || rep.Batch == nil {
		b.Fatalf("the real batch bundle does not verify: %+v %v", rep, err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("baseline"))
	sig, _ := ecdsa.SignASN1(rand.Reader, key, digest[:])
	b.Run("proof-verify/c=2", func(b *testing.B) {
		rows := e.compare(b, 2,
			variant{"baseline one ECDSA P-256 verify", func(context.Context, int, int) error {
				if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
					return fmt.Errorf("signature")
				}
				return nil
			}},
			variant{"offline proof verify", func(context.Context, int, int) error {
				_, err := proof.Verify(bundle, roots)
				return err
			}},
			variant{"offline proof verify, batch record", func(context.Context, int, int) error {
				_, err := proof.Verify(batchBundle, roots)
				return err
			}})
		e.keepGroup("proof-verify c=2", rows)
		rows[1].note = fmt.Sprintf("bundle of %d transaction(s), %d envelopes in the block", len(bundle.Transactions), len(bundle.Transactions[0].Data))
		rows[2].note = fmt.Sprintf("leaf 1000 of a batch of 1,024 (%d-hash inclusion proof), %d transaction(s)", len(batchBundle.Batch.Proof.Proof), len(batchBundle.Transactions))
	})
}

func benchRoots(b *testing.B, e *benchEnv) proof.Roots {
	dir := b.TempDir()
	for _, o := range e.n.Profile.Organizations {
		pem, err := os.ReadFile(filepath.Join(e.n.Home(), "orgs", o.Name, "msp", "cacerts", "ca.pem"))
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, o.MSPID+".pem"), pem, 0o644)
	}
	r, err := proof.LoadRoots(dir)
	if err != nil {
		b.Fatal(err)
	}
	return r
}
