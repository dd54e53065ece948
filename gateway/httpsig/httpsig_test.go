package httpsig

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	key    *ecdsa.PrivateKey
	keyID  string
	now    time.Time
	nonces *MemoryNonceStore
	v      *Verifier
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ns := NewMemoryNonceStore(0, WithMaxEntries(1000))
	f := &fixture{key: key, keyID: "p-abcdefghijklmnopqrstuvwxyz234567", now: t0, nonces: ns}
	f.v = &Verifier{
		KeyFunc: func(_ context.Context, id string) (*ecdsa.PublicKey, error) {
			if id != f.keyID {
				return nil, fmt.Errorf("%w: %s", ErrUnknownKey, id)
			}
			return &f.key.PublicKey, nil
		},
		MaxAge:  5 * time.Minute,
		MaxSkew: 30 * time.Second,
		Nonces:  ns,
		Now:     func() time.Time { return f.now },
	}
	return f
}

func nonce(t *testing.T) string {
	t.Helper()
	n, err := NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) getRequest(t *testing.T) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/v1/dossiers/p-abc/access-log?limit=10&after=x%2Fy", nil)
	if err := Sign(req, f.keyID, f.key, f.now, nonce(t)); err != nil {
		t.Fatal(err)
	}
	return req
}

const jsonBody = `{"grant":"eyJhbGciOi...","signature":"MEUCIQ..."}`

func (f *fixture) postRequest(t *testing.T) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/dossiers/p-abc/grants", strings.NewReader(jsonBody))
	req.Header.Set("Content-Type", "application/json")
	if err := Sign(req, f.keyID, f.key, f.now, nonce(t)); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestRoundTripGET(t *testing.T) {
	f := newFixture(t)
	req := f.getRequest(t)
	if req.Header.Get("Content-Digest") != "" {
		t.Fatal("Content-Digest set without a body")
	}
	in := req.Header.Get("Signature-Input")
	if !strings.HasPrefix(in, `sig1=("@method" "@path" "@query");created=`) ||
		!strings.Contains(in, `;keyid="`+f.keyID+`";alg="ecdsa-p256-sha256";nonce="`) {
		t.Fatalf("Signature-Input = %s", in)
	}
	id, err := f.v.Verify(req)
	if err != nil {
		t.Fatal(err)
	}
	if id != f.keyID {
		t.Fatalf("keyID %q", id)
	}
}

func TestRoundTripPOST(t *testing.T) {
	f := newFixture(t)
	req := f.postRequest(t)
	sum := sha256.Sum256([]byte(jsonBody))
	if got, want := req.Header.Get("Content-Digest"), "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":"; got != want {
		t.Fatalf("Content-Digest %q, want %q", got, want)
	}
	if in := req.Header.Get("Signature-Input"); !strings.HasPrefix(in, `sig1=("@method" "@path" "@query" "content-digest" "content-type");`) {
		t.Fatalf("Signature-Input = %s", in)
	}
	if _, err := f.v.Verify(req); err != nil {
		t.Fatal(err)
	}
	// The body is still readable by the handler.
	b, err := io.ReadAll(req.Body)
	if err != nil || string(b) != jsonBody {
		t.Fatalf("body after Verify: %q, %v", b, err)
	}
}

// TestOverHTTP signs with an outgoing client request and verifies the
// request as the server receives it, so that both sides derive @path and
// @query from their own representation of the URL.
func TestOverHTTP(t *testing.T) {
	f := newFixture(t)
	f.v.Now = time.Now
	type result struct {
		id   string
		err  error
		body string
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := f.v.Verify(r)
		b, _ := io.ReadAll(r.Body)
		results <- result{id, err, string(b)}
	}))
	defer srv.Close()
	for _, target := range []string{
		"/v1/dossiers/p-abc/grants",
		"/v1/dossiers/p-abc/grants?",
		"/v1/x?a=1&b=%2Fslash&c=%E4%B8%AD&d=a+b&e=%20&f",
		"/v1/a%2Fb/c%41d",
		"/",
	} {
		for _, body := range []string{"", jsonBody} {
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL+target, rd)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if err := Sign(req, f.keyID, f.key, time.Now(), nonce(t)); err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			res := <-results
			if res.err != nil || res.id != f.keyID || res.body != body {
				t.Errorf("%s with body %q: %+v", target, body, res)
			}
		}
	}
}

