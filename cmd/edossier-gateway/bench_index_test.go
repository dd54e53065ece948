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
	"testing"
	"time"

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
// verification of a real bundle beside one ECDSA P-256 signature verification.
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
			// The index's own capacity: the same lookup in this process, no HTTP.
			variant{"index lookup, no HTTP", func(ctx context.Context, _, i int) error {
				recs, _, err := e.g.index.store.RecordsByCID(ctx, cids[i%len(cids)])
				if err == nil && len(recs) != 1 {
					err = fmt.Errorf("%d records", len(recs))
				}
				return err
			}})
		e.keepGroup("verify-cid c=32", rows)
		rows[3].target = ">=10,000/s"
		rows[3].met = func(r, _, _ *runStats) bool { return r.rate() >= 10000 }
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
			}})
		e.keepGroup("proof-verify c=2", rows)
		rows[1].note = fmt.Sprintf("bundle of %d transaction(s), %d envelopes in the block", len(bundle.Transactions), len(bundle.Transactions[0].Data))
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
