package api

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/gateway"
)

// TestMultipartJSONPartRefusals: the bulk append, the batch anchor and the batch
// record's supersede read their first part by one rule (decodePart): it must be the
// named part, strict JSON, within its size; a refusal is a 4xx problem and reaches no
// ledger (the fake ledger answers every call with an internal error).
func TestMultipartJSONPartRefusals(t *testing.T) {
	l := &registryLedger{}
	s := handlerServer(t, l, 0)
	body := func(part, content string) (*bytes.Buffer, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		fw, err := w.CreateFormField(part)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return &b, w.FormDataContentType()
	}
	routes := []struct{ path, part string }{
		{"/v1/records/batch", "manifest"},
		{"/v1/batches", "batch"},
		{"/v1/batch-records/supersede", "proof"},
	}
	for _, r := range routes {
		for _, c := range []struct {
			name, part, content string
			status              int
			code                gateway.Code
		}{
			{"wrong first part", "file", "x", 400, gateway.CodeInvalid},
			{"not JSON", r.part, "{", 400, gateway.CodeInvalid},
			{"unknown field", r.part, `{"surprise":1}`, 400, gateway.CodeInvalid},
			{"above its limit", r.part, `{"x":"` + strings.Repeat("a", 9<<20) + `"}`, 413, gateway.CodeTooLarge},
		} {
			b, ct := body(c.part, c.content)
			req := httptest.NewRequest("POST", r.path, b)
			req.Header.Set("Authorization", "Bearer health-key")
			req.Header.Set("Content-Type", ct)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			problemOf(t, r.path+": "+c.name, rec, c.status, c.code)
		}
		req := httptest.NewRequest("POST", r.path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer health-key")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		problemOf(t, r.path+": not multipart", rec, 415, gateway.CodeUnsupported)
	}
	// A batch anchor's answer lists its leaves or leaves them out: nothing else.
	b, ct := body("batch", `{"batchId":"b-1","records":[{"cid":"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku","size":1,"subjectId":"p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","type":"t"}]}`)
	req := httptest.NewRequest("POST", "/v1/batches?leaves=some", b)
	req.Header.Set("Authorization", "Bearer health-key")
	req.Header.Set("Content-Type", ct)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	problemOf(t, "leaves=some", rec, 400, gateway.CodeInvalid)
	if l.calls != 0 {
		t.Fatalf("a refused request reached the ledger (%d calls)", l.calls)
	}
}