// signCustom signs req with arbitrary components and parameters, to build
// requests Sign would never produce.
func signCustom(t *testing.T, req *http.Request, key *ecdsa.PrivateKey, comps []string, params string) {
	t.Helper()
	var list []string
	for _, c := range comps {
		list = append(list, `"`+c+`"`)
	}
	sigParams := "(" + strings.Join(list, " ") + ")" + params
	base, err := signatureBase(comps, sigParams, requestResolver(req))
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte(base))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	req.Header.Set("Signature-Input", "sig1="+sigParams)
	req.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
}

func TestRefusals(t *testing.T) {
	params := func(f *fixture, extra string) string {
		return fmt.Sprintf(`;created=%d;keyid="%s";alg="ecdsa-p256-sha256";nonce="nonce-%d"%s`, f.now.Unix(), f.keyID, time.Now().UnixNano(), extra)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cases := []struct {
		name string
		make func(t *testing.T, f *fixture) *http.Request
		want error
	}{
		{"no headers", func(t *testing.T, f *fixture) *http.Request {
			return httptest.NewRequest("GET", "/v1/x", nil)
		}, ErrMissingSignature},
		{"no Signature", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Del("Signature")
			return r
		}, ErrMissingSignature},
		{"no Signature-Input", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Del("Signature-Input")
			return r
		}, ErrMissingSignature},
		{"other label", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), "sig1=", "sig2=", 1))
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "sig1=", "sig2=", 1))
			return r
		}, ErrMissingSignature},
		{"Signature-Input not a list", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Set("Signature-Input", `sig1="@method"`)
			return r
		}, ErrMalformed},
		{"Signature not bytes", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Set("Signature", `sig1="abc"`)
			return r
		}, ErrMalformed},
		{"Signature wrong length", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(make([]byte, 70))+":")
			return r
		}, ErrMalformed},
		{"Signature bad base64", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Set("Signature", "sig1=:a*b:")
			return r
		}, ErrMalformed},
		{"duplicate label", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Add("Signature", r.Header.Get("Signature"))
			return r
		}, ErrMalformed},
		{"trailing comma", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+",")
			return r
		}, ErrMalformed},
		{"unterminated string", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			in := r.Header.Get("Signature-Input")
			r.Header.Set("Signature-Input", in[:len(in)-1])
			return r
		}, ErrMalformed},
		{"component with parameters", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			r.Header.Set("Signature-Input", `sig1=("@method" "@path" "@query";name="a")`+params(f, ""))
			r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(make([]byte, 64))+":")
			return r
		}, ErrMalformed},
		{"unsupported derived component", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			r.Header.Set("Signature-Input", `sig1=("@method" "@path" "@query" "@target-uri")`+params(f, ""))
			r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(make([]byte, 64))+":")
			return r
		}, ErrMalformed},
		{"repeated component", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@method", "@path", "@query", "@path"}, params(f, ""))
			return r
		}, ErrMalformed},
		{"unknown parameter", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@method", "@path", "@query"}, params(f, ";foo=1"))
			return r
		}, ErrMalformed},
		{"created not an integer", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@method", "@path", "@query"}, `;created="1";keyid="`+f.keyID+`";alg="ecdsa-p256-sha256";nonce="abcdefgh"`)
			return r
		}, ErrMalformed},
		{"created decimal", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), ";keyid", ".5;keyid", 1))
			return r
		}, ErrMalformed},
		{"missing created", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@method", "@path", "@query"}, `;keyid="`+f.keyID+`";alg="ecdsa-p256-sha256";nonce="abcdefgh"`)
			return r
		}, ErrMalformed},
		{"missing keyid", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@method", "@path", "@query"}, fmt.Sprintf(`;created=%d;alg="ecdsa-p256-sha256";nonce="abcdefgh"`, f.now.Unix()))
			return r
		}, ErrMalformed},
		{"missing nonce", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@method", "@path", "@query"}, fmt.Sprintf(`;created=%d;keyid="%s";alg="ecdsa-p256-sha256"`, f.now.Unix(), f.keyID))
			return r
		}, ErrMalformed},
		{"short nonce", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@method", "@path", "@query"}, fmt.Sprintf(`;created=%d;keyid="%s";alg="ecdsa-p256-sha256";nonce="abc"`, f.now.Unix(), f.keyID))
			return r
		}, ErrMalformed},
		{"missing alg", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@method", "@path", "@query"}, fmt.Sprintf(`;created=%d;keyid="%s";nonce="abcdefgh"`, f.now.Unix(), f.keyID))
			return r
		}, ErrMalformed},
		{"wrong alg", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@method", "@path", "@query"}, fmt.Sprintf(`;created=%d;keyid="%s";alg="ecdsa-p384-sha384";nonce="abcdefgh"`, f.now.Unix(), f.keyID))
			return r
		}, ErrUnsupportedAlg},
		{"alg hmac", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), "ecdsa-p256-sha256", "hmac-sha256", 1))
			return r
		}, ErrUnsupportedAlg},
		{"@query not covered", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x?a=b", nil)
			signCustom(t, r, f.key, []string{"@method", "@path"}, params(f, ""))
			return r
		}, ErrMissingComponent},
		{"@method not covered", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@path", "@query"}, params(f, ""))
			return r
		}, ErrMissingComponent},
		{"content-digest not covered", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("POST", "/v1/x", strings.NewReader(jsonBody))
			signCustom(t, r, f.key, []string{"@method", "@path", "@query"}, params(f, ""))
			return r
		}, ErrMissingComponent},
		{"content-type added after signing", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, ErrMissingComponent},
		{"covered header removed", func(t *testing.T, f *fixture) *http.Request {
			r := f.postRequest(t)
			r.Header.Del("Content-Type")
			return r
		}, ErrMissingComponent},
		{"Content-Digest removed", func(t *testing.T, f *fixture) *http.Request {
			r := f.postRequest(t)
			r.Header.Del("Content-Digest")
			return r
		}, ErrMissingComponent},
		{"stale", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			f.now = f.now.Add(5*time.Minute + time.Second)
			return r
		}, ErrStale},
		{"future", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			f.now = f.now.Add(-31 * time.Second)
			return r
		}, ErrStale},
		{"expired", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			signCustom(t, r, f.key, []string{"@method", "@path", "@query"}, params(f, fmt.Sprintf(";expires=%d", f.now.Unix()+10)))
			f.now = f.now.Add(11 * time.Second)
			return r
		}, ErrStale},
		{"body changed", func(t *testing.T, f *fixture) *http.Request {
			r := f.postRequest(t)
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(jsonBody, "MEUC", "MEUD", 1)))
			return r
		}, ErrDigestMismatch},
		{"body added to GET", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Body = io.NopCloser(strings.NewReader("x"))
			return r
		}, ErrMissingComponent},
		{"body and digest changed", func(t *testing.T, f *fixture) *http.Request {
			r := f.postRequest(t)
			nb := strings.Replace(jsonBody, "MEUC", "MEUD", 1)
			r.Body = io.NopCloser(strings.NewReader(nb))
			s := sha256.Sum256([]byte(nb))
			r.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(s[:])+":")
			return r
		}, ErrBadSignature},
		{"digest without sha-256", func(t *testing.T, f *fixture) *http.Request {
			r := f.postRequest(t)
			r.Header.Set("Content-Digest", "md5=:AAAA:")
			return r
		}, ErrMalformed},
		{"method changed", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.Method = http.MethodDelete
			return r
		}, ErrBadSignature},
		{"path changed", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.URL.Path = "/v1/dossiers/p-xyz/access-log"
			r.URL.RawPath = ""
			return r
		}, ErrBadSignature},
		{"query changed", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.URL.RawQuery = "limit=1000&after=x%2Fy"
			return r
		}, ErrBadSignature},
		{"query encoding changed", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.URL.RawQuery = "limit=10&after=x/y"
			return r
		}, ErrBadSignature},
		{"query removed", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			r.URL.RawQuery = ""
			return r
		}, ErrBadSignature},
		{"content-type changed", func(t *testing.T, f *fixture) *http.Request {
			r := f.postRequest(t)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, ErrBadSignature},
		{"signed with another key", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			if err := Sign(r, f.keyID, other, f.now, nonce(t)); err != nil {
				t.Fatal(err)
			}
			return r
		}, ErrBadSignature},
		{"keyid changed", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("GET", "/v1/x", nil)
			if err := Sign(r, "e-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", f.key, f.now, nonce(t)); err != nil {
				t.Fatal(err)
			}
			return r
		}, ErrUnknownKey},
		{"signature bit flipped", func(t *testing.T, f *fixture) *http.Request {
			r := f.getRequest(t)
			sig := r.Header.Get("Signature")
			raw, _ := base64.StdEncoding.DecodeString(sig[len("sig1=:") : len(sig)-1])
			raw[10] ^= 1
			r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(raw)+":")
			return r
		}, ErrBadSignature},
		{"body too large", func(t *testing.T, f *fixture) *http.Request {
			r := httptest.NewRequest("POST", "/v1/x", bytes.NewReader(make([]byte, DefaultMaxBodyBytes+1)))
			if err := Sign(r, f.keyID, f.key, f.now, nonce(t)); err != nil {
				t.Fatal(err)
			}
			return r
		}, ErrBodyTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			req := tc.make(t, f)
			id, err := f.v.Verify(req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %q, %v; want %v", id, err, tc.want)
			}
			if id != "" {
				t.Fatalf("keyID %q returned with an error", id)
			}
			if f.nonces.Len() != 0 {
				t.Fatal("a refused request consumed a nonce")
			}
		})
	}
}

