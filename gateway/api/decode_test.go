package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

type countingSubjects struct{ n int }

func (s *countingSubjects) SubjectID(kind, idNumber string) (string, error) {
	s.n++
	return "p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", nil
}

// TestStrictJSONBodies: trailing data, unknown fields, case-folded and duplicate keys
// are refused with 400 invalid before the service is called (the subject deriver counts
// calls; the operator routes have no ledger, so a body let through would not answer 400).
func TestStrictJSONBodies(t *testing.T) {
	subjects := &countingSubjects{}
	role := gateway.RoleDepartment
	s, err := New(Options{
		Service: service.New(nil, nil, subjects, service.Config{}),
		Keys: keysFunc(func(string) (gateway.Principal, error) {
			return gateway.Principal{Role: role, Org: "Org1MSP"}, nil
		}),
		Nonces: httpsig.NewMemoryNonceStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	do := func(path, body string) (int, string) {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer k")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, body := do("/v1/subjects/resolve", `{"kind":"person","idNumber":"110101202611201235"}`); code != 200 || subjects.n != 1 {
		t.Fatalf("valid body: %d %s (calls %d)", code, body, subjects.n)
	}
	subjects.n = 0
	// The detail says what and where, never a Go type.
	if code, out := do("/v1/subjects/resolve", `{"kind":"person","idNumber":"110101202611201235","extra":1}`); code != 400 ||
		!strings.Contains(out, `"detail":"malformed JSON: unknown field \"extra\""`) || strings.Contains(out, "Go ") {
		t.Errorf("unknown field: %d %s", code, out)
	}
	bad := map[string]string{
		"trailing bracket":     `{"kind":"person","idNumber":"110101202611201235"}] not json`,
		"trailing object":      `{"kind":"person","idNumber":"110101202611201235"}{}`,
		"trailing brace":       `{"kind":"person","idNumber":"110101202611201235"}}`,
		"trailing garbage":     `{"kind":"person","idNumber":"110101202611201235"} x`,
		"unknown field":        `{"kind":"person","idNumber":"110101202611201235","extra":1}`,
		"case-folded key":      `{"KIND":"person","idNumber":"110101202611201235"}`,
		"case-folded key 2":    `{"kind":"person","IdNumber":"110101202611201235"}`,
		"duplicate key":        `{"kind":"person","kind":"enterprise","idNumber":"110101202611201235"}`,
		"not an object":        `["person"]`,
		"empty":                ``,
		"two values, no space": `{"kind":"person"}{"idNumber":"1"}`,
	}
	for name, body := range bad {
		code, out := do("/v1/subjects/resolve", body)
		if code != 400 || !strings.Contains(out, `"code":"invalid"`) {
			t.Errorf("%s: %d %s", name, code, out)
		}
	}
	if subjects.n != 0 {
		t.Errorf("the service was called %d times for refused bodies", subjects.n)
	}
	role = gateway.RoleOperator
	for _, body := range []string{`{"code":"x","name":"y"}] not json`, `{"Code":"x","name":"y"}`, `{"code":"x","name":"y","z":0}`} {
		for _, path := range []string{"/v1/admin/record-types", "/v1/admin/purposes", "/v1/admin/reasons"} {
			code, out := do(path, body)
			if code != 400 || !strings.Contains(out, `"code":"invalid"`) {
				t.Errorf("%s %s: %d %s", path, body, code, out)
			}
		}
	}
}

func TestDecodeStrictRefusals(t *testing.T) {
	var v struct {
		A string `json:"a"`
		B struct {
			C int `json:"c"`
		} `json:"b"`
	}
	for _, body := range []string{`{"a":"x"}]`, `{"a":"x"} 1`, `{"A":"x"}`, `{"b":{"C":1}}`, `{"b":{"c":1,"d":2}}`, `{"a":"x","a":"y"}`} {
		if err := decodeStrict([]byte(body), &v); gateway.ErrorCode(err) != gateway.CodeInvalid {
			t.Errorf("%s: %v", body, err)
		}
	}
	if err := decodeStrict(bytes.TrimSpace([]byte(" {\"a\":\"x\",\"b\":{\"c\":1}}\n")), &v); err != nil {
		t.Errorf("valid: %v", err)
	}
}

// BenchmarkDecodeSigned is the strict decoding of POST /v1/batches's JSON part (8,192
// records) against encoding/json's plain, lenient Unmarshal of the same bytes in the
// same run (the baseline: no check of keys' spelling, duplicates or unknown members).
func BenchmarkDecodeSigned(b *testing.B) {
	const n = 8192
	in := service.AnchorInput{BatchID: "imp-0123456789abcdef-000001"}
	for k := range n {
		in.Records = append(in.Records, service.AnchorItem{File: fmt.Sprintf("f%d", k), RecordID: fmt.Sprintf("legacy-health-%010d", k),
			SubjectID: "p-aaaabbbbccccddddeeeeffffgggghhhh", Type: "birth-certificate", MediaType: "application/pdf"})
	}
	doc, err := wire.Marshal(in)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		decode func(v *service.AnchorInput) error
	}{
		{"encoding/json Unmarshal (baseline, lenient)", func(v *service.AnchorInput) error { return json.Unmarshal(doc, v) }},
		{"decodeStrict (wire.DecodeSigned)", func(v *service.AnchorInput) error { return decodeStrict(doc, v) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var v service.AnchorInput
				if err := c.decode(&v); err != nil || len(v.Records) != n {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/record")
		})
	}
}
