package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/edossier-city/edossier/gateway/client"
)

// Ports of the portal benchmark (main's numbering): a network at 23900, the gateway at
// 23995.
const (
	portalBenchBasePort    = 23900
	portalBenchGatewayPort = 23995
)

// BenchmarkPortal compares the verification page (GET /zh/verify/{cid}: the same use
// case rendered as HTML with its QR code) with the JSON route it wraps (GET
// /v1/verify/{cid}) at 32 concurrent clients, in the same run on the same network:
// the page's rate and p50 should be at least 0.8 of the API's.
//
//	go test ./cmd/edossier-gateway -run '^$' -bench Portal -benchtime 2000x
func BenchmarkPortal(b *testing.B) {
	e := startBenchEnvAt(b, portalBenchBasePort, portalBenchGatewayPort)
	defer e.table(os.Stdout)
	ctx := context.Background()
	health := e.client(e.keys.Departments["health"])
	subject, err := health.Resolve(ctx, "person", personID(901))
	if err != nil {
		b.Fatal(err)
	}
	var cids []string
	for range 8 {
		file := make([]byte, 4096)
		rand.Read(file)
		res, err := health.AppendRecord(ctx, subject, client.RecordMeta{Type: benchType}, client.FilePart{Body: bytes.NewReader(file), Size: int64(len(file))})
		if err != nil {
			b.Fatal(err)
		}
		cids = append(cids, res.Record.CID)
	}
	get := func(path string, want []byte) func(context.Context, int, int) error {
		return func(ctx context.Context, _, i int) error {
			req, _ := http.NewRequestWithContext(ctx, "GET", e.url+fmt.Sprintf(path, cids[i%len(cids)]), nil)
			resp, err := e.http.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && (resp.StatusCode != 200 || !bytes.Contains(body, want)) {
				err = fmt.Errorf("%s: %d %.200s", req.URL.Path, resp.StatusCode, body)
			}
			return err
		}
	}
	b.Run("verify-page/c=32", func(b *testing.B) {
		rows := e.compare(b, benchHighC,
			variant{"JSON API GET /v1/verify/{cid}", get("/v1/verify/%s", []byte(`"verified":true`))},
			variant{"page GET /zh/verify/{cid}", get("/zh/verify/%s", []byte(`data-status="verified"`))})
		e.keepGroup("portal c=32", rows)
		rows[1].raw = rows[0].name
		rows[1].target = ">=0.80 of the JSON route (rate and p50)"
		rows[1].met = func(r, _, api *runStats) bool {
			return api != nil && r.rate() >= 0.8*api.rate() && float64(api.pct(0.5)) >= 0.8*float64(r.pct(0.5))
		}
	})
}
