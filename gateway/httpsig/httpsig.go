// Package httpsig implements the subset of RFC 9421 (HTTP Message Signatures)
// that citizens use to sign their requests to the gateway, both the signing
// side (the CLI) and the verifying side (the gateway).
//
// # Profile
//
//   - Algorithm ecdsa-p256-sha256 only (RFC 9421 §3.3.4: SHA-256 over the
//     signature base, signature r||s, 64 bytes).
//   - Covered components: "@method", "@path" and "@query" always;
//     "content-digest" whenever the request has a body (or carries a
//     Content-Digest header); "content-type" whenever the request has a
//     Content-Type header. @path and @query are used rather than
//     @target-uri because a gateway behind a TLS-terminating proxy cannot
//     reliably rebuild the scheme and authority the client saw; their values
//     are taken exactly as sent, percent-encoding untouched (RFC 9421 §2.2.6,
//     §2.2.7). A signature may cover more (e.g. "@authority" or other
//     header fields): extra components are verified like the required ones.
//   - Signature parameters: created, keyid, alg="ecdsa-p256-sha256" and nonce
//     are required; expires and tag are allowed; anything else is refused.
//   - Label "sig1" by default (Verifier.Label); other signatures in the same
//     headers are ignored.
//   - Content-Digest (RFC 9530) with sha-256 (sha-512, if also present, is
//     checked too).
//
// Replay protection: created must lie within [now-MaxAge, now+MaxSkew], and
// the (keyid, nonce) pair is recorded in a NonceStore after the signature
// has verified, for as long as the signature could be accepted; a second use
// is refused with ErrReplay. Recording only after verification means a forged
// request cannot burn the nonce of a genuine one.
//
// Every refusal wraps one of the exported Err* sentinels (test with
// errors.Is); all of them except ErrBodyTooLarge (413) and ErrNonceStoreFull
// (503) mean "401: not authenticated". An error wrapping none of them comes
// from a failing KeyFunc or NonceStore and is an internal failure. The keyid
// is returned by Verify; binding it to the resource (a subject's own dossier)
// is the caller's job.
//
// The path and query are verified as the gateway receives them: a proxy in
// front of it must not rewrite them (strip a prefix, re-encode), and the
// in-memory nonce store protects one gateway instance only (see
// MemoryNonceStore).
package httpsig

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// Algorithm is the only signature algorithm supported.
const Algorithm = "ecdsa-p256-sha256"

// DefaultLabel is the signature label used by Sign and expected by default.
const DefaultLabel = "sig1"

// Defaults of the Verifier's zero-valued fields.
const (
	DefaultMaxAge       = 5 * time.Minute
	DefaultMaxSkew      = 30 * time.Second
	DefaultMaxBodyBytes = 1 << 20
)

// Limits on client-chosen strings (they end up in the nonce store).
const (
	MinNonceLen = 8
	MaxNonceLen = 128
	MaxKeyIDLen = 256
	// maxHeaderLen bounds the signature headers we are willing to parse.
	maxHeaderLen = 8 << 10
)

// Refusal reasons. Verify's errors wrap exactly one of them.
var (
	ErrMissingSignature  = errors.New("httpsig: missing signature")
	ErrMalformed         = errors.New("httpsig: malformed signature")
	ErrUnsupportedAlg    = errors.New("httpsig: unsupported signature algorithm")
	ErrMissingComponent  = errors.New("httpsig: required component not covered")
	ErrStale             = errors.New("httpsig: signature expired or not yet valid")
	ErrReplay            = errors.New("httpsig: nonce already used")
	ErrUnknownKey        = errors.New("httpsig: unknown key")
	ErrDigestMismatch    = errors.New("httpsig: content digest mismatch")
	ErrBadSignature      = errors.New("httpsig: signature does not verify")
	ErrBodyTooLarge      = errors.New("httpsig: body too large")
	ErrNonceStoreFull    = errors.New("httpsig: nonce store full")
	errUnsupportedTarget = errors.New("httpsig: request URL cannot be signed")
)

