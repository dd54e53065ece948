package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/edossier-city/edossier/gateway/service"
)

// batchServer answers bulk appends like the gateway: manifest first, then the files in
// manifest order; it records what it received.
func batchServer(t *testing.T, got map[string]string) *httptest.Server {
	var mu sync.Mutex // the client may have more than one request in flight
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" || r.URL.Path != "/v1/records/batch" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "bad request", 400)
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		p, err := mr.NextPart()
		if err != nil || p.FormName() != "manifest" {
			http.Error(w, "manifest first", 400)
			return
		}
		var m struct{ Records []service.BatchItem }
		if err := json.NewDecoder(p).Decode(&m); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		res := service.BatchResult{Count: len(m.Records)}
		for _, it := range m.Records {
			p, err := mr.NextPart()
			if err != nil || p.FormName() != it.File {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(400)
				io.WriteString(w, `{"status":400,"code":"invalid","title":"Bad Request","detail":"file part missing"}`)
				return
			}
			b, _ := io.ReadAll(p)
			mu.Lock()
			got[it.File] = it.Note + "=" + string(b) + ";" + p.Header.Get("Content-Type") + ";" + it.IdempotencyKey
			mu.Unlock()
			res.Records = append(res.Records, service.BatchRecord{File: it.File, RecordID: "r-" + it.File, Created: true})
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(res)
	}))
}

func TestAppendBatch(t *testing.T) {
	got := map[string]string{}
	srv := batchServer(t, got)
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, APIKey: "k"}
	items := []BatchItem{
		{SubjectID: "p-a", Type: "t", Note: "one", IdempotencyKey: "k1"},
		{File: "named", SubjectID: "p-a", Type: "t", Note: "two", MediaType: "application/pdf"},
	}
	contents := []string{"first file", strings.Repeat("x", 100<<10)}
	opened := 0
	res, err := c.AppendBatch(context.Background(), items, func(i int) (io.ReadCloser, error) {
		if i != opened {
			t.Errorf("opened %d, want %d (files are opened in order, one at a time)", i, opened)
		}
		opened++
		return io.NopCloser(strings.NewReader(contents[i])), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != 2 || len(res.Records) != 2 || res.Records[1].RecordID != "r-named" {
		t.Fatalf("result %+v", res)
	}
	if got["f0"] != "one=first file;application/octet-stream;k1" || got["named"] != "two="+contents[1]+";application/pdf;" {
		t.Fatalf("server received %q", got)
	}

	// A file that cannot be opened fails the call with its index; the gateway saw an
	// incomplete body.
	_, err = c.AppendBatch(context.Background(), items, func(i int) (io.ReadCloser, error) {
		if i == 1 {
			return nil, os.ErrNotExist
		}
		return io.NopCloser(strings.NewReader("x")), nil
	})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Index != 1 || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want a FileError for item 1", err)
	}
	// A read failure mid-file too.
	_, err = c.AppendBatch(context.Background(), items[:1], func(int) (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(strings.NewReader("part"), errReader{})), nil
	})
	if !errors.As(err, &fe) || fe.Index != 0 {
		t.Fatalf("err = %v, want a FileError for item 0", err)
	}
	// Refusals come back as problems; bad sizes never leave the client.
	srvBad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(403)
		io.WriteString(w, `{"status":403,"code":"forbidden","title":"Forbidden","detail":"not accredited"}`)
	}))
	defer srvBad.Close()
	bad := &Client{BaseURL: srvBad.URL, APIKey: "k"}
	_, err = bad.AppendBatch(context.Background(), items, func(int) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("x")), nil
	})
	var p *Problem
	if !errors.As(err, &p) || p.Code != "forbidden" {
		t.Fatalf("err = %v, want the problem", err)
	}
	if _, err := c.AppendBatch(context.Background(), nil, nil); err == nil {
		t.Fatal("empty batch accepted")
	}
	if _, err := c.AppendBatch(context.Background(), make([]BatchItem, MaxBatch+1), nil); err == nil {
		t.Fatal("oversized batch accepted")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk error") }
