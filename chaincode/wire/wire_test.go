package wire

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

func TestErrorEncoding(t *testing.T) {
	e := Errorf(CodeForbidden, "only <the> issuer & %s", "co")
	if got := e.Error(); got != `{"code":"forbidden","message":"only <the> issuer & co"}` {
		t.Fatalf("got %s", got)
	}
	for _, s := range []string{
		e.Error(),
		"chaincode response 500, " + e.Error(),
		`rpc error: code = Unknown desc = evaluate call to endorser returned error: chaincode response 500, ` + e.Error() + ` and more`,
		fmt.Sprintf("%q", "wrapped "+e.Error()),
		`{"code":"broken" then ` + e.Error(),
	} {
		got, ok := ParseError(s)
		if !ok || *got != *e {
			t.Errorf("ParseError(%q) = %v %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "plain", `{"code":""}`, `{"code":1}`, `{"message":"x"}`} {
		if _, ok := ParseError(s); ok {
			t.Errorf("ParseError(%q) succeeded", s)
		}
	}
	// Unknown codes survive (a newer chaincode), Known tells them apart.
	if got, ok := ParseError(`{"code":"new_code","message":"m"}`); !ok || got.Code.Known() {
		t.Fatal("unknown code handling")
	}
	for _, c := range Codes {
		if !c.Known() {
			t.Fatal(c)
		}
	}
	if AsError(nil) != nil {
		t.Fatal("AsError(nil)")
	}
	if got := AsError(fmt.Errorf("wrapped: %w", e)); got != e {
		t.Fatal("AsError unwrap")
	}
	if got := AsError(errors.New("text " + e.Error())); *got != *e {
		t.Fatal("AsError parse")
	}
	if got := AsError(errors.New("boom")); got.Code != CodeInternal || got.Message != "boom" {
		t.Fatal("AsError fallback")
	}
}

func TestCID(t *testing.T) {
	c, n, err := CIDOf(bytes.NewReader(nil))
	if err != nil || n != 0 {
		t.Fatal(err)
	}
	// Well-known CIDv1 raw sha2-256 of zero bytes.
	if c.String() != "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku" {
		t.Fatalf("empty file CID %s", c)
	}
	data := bytes.Repeat([]byte("e-dossier "), 100000)
	c, n, err = CIDOf(bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatal(err)
	}
	want, err := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: 0x12, MhLength: -1}.Sum(data)
	if err != nil || !c.Equals(want) {
		t.Fatalf("CIDOf disagrees with go-cid: %s vs %s", c, want)
	}
	if got, err := ParseCID(c.String()); err != nil || !got.Equals(c) {
		t.Fatal(err)
	}
	sha512, _ := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: 0x13, MhLength: -1}.Sum(data)
	v0, _ := cid.Prefix{Version: 0, Codec: cid.DagProtobuf, MhType: 0x12, MhLength: -1}.Sum(data)
	dagpb, _ := cid.Prefix{Version: 1, Codec: cid.DagProtobuf, MhType: 0x12, MhLength: -1}.Sum(data)
	b58, _ := c.StringOfBase('z')
	for _, s := range []string{"", "x", sha512.String(), v0.String(), dagpb.String(), b58, strings.ToUpper(c.String()),
		c.String() + " ", strings.Repeat("b", MaxCIDLen+1)} {
		if _, err := ParseCID(s); err == nil || AsError(err).Code != CodeInvalid {
			t.Errorf("ParseCID(%q) accepted", s)
		}
	}
	if _, _, err := CIDOf(failReader{}); err == nil {
		t.Fatal("read error swallowed")
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestValidators(t *testing.T) {
	ok := map[string]error{
		"id":     ValidateID("f", "p-1:2024.x_y"),
		"msp":    ValidateMSPID("f", "Org1.MSP-x_y"),
		"code":   ValidateCode("f", "birth-cert"),
		"text":   ValidateText("f", "出生医学证明 (copy)", 100, true),
		"opt":    ValidateText("f", "", 10, false),
		"media":  ValidateMediaType("f", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
		"media2": ValidateMediaType("f", "image/svg+xml"),
	}
	for k, err := range ok {
		if err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	bad := []error{
		ValidateID("f", ""), ValidateID("f", "-x"), ValidateID("f", "a/b"), ValidateID("f", "a b"),
		ValidateID("f", strings.Repeat("a", MaxIDLen+1)), ValidateMSPID("f", "a:b"), ValidateCode("f", "é"),
		ValidateText("f", "", 10, true), ValidateText("f", "abc", 2, false), ValidateText("f", "a\x00", 10, false),
		ValidateText("f", "a\u200b\u0085", 10, false), ValidateText("f", "\xff", 10, false),
		ValidateMediaType("f", "application"), ValidateMediaType("f", "/pdf"), ValidateMediaType("f", "a/"),
		ValidateMediaType("f", "a/b/c"), ValidateMediaType("f", "a /b"), ValidateMediaType("f", strings.Repeat("a", 64)+"/"+strings.Repeat("b", 64)),
	}
	for i, err := range bad {
		if err == nil || AsError(err).Code != CodeInvalid {
			t.Errorf("bad %d accepted", i)
		}
	}
	for in, want := range map[string]string{
		"2025-01-01T08:00:00+08:00":           "2025-01-01T00:00:00Z",
		"2025-01-01T00:00:00.120000000Z":      "2025-01-01T00:00:00.12Z",
		"2025-06-30T23:59:59.999999999-00:30": "2025-07-01T00:29:59.999999999Z",
	} {
		if got, err := NormalizeTime("t", in); err != nil || got != want {
			t.Errorf("NormalizeTime(%s) = %s %v", in, got, err)
		}
	}
	for _, in := range []string{"", "2025-01-01", "2025-01-01 00:00:00Z", "0000-01-01T00:00:00+01:00", "2025-13-01T00:00:00Z", strings.Repeat("9", 70)} {
		if _, err := ParseTime("t", in); err == nil {
			t.Errorf("ParseTime(%q) accepted", in)
		}
	}
	for in, want := range map[string]int32{"": DefaultPageSize, "0": DefaultPageSize, "1": 1, "200": 200} {
		if got, err := ParsePageSize(in); err != nil || got != want {
			t.Errorf("ParsePageSize(%q) = %d %v", in, got, err)
		}
	}
	for _, in := range []string{"-1", "201", "007", "1e2", "x", "9999999"} {
		if _, err := ParsePageSize(in); err == nil {
			t.Errorf("ParsePageSize(%q) accepted", in)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	type T struct {
		A string `json:"a"`
	}
	var v T
	if err := DecodeStrict([]byte(` {"a":"x"} `), &v, 100); err != nil || v.A != "x" {
		t.Fatal(err)
	}
	for _, in := range []string{``, `null`, `"x"`, `[]`, `{"a":"x"}{}`, `{"a":"x"} 1`, `{"b":1}`, `{"a":1}`, `{"a":"x"`, "{\"a\":\"\xff\"}", `{"a":"` + strings.Repeat("x", 100) + `"}`} {
		if err := DecodeStrict([]byte(in), &v, 100); err == nil || AsError(err).Code != CodeInvalid {
			t.Errorf("DecodeStrict(%q) accepted", in)
		}
	}
	// encoding/json alone would accept these two; DecodeSigned must not.
	for _, in := range []string{`{"A":"x"}`, `{"a":"x","a":"y"}`} {
		if err := DecodeStrict([]byte(in), &v, 100); err != nil {
			t.Fatalf("DecodeStrict(%q): %v", in, err)
		}
		if err := DecodeSigned([]byte(in), &v, 100); err == nil {
			t.Errorf("DecodeSigned(%q) accepted", in)
		}
	}
}

// TestDecodeSigned: every refusal of a signed document is CodeInvalid and says
// what and where, by JSON path, without Go type names.
func TestDecodeSigned(t *testing.T) {
	type item struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
	}
	type T struct {
		ID    string `json:"id"`
		Items []item `json:"items"`
	}
	var v T
	if err := DecodeSigned([]byte(` {"id":"x","items":[{"name":"a","size":2}]} `), &v, 100); err != nil || v.ID != "x" || v.Items[0].Size != 2 {
		t.Fatalf("%+v %v", v, err)
	}
	for in, want := range map[string]string{
		``:                  "document is empty",
		`[]`:                "document must be a JSON object",
		"{\"id\":\"\xff\"}": "document is not valid UTF-8",
		`{"id":"` + strings.Repeat("x", 100) + `"}`: "document larger than 100 bytes",
		`{"id":"x","ID":"y"}`:                       `unknown field "ID"`,
		`{"items":[{"name":"a","extra":1}]}`:        `unknown field "extra" at /items/0`,
		`{"items":[{"Name":"a"}]}`:                  `unknown field "Name" at /items/0`,
		`{"items":[{"id":"a"}]}`:                    `unknown field "id" at /items/0`,
		`{"id":"x","id":"y"}`:                       `duplicate field "id"`,
		`{"items":[{"size":1,"size":2}]}`:           `duplicate field "size" at /items/0`,
		`{"id":"x"}{}`:                              "malformed document at byte 10",
		`{"id":"x"`:                                 "malformed document at byte 9",
		`{"items":[{"size":1.5}]}`:                  "wrong type of value (JSON number) at /items/0/size",
		`{"items":[{"size":"1"}]}`:                  "wrong type of value (JSON string) at /items/0/size",
		`{"id":1}`:                                  "wrong type of value (JSON number) at /id",
	} {
		err := DecodeSigned([]byte(in), &v, 100)
		if we := AsError(err); we == nil || we.Code != CodeInvalid || we.Message != want {
			t.Errorf("DecodeSigned(%q) = %v, want %q", in, err, want)
		}
	}
}

const testSubject = "p-aaaabbbbccccddddeeeeffffgggghhhh"

func TestValidateSubjectID(t *testing.T) {
	for _, ok := range []string{testSubject, "e-234567abcdefghijklmnopqrstuvwxyz"} {
		if err := ValidateSubjectID("subjectId", ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"", "p-1", "s", "110101202611201235", "91350100M000100Y43", "11010120261120123X",
		"p-AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH", "p-aaaabbbbccccddddeeeeffffgggghhh1", "p-aaaabbbbccccddddeeeeffffgggghhh8",
		"x-aaaabbbbccccddddeeeeffffgggghhhh", "p_aaaabbbbccccddddeeeeffffgggghhhh", "p-aaaabbbbccccddddeeeeffffgggghhhhh",
		"p-aaaabbbbccccddddeeeeffffgggghhh", "p-aaaabbbbccccddddeeeeffffgggghhh=", "李小明", "p-李小明aaaabbbbccccddddeeeeffff",
	} {
		err := ValidateSubjectID("subjectId", bad)
		if err == nil || AsError(err).Code != CodeInvalid {
			t.Errorf("%q accepted", bad)
			continue
		}
		if len(bad) >= 6 && strings.Contains(AsError(err).Message, bad) {
			t.Errorf("message echoes the value: %s", AsError(err).Message)
		}
	}
}

func testGrant() Grant {
	return Grant{Kind: GrantKind, GrantID: "g-1", SubjectID: testSubject, Grantee: "CivilMSP",
		Scope:   GrantScope{RecordTypes: []string{"birth-cert"}},
		Purpose: "marriage-registration", ValidFrom: "2025-01-01T08:00:00+08:00", ExpiresAt: "2025-02-01T00:00:00Z"}
}

func TestGrantDocuments(t *testing.T) {
	doc, err := EncodeGrant(testGrant())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"edossier.grant.v1","grantId":"g-1","subjectId":"p-aaaabbbbccccddddeeeeffffgggghhhh","grantee":"CivilMSP","scope":{"recordTypes":["birth-cert"],"recordIds":[]},"purpose":"marriage-registration","validFrom":"2025-01-01T00:00:00Z","expiresAt":"2025-02-01T00:00:00Z"}`
	if string(doc) != want {
		t.Fatalf("got %s", doc)
	}
	g, times, err := ParseGrant(doc)
	if err != nil || !times.ValidFrom.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) || g.Scope.RecordIDs == nil {
		t.Fatal(err)
	}
	if !g.Scope.InScope("birth-cert", "x") || g.Scope.InScope("other", "x") {
		t.Fatal("InScope by type")
	}
	if !(GrantScope{RecordIDs: []string{"r"}}).InScope("t", "r") {
		t.Fatal("InScope by id")
	}
	// Nested duplicate keys and case variants are refused.
	for _, in := range []string{
		strings.Replace(want, `"recordIds":[]`, `"recordIds":[],"recordIds":["x"]`, 1),
		strings.Replace(want, `"recordIds"`, `"recordIDs"`, 1),
		strings.Replace(want, `"kind"`, `"Kind"`, 1),
	} {
		if _, _, err := ParseGrant([]byte(in)); err == nil {
			t.Errorf("ParseGrant(%s) accepted", in)
		}
	}
	many := testGrant()
	for i := 0; i <= MaxScopeTypes; i++ {
		many.Scope.RecordTypes = append(many.Scope.RecordTypes, fmt.Sprintf("t%d", i))
	}
	if _, err := EncodeGrant(many); err == nil {
		t.Fatal("too many scope types")
	}
	many = testGrant()
	for i := 0; i <= MaxScopeIDs; i++ {
		many.Scope.RecordIDs = append(many.Scope.RecordIDs, fmt.Sprintf("r%d", i))
	}
	if _, err := EncodeGrant(many); err == nil {
		t.Fatal("too many scope ids")
	}
	bad := testGrant()
	bad.Nonce = "a\nb"
	if _, err := EncodeGrant(bad); err == nil {
		t.Fatal("bad nonce")
	}
	// A grant's purpose is a code, its subject a pseudonym.
	for _, mut := range []func(*Grant){
		func(g *Grant) { g.Purpose = "marriage registration" }, func(g *Grant) { g.Purpose = "出生登记 李小明" },
		func(g *Grant) { g.Purpose = "" }, func(g *Grant) { g.SubjectID = "110101202611201235" },
		func(g *Grant) { g.SubjectID = "91350100M000100Y43" }, func(g *Grant) { g.SubjectID = "p-1" },
	} {
		x := testGrant()
		mut(&x)
		if _, err := EncodeGrant(x); err == nil || AsError(err).Code != CodeInvalid {
			t.Errorf("bad grant accepted: %+v", x)
		}
	}

	r := Revocation{Kind: RevocationKind, GrantID: "g-1", SubjectID: testSubject, IssuedAt: "2025-01-02T01:00:00+01:00", Reason: "subject-request"}
	rb, err := EncodeRevocation(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(rb) != `{"kind":"edossier.grant-revocation.v1","grantId":"g-1","subjectId":"p-aaaabbbbccccddddeeeeffffgggghhhh","issuedAt":"2025-01-02T00:00:00Z","reason":"subject-request"}` {
		t.Fatalf("got %s", rb)
	}
	if _, err := ParseRevocation(doc); err == nil {
		t.Fatal("a grant parsed as revocation")
	}
	if _, _, err := ParseGrant(rb); err == nil {
		t.Fatal("a revocation parsed as grant")
	}
	for _, mut := range []func(*Revocation){
		func(r *Revocation) { r.GrantID = "" }, func(r *Revocation) { r.SubjectID = "a b" },
		func(r *Revocation) { r.IssuedAt = "" }, func(r *Revocation) { r.Reason = "\x01" },
		// Free text and personal data are no reason codes; raw ID numbers are no subject IDs.
		func(r *Revocation) { r.Reason = "changed my mind" }, func(r *Revocation) { r.Reason = "李小明" },
		func(r *Revocation) { r.SubjectID = "110101202611201235" }, func(r *Revocation) { r.SubjectID = "p-1" },
	} {
		x := r
		mut(&x)
		if _, err := EncodeRevocation(x); err == nil {
			t.Errorf("bad revocation accepted: %+v", x)
		}
	}
}

func TestSignatures(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	doc := []byte(`{"x":1}`)
	sig, err := SignDocument(k, doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(&k.PublicKey, doc, sig); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "***", sig[:len(sig)-4], sig + "AA==", "A" + sig[1:]} {
		if err := VerifySignature(&k.PublicKey, doc, s); err == nil || AsError(err).Code != CodeBadSignature {
			t.Errorf("signature %q accepted", s)
		}
	}
	if err := VerifySignature(&k.PublicKey, []byte(`{"x":2}`), sig); err == nil {
		t.Fatal("other document verified")
	}
}

func TestAppendDecoding(t *testing.T) {
	c, _, _ := CIDOf(strings.NewReader("x"))
	r := AppendRequest{RecordID: "r", SubjectID: testSubject, Type: "t", CID: c.String(), Size: 1, MediaType: "a/b", NoteCID: c.String(), ValidUntil: "2030-01-01T08:00:00+08:00"}
	b, _ := json.Marshal(r)
	got, err := DecodeAppendRequest(b)
	if err != nil || got.ValidUntil != "2030-01-01T00:00:00Z" {
		t.Fatalf("%+v %v", got, err)
	}
	rec := Record{RecordID: "r", SubjectID: testSubject, Type: "t", CID: c.String(), Size: 1, MediaType: "a/b", NoteCID: c.String(), ValidUntil: "2030-01-01T00:00:00Z", Issuer: "M"}
	if !rec.SameRequest(&got, "M") || rec.SameRequest(&got, "N") {
		t.Fatal("SameRequest")
	}
	other := rec
	other.NoteCID = ""
	if other.SameRequest(&got, "M") {
		t.Fatal("SameRequest ignores the note")
	}
	// The subject must be a pseudonym; the note a CID; a title is no field any more.
	for _, mut := range []func(*AppendRequest){
		func(r *AppendRequest) { r.SubjectID = "110101202611201235" },
		func(r *AppendRequest) { r.SubjectID = "s" },
		func(r *AppendRequest) { r.NoteCID = "出生医学证明 李小明" },
		func(r *AppendRequest) { r.NoteCID = "bafkrei" },
	} {
		x := r
		mut(&x)
		if err := x.Normalize(); err == nil || AsError(err).Code != CodeInvalid {
			t.Errorf("bad request accepted: %+v", x)
		}
	}
	titled := strings.Replace(string(b), `"mediaType"`, `"title":"出生医学证明 李小明","mediaType"`, 1)
	if _, err := DecodeAppendRequest([]byte(titled)); err == nil {
		t.Fatal("a request with a title decoded")
	}
	br := BatchResult{TxID: "tx", Issuer: "M", IssuedAt: "now"}
	nr, err := br.NewRecord(r)
	if err != nil || nr.Status != StatusActive || nr.TxID != "tx" || nr.ValidUntil != "2030-01-01T00:00:00Z" {
		t.Fatalf("%+v %v", nr, err)
	}
	if _, err := br.NewRecord(AppendRequest{}); err == nil {
		t.Fatal("NewRecord of an invalid request")
	}
	// Error messages of a batch name the index.
	_, err = DecodeAppendBatch([]byte(`{"records":[` + string(b) + `,{"recordId":"x"}]}`))
	if err == nil || !strings.Contains(AsError(err).Message, "records[1]") {
		t.Fatalf("got %v", err)
	}
}

func TestMarshalDeterministic(t *testing.T) {
	b, err := Marshal(Record{MediaType: "<&>"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"mediaType":"<&>","noteCid":""`)) || bytes.HasSuffix(b, []byte("\n")) {
		t.Fatalf("got %s", b)
	}
	if !bytes.HasPrefix(b, []byte(`{"recordId":"","subjectId":""`)) {
		t.Fatalf("field order: %s", b)
	}
}

func TestKeyStatementNonce(t *testing.T) {
	pemText := testKeyPEM(t)
	for nonce, ok := range map[string]bool{
		"_leading-underscore-1": true, "-leading-dash-123456": true, "0123456789abcdef": true,
		"short": false, "has space 0123456789": false, strings.Repeat("a", MaxNonceLen+1): false, "ünïcödé-0123456789": false,
	} {
		_, err := EncodeKeyStatement(KeyStatement{Kind: KeyBindKind, SubjectID: "p-aaaabbbbccccddddeeeeffffgggghhhh", PublicKeyPEM: pemText, IssuedAt: "2026-12-01T00:00:00Z", Nonce: nonce})
		if (err == nil) != ok {
			t.Errorf("nonce %q: %v", nonce, err)
		}
	}
}

func testKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestGrantLiveAtAndCovers(t *testing.T) {
	from := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	g := &GrantState{GrantID: "g", SubjectID: "p-a", Grantee: "X", Status: GrantActive, Grant: Grant{
		SubjectID: "p-a", Grantee: "X", Scope: GrantScope{RecordTypes: []string{"t1"}, RecordIDs: []string{"r9"}},
		ValidFrom: FormatTime(from), ExpiresAt: FormatTime(from.Add(time.Hour))}}
	for _, c := range []struct {
		at   time.Time
		code Code
	}{{from.Add(-time.Nanosecond), CodeNotYetValid}, {from, ""}, {from.Add(time.Hour - 1), ""}, {from.Add(time.Hour), CodeExpired}} {
		err := g.CheckLive(c.at)
		if (c.code == "") != (err == nil) || (err != nil && err.Code != c.code) || g.LiveAt(c.at) != (c.code == "") {
			t.Fatalf("at %s: %v, want %q", c.at, err, c.code)
		}
	}
	r := *g
	r.Status = GrantRevoked
	if err := r.CheckLive(from); err == nil || err.Code != CodeRevoked || r.LiveAt(from) {
		t.Fatalf("revoked: %v", err)
	}
	for _, c := range []struct {
		rec  Record
		want bool
	}{
		{Record{SubjectID: "p-a", Type: "t1", RecordID: "x"}, true},
		{Record{SubjectID: "p-a", Type: "t2", RecordID: "r9"}, true},
		{Record{SubjectID: "p-a", Type: "t2", RecordID: "x"}, false},
		{Record{SubjectID: "p-b", Type: "t1", RecordID: "r9"}, false},
	} {
		if got := g.CoversFor("X", &c.rec); got != c.want {
			t.Fatalf("CoversFor(X, %+v) = %v", c.rec, got)
		}
		if g.CoversFor("Y", &c.rec) {
			t.Fatalf("CoversFor(Y, %+v): another department", c.rec)
		}
	}
	if g.CoversFor("X", nil) {
		t.Fatal("CoversFor(nil)")
	}
}

// TestPlaceholderAppend: the placeholder CID is the CID of zero bytes, and the media
// type rule picks the first named type, without parameters.
func TestPlaceholderAppend(t *testing.T) {
	c, n, err := CIDOf(strings.NewReader(""))
	if err != nil || n != 0 || c.String() != EmptyCID {
		t.Fatalf("EmptyCID %s, CID of nothing %s", EmptyCID, c)
	}
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, DefaultMediaType},
		{[]string{"", ""}, DefaultMediaType},
		{[]string{"", "application/pdf"}, "application/pdf"},
		{[]string{"Text/Plain; charset=utf-8", "application/pdf"}, "text/plain"},
		{[]string{"not a type"}, "not a type"},
	} {
		if got := MediaTypeOf(tc.in...); got != tc.want {
			t.Errorf("MediaTypeOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	sid := "p-" + strings.Repeat("a", 32)
	req, err := PlaceholderAppend("r-1", sid, "birth", "application/pdf", "", true)
	if err != nil || req.CID != EmptyCID || req.NoteCID != EmptyCID || req.Size != 0 {
		t.Fatalf("%+v %v", req, err)
	}
	if _, err := PlaceholderAppend("r-1", sid, "birth", "not a type", "", false); AsError(err) == nil || AsError(err).Code != CodeInvalid {
		t.Fatalf("bad media type: %v", err)
	}
}

// BenchmarkCIDOfFile hashes a 1 KiB file (a legacy archive's typical scan record) with
// CIDOf, beside the plain io.Copy into SHA-256 it replaced (which allocates a 32 KiB
// buffer per *os.File). Run: go test ./chaincode/wire -run '^$' -bench CIDOfFile -benchmem
func BenchmarkCIDOfFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "doc")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 1024), 0o600); err != nil {
		b.Fatal(err)
	}
	hash := func(b *testing.B, sum func(*os.File) error) {
		b.ReportAllocs()
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			err = sum(f)
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("baseline io.Copy", func(b *testing.B) {
		hash(b, func(f *os.File) error {
			h := sha256.New()
			_, err := io.Copy(h, f)
			CIDFromSHA256(h.Sum(nil))
			return err
		})
	})
	b.Run("CIDOf", func(b *testing.B) {
		hash(b, func(f *os.File) error {
			_, _, err := CIDOf(f)
			return err
		})
	})
}