// NewNonce returns a fresh random nonce (128 bits, base64url).
func NewNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Sign signs req in place: it sets Content-Digest (sha-256) when the request
// has a body (reading it and putting it back), then Signature-Input and
// Signature under DefaultLabel, covering @method, @path, @query,
// content-digest (with a body) and content-type (when set). Set every other
// header, in particular Content-Type, before calling Sign.
func Sign(req *http.Request, keyID string, key *ecdsa.PrivateKey, now time.Time, nonce string) error {
	if key == nil || key.Curve != elliptic.P256() {
		return fmt.Errorf("%w: key must be ECDSA P-256", ErrUnsupportedAlg)
	}
	if keyID == "" || len(keyID) > MaxKeyIDLen || !validSFString(keyID) {
		return fmt.Errorf("httpsig: invalid keyid %q", keyID)
	}
	if len(nonce) < MinNonceLen || len(nonce) > MaxNonceLen || !validSFString(nonce) {
		return fmt.Errorf("httpsig: nonce must be %d to %d printable ASCII characters", MinNonceLen, MaxNonceLen)
	}
	if req.URL == nil || req.URL.Opaque != "" {
		return errUnsupportedTarget
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return fmt.Errorf("httpsig: read body: %w", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
		if len(body) == 0 {
			req.Body = http.NoBody
			req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		}
	}
	req.Header.Del("Content-Digest")
	comps := []string{"@method", "@path", "@query"}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		req.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
		comps = append(comps, "content-digest")
	}
	if len(req.Header.Values("Content-Type")) > 0 {
		comps = append(comps, "content-type")
	}
	list := innerList{params: []param{
		{key: "created", val: bareItem{kind: kindInteger, i: now.Unix()}},
		{key: "keyid", val: bareItem{kind: kindString, s: keyID}},
		{key: "alg", val: bareItem{kind: kindString, s: Algorithm}},
		{key: "nonce", val: bareItem{kind: kindString, s: nonce}},
	}}
	for _, c := range comps {
		list.items = append(list.items, sfItem{val: bareItem{kind: kindString, s: c}})
	}
	sigParams := serializeInnerList(list)
	base, err := signatureBase(comps, sigParams, requestResolver(req))
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(base))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	req.Header.Set("Signature-Input", DefaultLabel+"="+sigParams)
	req.Header.Set("Signature", DefaultLabel+"=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return nil
}

// NonceStore remembers used (keyID, nonce) pairs.
type NonceStore interface {
	// Use records that keyID used nonce; the pair must be remembered at
	// least until expires. If the pair is already recorded and not expired
	// at now, Use returns an error wrapping ErrReplay. now is the
	// verifier's clock. Other errors make the verification fail closed.
	Use(ctx context.Context, keyID, nonce string, now, expires time.Time) error
}

// Verifier verifies signed requests. Zero durations and sizes take the
// Default* values; KeyFunc and Nonces are required. A Verifier is safe for
// concurrent use if KeyFunc and Nonces are.
type Verifier struct {
	// KeyFunc returns the public key of keyID. It returns an error wrapping
	// ErrUnknownKey if there is no such key; any other error is passed
	// through (an internal failure, not a refusal).
	KeyFunc func(ctx context.Context, keyID string) (*ecdsa.PublicKey, error)
	// MaxAge is how long after created a signature is accepted.
	MaxAge time.Duration
	// MaxSkew is how far created may lie in the future (clock skew).
	MaxSkew time.Duration
	// Nonces records used nonces (replay protection).
	Nonces NonceStore
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// MaxBodyBytes bounds the body read to check Content-Digest.
	MaxBodyBytes int64
	// Label selects the signature to verify; DefaultLabel if empty.
	Label string
}