func TestReplay(t *testing.T) {
	f := newFixture(t)
	req := f.postRequest(t)
	replay := req.Clone(context.Background())
	replay.Body = io.NopCloser(strings.NewReader(jsonBody))
	if _, err := f.v.Verify(req); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	if _, err := f.v.Verify(replay); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
}

// TestReplayMalleated: (r, n-s) is also a valid ECDSA signature; the nonce
// still catches the replay.
func TestReplayMalleated(t *testing.T) {
	f := newFixture(t)
	req := f.getRequest(t)
	replay := req.Clone(context.Background())
	if _, err := f.v.Verify(req); err != nil {
		t.Fatal(err)
	}
	sig := replay.Header.Get("Signature")
	raw, _ := base64.StdEncoding.DecodeString(sig[len("sig1=:") : len(sig)-1])
	s := new(big.Int).SetBytes(raw[32:])
	s.Sub(elliptic.P256().Params().N, s)
	s.FillBytes(raw[32:])
	replay.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(raw)+":")
	if _, err := f.v.Verify(replay); !errors.Is(err, ErrReplay) {
		t.Fatalf("malleated replay: %v", err)
	}
}

// TestForgeryDoesNotBurnNonce: a tampered copy seen first must not make the
// genuine request fail as a replay.
func TestForgeryDoesNotBurnNonce(t *testing.T) {
	f := newFixture(t)
	req := f.getRequest(t)
	forged := req.Clone(context.Background())
	forged.Method = http.MethodDelete
	if _, err := f.v.Verify(forged); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forged: %v", err)
	}
	if _, err := f.v.Verify(req); err != nil {
		t.Fatalf("genuine after forged: %v", err)
	}
}

