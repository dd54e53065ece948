package dossier_test

import (
	"fmt"
	"testing"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// BenchmarkAppendRecords measures the chaincode side of a batch append
// (decoding, checks, writes, contractapi serialisation) on the fake ledger;
// the network benchmark lives with the integration tests.
func BenchmarkAppendRecords(b *testing.B) {
	for _, n := range []int{1, 100, 500} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			e := cctest.NewEnv(b)
			e.Bootstrap()
			args := make([]string, b.N)
			for i := range args {
				var batch wire.AppendBatch
				for j := 0; j < n; j++ {
					batch.Records = append(batch.Records, cctest.Req(fmt.Sprintf("r%d-%d", i, j), cctest.Subject(fmt.Sprint(j)), cctest.BirthCert))
				}
				args[i] = cctest.JSON(b, batch)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.OK(e.Dossier(e.Health, "AppendRecords", args[i]))
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