// sigInput is a parsed and policy-checked Signature-Input member.
type sigInput struct {
	comps     []string
	params    string // serialized inner list for @signature-params
	created   time.Time
	expires   time.Time // zero if absent
	keyID     string
	nonce     string
	signature []byte
}

// Verify checks the signature of req and returns its keyid. The body is read
// (at most MaxBodyBytes) and put back, so handlers can read it again.
func (v *Verifier) Verify(req *http.Request) (string, error) {
	if v.KeyFunc == nil || v.Nonces == nil {
		return "", errors.New("httpsig: Verifier needs KeyFunc and Nonces")
	}
	ctx := req.Context()
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	maxAge := orDefault(v.MaxAge, DefaultMaxAge)
	maxSkew := orDefault(v.MaxSkew, DefaultMaxSkew)
	label := v.Label
	if label == "" {
		label = DefaultLabel
	}

	in, err := parseSignature(req.Header, label)
	if err != nil {
		return "", err
	}
	// Required coverage.
	covered := map[string]bool{}
	for _, c := range in.comps {
		covered[c] = true
	}
	for _, c := range []string{"@method", "@path", "@query"} {
		if !covered[c] {
			return "", fmt.Errorf("%w: %s", ErrMissingComponent, c)
		}
	}
	if len(req.Header.Values("Content-Type")) > 0 && !covered["content-type"] {
		return "", fmt.Errorf("%w: content-type", ErrMissingComponent)
	}
	// Time window.
	if in.created.After(now.Add(maxSkew)) {
		return "", fmt.Errorf("%w: created is in the future", ErrStale)
	}
	if now.Sub(in.created) > maxAge {
		return "", fmt.Errorf("%w: created too long ago", ErrStale)
	}
	if !in.expires.IsZero() && now.After(in.expires) {
		return "", fmt.Errorf("%w: expired", ErrStale)
	}
	// Body and digest.
	body, err := readBody(req, orDefault(v.MaxBodyBytes, DefaultMaxBodyBytes))
	if err != nil {
		return "", err
	}
	digestHeader := req.Header.Values("Content-Digest")
	if len(body) > 0 || len(digestHeader) > 0 {
		if !covered["content-digest"] {
			return "", fmt.Errorf("%w: content-digest", ErrMissingComponent)
		}
		if err := checkDigest(strings.Join(digestHeader, ", "), body); err != nil {
			return "", err
		}
	}
	base, err := signatureBase(in.comps, in.params, requestResolver(req))
	if err != nil {
		return "", err
	}
	// Key, signature, nonce.
	pub, err := v.KeyFunc(ctx, in.keyID)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return "", err
		}
		return "", fmt.Errorf("httpsig: key lookup: %w", err)
	}
	if pub == nil {
		return "", fmt.Errorf("%w: %q", ErrUnknownKey, in.keyID)
	}
	if err := verifyECDSA(pub, []byte(base), in.signature); err != nil {
		return "", err
	}
	// Remember the nonce as long as this signature could be accepted.
	until := in.created.Add(maxAge)
	if !in.expires.IsZero() && in.expires.Before(until) {
		until = in.expires
	}
	if err := v.Nonces.Use(ctx, in.keyID, in.nonce, now, until.Add(time.Second)); err != nil {
		return "", err
	}
	return in.keyID, nil
}