func TestKeyFuncError(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("ledger unavailable")
	f.v.KeyFunc = func(context.Context, string) (*ecdsa.PublicKey, error) { return nil, boom }
	_, err := f.v.Verify(f.getRequest(t))
	if !errors.Is(err, boom) || errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify = %v", err)
	}
	f.v.KeyFunc = func(context.Context, string) (*ecdsa.PublicKey, error) { return nil, nil }
	if _, err := f.v.Verify(f.getRequest(t)); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("nil key: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	f.v.KeyFunc = func(context.Context, string) (*ecdsa.PublicKey, error) { return &p384.PublicKey, nil }
	if _, err := f.v.Verify(f.getRequest(t)); !errors.Is(err, ErrUnsupportedAlg) {
		t.Fatalf("P-384 key: %v", err)
	}
}

func TestVerifierMisconfigured(t *testing.T) {
	f := newFixture(t)
	req := f.getRequest(t)
	v := *f.v
	v.Nonces = nil
	if _, err := v.Verify(req); err == nil {
		t.Fatal("verified without a nonce store")
	}
}

func TestSignRefuses(t *testing.T) {
	f := newFixture(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	req := func() *http.Request { return httptest.NewRequest("GET", "/v1/x", nil) }
	if err := Sign(req(), f.keyID, p384, f.now, nonce(t)); err == nil {
		t.Error("signed with P-384")
	}
	if err := Sign(req(), "", f.key, f.now, nonce(t)); err == nil {
		t.Error("signed with empty keyid")
	}
	if err := Sign(req(), "bad\nkey", f.key, f.now, nonce(t)); err == nil {
		t.Error("signed with a keyid that is not an sf-string")
	}
	if err := Sign(req(), f.keyID, f.key, f.now, "short"); err == nil {
		t.Error("signed with a short nonce")
	}
	if err := Sign(req(), f.keyID, f.key, f.now, "nonce\x7fnonce"); err == nil {
		t.Error("signed with a non-printable nonce")
	}
}

func TestNonceStore(t *testing.T) {
	ns := NewMemoryNonceStore(0, WithMaxEntries(3))
	ctx := context.Background()
	exp := t0.Add(time.Minute)
	if err := ns.Use(ctx, "k1", "n1", t0, exp); err != nil {
		t.Fatal(err)
	}
	if err := ns.Use(ctx, "k1", "n1", t0.Add(59*time.Second), exp); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay within window: %v", err)
	}
	if err := ns.Use(ctx, "k2", "n1", t0, exp); err != nil {
		t.Fatalf("same nonce, other key: %v", err)
	}
	if err := ns.Use(ctx, "k1", "n2", t0, exp.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := ns.Use(ctx, "k1", "n3", t0, exp); !errors.Is(err, ErrNonceStoreFull) {
		t.Fatalf("full store: %v", err)
	}
	// After expiry the entries are dropped and memory is reclaimed.
	later := exp.Add(time.Second)
	if err := ns.Use(ctx, "k1", "n1", later, later.Add(time.Minute)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if ns.Len() != 2 { // k1/n2 (not yet expired) and the new k1/n1
		t.Fatalf("Len = %d", ns.Len())
	}
}

// TestNonceStoreWindow: the window can only lengthen retention.
func TestNonceStoreWindow(t *testing.T) {
	ns := NewMemoryNonceStore(10 * time.Minute)
	ctx := context.Background()
	if err := ns.Use(ctx, "k", "n1", t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := ns.Use(ctx, "k", "n1", t0.Add(9*time.Minute), t0.Add(10*time.Minute)); !errors.Is(err, ErrReplay) {
		t.Fatalf("within the window: %v", err)
	}
	if err := ns.Use(ctx, "k", "n2", t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := ns.Use(ctx, "k", "n2", t0.Add(30*time.Minute), t0.Add(time.Hour)); !errors.Is(err, ErrReplay) {
		t.Fatalf("before the requested expiry: %v", err)
	}
	if err := ns.Use(ctx, "k", "n1", t0.Add(11*time.Minute), t0.Add(12*time.Minute)); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestNonceStoreBounded(t *testing.T) {
	ns := NewMemoryNonceStore(0, WithMaxEntries(100))
	ctx := context.Background()
	now := t0
	for i := range 10000 {
		now = now.Add(100 * time.Millisecond)
		if err := ns.Use(ctx, "k", fmt.Sprint(i), now, now.Add(5*time.Second)); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	if n := ns.Len(); n > 51 {
		t.Fatalf("%d entries held", n)
	}
	if len(ns.byExp) != ns.Len() {
		t.Fatalf("heap %d, map %d", len(ns.byExp), ns.Len())
	}
}
