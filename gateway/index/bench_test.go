package index

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// BenchmarkApply measures what the event-fed index spends per record of a block:
// an anchored batch of 8,192 leaves (the bulk path) against blocks of the same
// number of records appended one key set each (the per-record path), in the same
// run, on an embedded store that already holds earlier blocks.
func BenchmarkApply(b *testing.B) {
	const perBlock = 8192
	subject := func(i int) string {
		d := sha256.Sum256(fmt.Appendf(nil, "subject %d", i%100000))
		return "p-" + strings.ToLower(base32.StdEncoding.EncodeToString(d[:20]))
	}
	cidOf := func(i int) string {
		d := sha256.Sum256(fmt.Appendf(nil, "doc %d", i))
		return wire.CIDFromSHA256(d[:]).String()
	}
	batchBlock := func(c *chain, n int) {
		bt := &wire.Batch{BatchID: fmt.Sprintf("imp-0123456789abcdef-%06d", n)}
		for i := range perBlock {
			k := n*perBlock + i
			bt.Leaves = append(bt.Leaves, wire.BatchLeaf{RecordID: fmt.Sprintf("legacy-health-%010d", k), SubjectID: subject(k),
				Type: "birth-certificate", CID: cidOf(k), Size: 1024, MediaType: "application/pdf"})
		}
		tx, _ := anchorTx(fmt.Sprintf("tx-%d", n), bt, bt.Leaves)
		c.add(tx)
	}
	recordBlock := func(c *chain, n int) {
		var txs []testTx
		for i := range perBlock / 16 { // AppendRecords of 16 records per transaction
			tx := testTx{id: fmt.Sprintf("tx-%d-%d", n, i)}
			for j := range 16 {
				k := n*perBlock + i*16 + j
				r := rec(fmt.Sprintf("r-%010d", k), subject(k), cidOf(k), wire.StatusActive, tx.id)
				tx.writes = append(tx.writes, recordWrite(r), kv{"dossier", ckey("cid~record", r.CID, r.RecordID), []byte{0}})
			}
			txs = append(txs, tx)
		}
		c.add(txs...)
	}
	for _, path := range []struct {
		name string
		add  func(*chain, int)
	}{{"per-record AppendRecords", recordBlock}, {"anchored batch", batchBlock}} {
		b.Run(path.name, func(b *testing.B) {
			dbPath := filepath.Join(b.TempDir(), "index.db")
			s, err := OpenSQLite(b.Context(), dbPath, DefaultNamespaces)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c := &chain{channel: "municipal"}
			const warm = 4
			for n := range warm + b.N {
				path.add(c, n)
			}
			apply := func(blk int) {
				pb, err := ParseBlock("municipal", c.blocks[blk], map[string]bool{"dossier": true})
				if err != nil {
					b.Fatal(err)
				}
				if ok, err := s.Apply(b.Context(), pb); err != nil || !ok {
					b.Fatalf("block %d: %v %v", blk, ok, err)
				}
			}
			for n := range warm {
				apply(n)
			}
			b.ResetTimer()
			for n := range b.N {
				apply(warm + n)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*perBlock), "µs/record")
			var size int64
			for _, f := range []string{dbPath, dbPath + "-wal"} {
				if fi, err := os.Stat(f); err == nil {
					size += fi.Size()
				}
			}
			b.ReportMetric(float64(size)/float64((warm+b.N)*perBlock), "file-B/record")
		})
	}
}