func orDefault[T int64 | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// headerValue combines all field lines of name (RFC 9110 §5.3).
func headerValue(h http.Header, name string) string {
	return strings.Join(h.Values(name), ", ")
}

// parseSignature extracts and checks the signature under label.
func parseSignature(h http.Header, label string) (*sigInput, error) {
	rawInput := headerValue(h, "Signature-Input")
	rawSig := headerValue(h, "Signature")
	if strings.TrimSpace(rawInput) == "" || strings.TrimSpace(rawSig) == "" {
		return nil, ErrMissingSignature
	}
	if len(rawInput) > maxHeaderLen || len(rawSig) > maxHeaderLen {
		return nil, fmt.Errorf("%w: signature headers too long", ErrMalformed)
	}
	inputs, err := parseDictionary(rawInput)
	if err != nil {
		return nil, fmt.Errorf("Signature-Input: %w", err)
	}
	sigs, err := parseDictionary(rawSig)
	if err != nil {
		return nil, fmt.Errorf("Signature: %w", err)
	}
	var im, sm *member
	for i := range inputs {
		if inputs[i].key == label {
			im = &inputs[i]
		}
	}
	for i := range sigs {
		if sigs[i].key == label {
			sm = &sigs[i]
		}
	}
	if im == nil || sm == nil {
		return nil, fmt.Errorf("%w: no signature labelled %q", ErrMissingSignature, label)
	}
	if !im.isList {
		return nil, fmt.Errorf("%w: Signature-Input member is not an inner list", ErrMalformed)
	}
	if sm.isList || sm.item.val.kind != kindBytes || len(sm.item.params) != 0 {
		return nil, fmt.Errorf("%w: Signature member is not a byte sequence", ErrMalformed)
	}
	if len(sm.item.val.b) != 64 {
		return nil, fmt.Errorf("%w: signature must be 64 bytes, got %d", ErrMalformed, len(sm.item.val.b))
	}
	in := &sigInput{signature: sm.item.val.b, params: serializeInnerList(im.list)}
	seen := map[string]bool{}
	for _, it := range im.list.items {
		if it.val.kind != kindString || len(it.params) != 0 {
			return nil, fmt.Errorf("%w: component identifiers must be plain strings", ErrMalformed)
		}
		name := it.val.s
		if !supportedComponent(name) {
			return nil, fmt.Errorf("%w: unsupported component %q", ErrMalformed, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: component %q repeated", ErrMalformed, name)
		}
		seen[name] = true
		in.comps = append(in.comps, name)
	}
	var alg string
	var haveCreated, haveKeyID, haveAlg, haveNonce bool
	for _, p := range im.list.params {
		switch p.key {
		case "created", "expires":
			if p.val.kind != kindInteger || p.val.i < 0 {
				return nil, fmt.Errorf("%w: %s must be a non-negative integer", ErrMalformed, p.key)
			}
			if p.key == "created" {
				in.created, haveCreated = time.Unix(p.val.i, 0), true
			} else {
				in.expires = time.Unix(p.val.i, 0)
			}
		case "keyid", "alg", "nonce", "tag":
			if p.val.kind != kindString {
				return nil, fmt.Errorf("%w: %s must be a string", ErrMalformed, p.key)
			}
			switch p.key {
			case "keyid":
				in.keyID, haveKeyID = p.val.s, true
			case "alg":
				alg, haveAlg = p.val.s, true
			case "nonce":
				in.nonce, haveNonce = p.val.s, true
			}
		default:
			return nil, fmt.Errorf("%w: unsupported signature parameter %q", ErrMalformed, p.key)
		}
	}
	switch {
	case !haveCreated:
		return nil, fmt.Errorf("%w: created is required", ErrMalformed)
	case !haveKeyID || in.keyID == "" || len(in.keyID) > MaxKeyIDLen:
		return nil, fmt.Errorf("%w: keyid is required (1 to %d characters)", ErrMalformed, MaxKeyIDLen)
	case !haveNonce || len(in.nonce) < MinNonceLen || len(in.nonce) > MaxNonceLen:
		return nil, fmt.Errorf("%w: nonce is required (%d to %d characters)", ErrMalformed, MinNonceLen, MaxNonceLen)
	case !haveAlg:
		return nil, fmt.Errorf("%w: alg is required", ErrMalformed)
	case alg != Algorithm:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlg, alg)
	case !in.expires.IsZero() && in.expires.Before(in.created):
		return nil, fmt.Errorf("%w: expires before created", ErrMalformed)
	}
	return in, nil
}

// supportedComponent reports whether name is a derived component this
// package can compute or a syntactically valid lower-case field name.
func supportedComponent(name string) bool {
	switch name {
	case "@method", "@path", "@query", "@authority":
		return true
	}
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isTchar(c) || (c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// resolver returns the value of a covered component, or an error wrapping
// ErrMissingComponent.
type resolver func(name string) (string, error)

// requestResolver resolves components of a request, as sent by a client or
// as received by a server.
func requestResolver(req *http.Request) resolver {
	return func(name string) (string, error) {
		switch name {
		case "@method":
			return req.Method, nil
		case "@path":
			p := req.URL.EscapedPath()
			if p == "" {
				p = "/"
			}
			return p, nil
		case "@query":
			return "?" + req.URL.RawQuery, nil
		case "@authority":
			host := req.Host
			if host == "" {
				host = req.URL.Host
			}
			if host == "" {
				return "", fmt.Errorf("%w: @authority unknown", ErrMissingComponent)
			}
			return strings.ToLower(host), nil
		}
		if strings.HasPrefix(name, "@") {
			return "", fmt.Errorf("%w: unsupported component %q", ErrMalformed, name)
		}
		vals := req.Header.Values(name)
		if len(vals) == 0 {
			return "", fmt.Errorf("%w: header %q is covered but absent", ErrMissingComponent, name)
		}
		trimmed := make([]string, len(vals))
		for i, v := range vals {
			trimmed[i] = strings.Trim(v, " \t")
		}
		return strings.Join(trimmed, ", "), nil
	}
}

// signatureBase builds the signature base of RFC 9421 §2.5.
func signatureBase(comps []string, sigParams string, resolve resolver) (string, error) {
	var b strings.Builder
	for _, c := range comps {
		v, err := resolve(c)
		if err != nil {
			return "", err
		}
		if strings.ContainsAny(v, "\r\n") {
			return "", fmt.Errorf("%w: component %q contains a line break", ErrMalformed, c)
		}
		b.WriteByte('"')
		b.WriteString(c)
		b.WriteString(`": `)
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(sigParams)
	return b.String(), nil
}

func verifyECDSA(pub *ecdsa.PublicKey, base, sig []byte) error {
	if pub.Curve != elliptic.P256() {
		return fmt.Errorf("%w: key is not P-256", ErrUnsupportedAlg)
	}
	if len(sig) != 64 {
		return ErrBadSignature
	}
	digest := sha256.Sum256(base)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return ErrBadSignature
	}
	return nil
}

// readBody reads at most max bytes of the body and puts them back.
func readBody(req *http.Request, max int64) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.ContentLength > max {
		return nil, ErrBodyTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, max+1))
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("httpsig: read body: %w", err)
	}
	if int64(len(body)) > max {
		return nil, ErrBodyTooLarge
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// checkDigest verifies a Content-Digest field value against body. sha-256
// is required; sha-512 is checked if present; other algorithms are ignored.
func checkDigest(field string, body []byte) error {
	if strings.TrimSpace(field) == "" {
		return fmt.Errorf("%w: Content-Digest header missing", ErrMissingComponent)
	}
	members, err := parseDictionary(field)
	if err != nil {
		return fmt.Errorf("Content-Digest: %w", err)
	}
	found := false
	for _, m := range members {
		var want []byte
		switch m.key {
		case "sha-256":
			s := sha256.Sum256(body)
			want, found = s[:], true
		case "sha-512":
			s := sha512.Sum512(body)
			want = s[:]
		default:
			continue
		}
		if m.isList || m.item.val.kind != kindBytes {
			return fmt.Errorf("%w: Content-Digest %s is not a byte sequence", ErrMalformed, m.key)
		}
		if !bytes.Equal(m.item.val.b, want) {
			return fmt.Errorf("%w: %s", ErrDigestMismatch, m.key)
		}
	}
	if !found {
		return fmt.Errorf("%w: Content-Digest lacks sha-256", ErrMalformed)
	}
	return nil
}
