package wire

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkBatchLeaves is what every endorsing peer's chaincode and the gateway's
// index spend per leaf of an 8,192-leaf AnchorBatch argument: decoding it (with
// the canonical check) and recomputing its root, from the digests DecodeBatch
// keeps and, as the baseline in the same run, from the leaves' CID strings.
func BenchmarkBatchLeaves(b *testing.B) {
	const n = 8192
	bt := &Batch{BatchID: "imp-0123456789abcdef-000001"}
	for k := range n {
		d := sha256.Sum256(fmt.Appendf(nil, "subject %d", k))
		c := sha256.Sum256(fmt.Appendf(nil, "doc %d", k))
		bt.Leaves = append(bt.Leaves, BatchLeaf{RecordID: fmt.Sprintf("legacy-health-%010d", k),
			SubjectID: "p-" + strings.ToLower(base32.StdEncoding.EncodeToString(d[:20])),
			Type:      "birth-certificate", CID: CIDFromSHA256(c[:]).String(), Size: 1024, MediaType: "application/pdf"})
	}
	enc, err := EncodeBatch(bt)
	if err != nil {
		b.Fatal(err)
	}
	dec, err := DecodeBatch(enc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := BatchContext{Channel: "municipal", Chaincode: DossierContract, BatchID: bt.BatchID, Issuer: "HealthMSP"}
	for _, c := range []struct {
		name string
		run  func() error
	}{
		{"DecodeBatch", func() error { _, err := DecodeBatch(enc); return err }},
		{"BatchRoot from CID strings (baseline)", func() error { _, err := BatchRoot(ctx, dec.Leaves); return err }},
		{"Root of the decoded batch", func() error { _, err := dec.Root(ctx); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/leaf")
		})
	}
}
