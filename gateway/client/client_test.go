package client

// Unit tests of the client's encoding (multipart framing, streaming, key files, signed
// requests) against a local HTTP handler. The endpoints themselves are tested against a
// real network and gateway by cmd/edossierctl's tests.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/httpsig"
)

// slowReader yields n bytes in small chunks and records the most it was ahead of the
// server: a client that buffered the upload would read everything before sending.
type slowReader struct {
	left int64
	read atomic.Int64
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	if len(p) > 4096 {
		p = p[:4096]
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	for i := range p {
		p[i] = byte(i)
	}
	s.left -= int64(len(p))
	s.read.Add(int64(len(p)))
	return len(p), nil
}

func TestAppendStreamsMultipart(t *testing.T) {
	const size = 32 << 20
	src := &slowReader{left: size}
	var maxAhead int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/dossiers/s-1/records" || r.Header.Get("Idempotency-Key") != "k1" || r.Header.Get("Authorization") != "Bearer key" {
			t.Errorf("request %s %v", r.URL, r.Header)
		}
		mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "multipart/form-data" {
			t.Errorf("content type %q", mt)
		}
		if r.ContentLength < size {
			t.Errorf("content length %d: a sized upload must announce its exact length", r.ContentLength)
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		p, err := mr.NextPart()
		if err != nil || p.FormName() != "metadata" {
			t.Fatalf("first part %v %v", p, err)
		}
		var meta map[string]string
		json.NewDecoder(p).Decode(&meta)
		if meta["type"] != "vaccination-record" || meta["note"] != "Dose \"1\"" || meta["subjectId"] != "" || len(meta) != 2 {
			t.Errorf("metadata %v", meta)
		}
		p, err = mr.NextPart()
		if err != nil || p.FormName() != "file" || p.FileName() != "dose.pdf" || p.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("file part %v %v", p.Header, err)
		}
		var n int64
		buf := make([]byte, 64<<10)
		for {
			k, err := p.Read(buf)
			n += int64(k)
			if ahead := src.read.Load() - n; ahead > maxAhead {
				maxAhead = ahead
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if n != size {
			t.Errorf("file part has %d bytes, want %d", n, size)
		}
		if _, err := mr.NextPart(); err != io.EOF {
			t.Errorf("trailing part: %v", err)
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(RecordResult{Record: wire.Record{RecordID: "r-1"}})
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, APIKey: "key"}
	res, err := c.AppendRecord(context.Background(), "s-1",
		RecordMeta{Type: "vaccination-record", Note: `Dose "1"`, IdempotencyKey: "k1", SubjectID: "ignored"},
		FilePart{Body: src, Size: size, Name: "/tmp/dose.pdf", MediaType: "application/pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Record.RecordID != "r-1" {
		t.Fatalf("result %+v", res)
	}
	if maxAhead > size/2 { // socket buffers hold a few MiB; a buffering client is ~size ahead
		t.Fatalf("the client read %d bytes ahead of the server: the upload is buffered, not streamed", maxAhead)
	}
}

func TestUploadUnknownSizeAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/verify" && r.ContentLength != -1 {
			t.Errorf("unknown size sent with length %d", r.ContentLength)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"type":"x","title":"Forbidden","status":403,"detail":"not accredited","code":"forbidden","requestId":"abc"}`)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL}
	_, err := c.VerifyFile(context.Background(), FilePart{Body: strings.NewReader("doc"), Size: -1}, "person", "1")
	var p *Problem
	if !errors.As(err, &p) || p.Code != "forbidden" || p.Status != 403 || p.RequestID != "abc" || p.Detail != "not accredited" {
		t.Fatalf("error %v", err)
	}
	// A file that yields fewer bytes than announced fails the request.
	_, err = c.AppendRecord(context.Background(), "s-1", RecordMeta{Type: "t", Note: "x"},
		FilePart{Body: strings.NewReader("short"), Size: 100})
	if err == nil {
		t.Fatal("short file accepted")
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	key, err := GenerateSubjectKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeSubjectKey(key, "s-abc")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("subject-id: s-abc\n-----BEGIN PRIVATE KEY-----\n")) {
		t.Fatalf("key file:\n%s", b)
	}
	back, subject, err := ParseSubjectKey(b)
	if err != nil || subject != "s-abc" || !back.Equal(key) {
		t.Fatalf("parse: %q %v", subject, err)
	}
	b, _ = EncodeSubjectKey(key, "")
	if _, subject, err = ParseSubjectKey(b); err != nil || subject != "" {
		t.Fatalf("without subject: %q %v", subject, err)
	}
	if _, err := EncodeSubjectKey(key, "bad subject"); err == nil {
		t.Fatal("invalid subject accepted")
	}
	for _, bad := range []string{"", "garbage", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"} {
		if _, _, err := ParseSubjectKey([]byte(bad)); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
	pemText, id, err := PublicKeyPEM(&key.PublicKey)
	if err != nil || len(id) != 64 || !strings.HasPrefix(pemText, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("public key %q %q %v", pemText, id, err)
	}
}

// TestSignedGrant checks that CreateGrant signs the request (RFC 9421, verified with
// the gateway's verifier) and the grant document (verified like the chaincode does).
func TestSignedGrant(t *testing.T) {
	const me = "p-aaaabbbbccccddddeeeeffffgggghhhh"
	key, _ := GenerateSubjectKey()
	_, keyID, _ := PublicKeyPEM(&key.PublicKey)
	ref := me + "/" + keyID // the keyid names the subject and the device key
	verifier := &httpsig.Verifier{
		KeyFunc: func(_ context.Context, id string) (*ecdsa.PublicKey, error) {
			if id != ref {
				return nil, httpsig.ErrUnknownKey
			}
			return &key.PublicKey, nil
		},
		MaxAge: time.Minute, Nonces: httpsig.NewMemoryNonceStore(time.Minute),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, err := verifier.Verify(r); err != nil || id != ref {
			t.Errorf("request signature: %q %v", id, err)
		}
		var body struct{ Grant, Signature string }
		json.NewDecoder(r.Body).Decode(&body)
		doc, _ := base64.StdEncoding.DecodeString(body.Grant)
		g, _, err := wire.ParseGrant(doc)
		if err != nil || g.SubjectID != me || g.Kind != wire.GrantKind || r.URL.Path != "/v1/dossiers/"+me+"/grants" {
			t.Errorf("grant %+v %v %s", g, err, r.URL.Path)
		}
		if err := wire.VerifySignature(&key.PublicKey, doc, body.Signature); err != nil {
			t.Errorf("document signature: %v", err)
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"grant":{"grantId":"g-1","status":"active"},"receipt":{"channel":"datashare","txId":"t","block":3}}`)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, SubjectID: me, SubjectKey: key}
	now := time.Now()
	res, err := c.CreateGrant(context.Background(), wire.Grant{GrantID: "g-1", Grantee: "SocialSecurityMSP",
		Scope: wire.GrantScope{RecordTypes: []string{"birth-medical-certificate"}}, Purpose: "identity-verification",
		ValidFrom: wire.FormatTime(now), ExpiresAt: wire.FormatTime(now.Add(time.Hour))})
	if err != nil || res.Grant.GrantID != "g-1" || res.Receipt.Block != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := (&Client{BaseURL: srv.URL}).CreateGrant(context.Background(), wire.Grant{}); !errors.Is(err, errNoSubjectKey) {
		t.Fatalf("grant without a key: %v", err)
	}
}
