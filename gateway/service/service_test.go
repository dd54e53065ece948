package service

import (
	"context"
	"encoding/base64"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// fakeLedger implements the parts of Ledger the tests use; the embedded interface
// panics on anything else.
type fakeLedger struct {
	Ledger
	mu        sync.Mutex
	checkErr  error
	appendErr error
	records   map[string]wire.Record
	grants    []wire.GrantState
	appended  int
}

func (f *fakeLedger) CheckAppend(context.Context, gateway.Actor, wire.AppendRequest) error {
	return f.checkErr
}
func (f *fakeLedger) AppendRecord(_ context.Context, a gateway.Actor, req wire.AppendRequest) (*wire.Record, gateway.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.appendErr != nil {
		return nil, gateway.Receipt{}, f.appendErr
	}
	f.appended++
	r := wire.Record{RecordID: req.RecordID, SubjectID: req.SubjectID, Type: req.Type, CID: req.CID, Size: req.Size, Issuer: "HealthMSP", TxID: "tx1", Status: "active"}
	f.records[r.RecordID] = r
	return &r, gateway.Receipt{Channel: "municipal", TxID: "tx1", Block: 7}, nil
}
func (f *fakeLedger) GetRecord(_ context.Context, _ gateway.Actor, id string) (*wire.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.records[id]
	if !ok {
		return nil, gateway.Errorf(gateway.CodeNotFound, "no record")
	}
	return &r, nil
}
func (f *fakeLedger) FindByCID(_ context.Context, _ gateway.Actor, cid string) ([]wire.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []wire.Record
	for _, r := range f.records {
		if r.CID == cid {
			out = append(out, r)
		}
	}
	return out, nil
}
func (f *fakeLedger) ListGrants(context.Context, gateway.Actor, string, int, string) (*wire.GrantPage, error) {
	return &wire.GrantPage{Grants: f.grants}, nil
}

type fakeBlobs struct {
	mu      sync.Mutex
	data    map[string][]byte
	puts    int
	deleted []string
}

func (b *fakeBlobs) Put(_ context.Context, r io.Reader) (BlobInfo, bool, error) {
	c, n, err := wire.CIDOf(r)
	if err != nil {
		return BlobInfo{}, false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.puts++
	_, had := b.data[c.String()]
	b.data[c.String()] = nil
	return BlobInfo{CID: c.String(), Size: n}, !had, nil
}
func (b *fakeBlobs) Open(string) (io.ReadCloser, BlobInfo, error) { panic("unused") }
func (b *fakeBlobs) Stat(string) (BlobInfo, error)                { panic("unused") }
func (b *fakeBlobs) Delete(cid string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.data, cid)
	b.deleted = append(b.deleted, cid)
	return nil
}
func (b *fakeBlobs) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.data)
}

func newFakes() (*fakeLedger, *fakeBlobs, *Service) {
	l := &fakeLedger{records: map[string]wire.Record{}}
	b := &fakeBlobs{data: map[string][]byte{}}
	return l, b, New(l, b, nil, Config{OrphanGrace: 20 * time.Millisecond})
}

var health = gateway.Principal{Role: gateway.RoleDepartment, Org: "health", MSPID: "HealthMSP", User: "clerk"}

func appendInput(file string) AppendInput {
	return AppendInput{Meta: RecordMeta{SubjectID: "p-abc", Type: "birth", Title: "Birth"}, File: strings.NewReader(file)}
}

func TestAppendRefusedBeforeUpload(t *testing.T) {
	l, b, s := newFakes()
	l.checkErr = gateway.Errorf(gateway.CodeForbidden, "not accredited")
	_, err := s.AppendRecord(context.Background(), health, appendInput("file"))
	if gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("err = %v", err)
	}
	if b.puts != 0 {
		t.Fatal("the file was stored although the chaincode refused the metadata")
	}
	// Bad metadata never reaches the ledger either.
	in := appendInput("file")
	in.Meta.Title = ""
	if _, err := s.AppendRecord(context.Background(), health, in); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("missing title: %v", err)
	}
	for _, p := range []gateway.Principal{{Role: gateway.RolePublic}, {Role: gateway.RoleOperator}, {Role: gateway.RoleCitizen}} {
		if _, err := s.AppendRecord(context.Background(), p, appendInput("f")); err == nil {
			t.Fatalf("%s may append", p.Role)
		}
	}
}

func TestFailedAppendRemovesItsNewBlob(t *testing.T) {
	l, b, s := newFakes()
	l.appendErr = gateway.Errorf(gateway.CodeConflict, "clash")
	if _, err := s.AppendRecord(context.Background(), health, appendInput("orphan")); gateway.ErrorCode(err) != gateway.CodeConflict {
		t.Fatalf("err = %v", err)
	}
	waitFor(t, func() bool { return b.count() == 0 })
}

func TestFailedAppendKeepsBlobAnotherRecordUses(t *testing.T) {
	l, b, s := newFakes()
	if _, err := s.AppendRecord(context.Background(), health, appendInput("shared")); err != nil {
		t.Fatal(err)
	}
	l.appendErr = gateway.Errorf(gateway.CodeConflict, "clash")
	b.data = map[string][]byte{} // the blob is "new" for the second request
	if _, err := s.AppendRecord(context.Background(), health, appendInput("shared")); err == nil {
		t.Fatal("expected failure")
	}
	time.Sleep(100 * time.Millisecond)
	if b.count() != 1 {
		t.Fatal("a blob referenced by a committed record was removed")
	}
}

func TestFailedAppendKeepsBlobOfRequestInFlight(t *testing.T) {
	l, b, s := newFakes()
	l.appendErr = gateway.Errorf(gateway.CodeConflict, "clash")
	c, _, _ := wire.CIDOf(strings.NewReader("busy"))
	s.inflight.acquire(c.String()) // another request stored the same content and is committing
	s.AppendRecord(context.Background(), health, appendInput("busy"))
	time.Sleep(100 * time.Millisecond)
	if b.count() != 1 {
		t.Fatal("blob removed while another request in flight uses it")
	}
	s.inflight.release(c.String())
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

func TestIdempotentRecordID(t *testing.T) {
	a, b := idempotentRecordID("HealthMSP", "k1"), idempotentRecordID("HealthMSP", "k1")
	if a != b || a == idempotentRecordID("CivilAffairsMSP", "k1") || a == idempotentRecordID("HealthMSP", "k2") {
		t.Fatal("record IDs from idempotency keys must be stable per organisation and key")
	}
	if err := wire.ValidateID("recordId", a); err != nil {
		t.Fatal(err)
	}
	if newRecordID() == newRecordID() {
		t.Fatal("random record IDs repeat")
	}
}

func TestVisibility(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	rec := wire.Record{RecordID: "r1", SubjectID: "p-a", Type: "birth", Issuer: "HealthMSP"}
	grant := func(grantee, subject string, types []string, from, until time.Time, status string) wire.GrantState {
		return wire.GrantState{Grantee: grantee, SubjectID: subject, Status: status, Grant: wire.Grant{
			Scope: wire.GrantScope{RecordTypes: types}, ValidFrom: wire.FormatTime(from), ExpiresAt: wire.FormatTime(until)}}
	}
	social := gateway.Principal{Role: gateway.RoleDepartment, MSPID: "SocialMSP"}
	cases := []struct {
		name string
		p    gateway.Principal
		g    []wire.GrantState
		want bool
	}{
		{"issuer", health, nil, true},
		{"operator", gateway.Principal{Role: gateway.RoleOperator}, nil, true},
		{"no grant", social, nil, false},
		{"live grant", social, []wire.GrantState{grant("SocialMSP", "p-a", []string{"birth"}, now.Add(-time.Hour), now.Add(time.Hour), "active")}, true},
		{"expired", social, []wire.GrantState{grant("SocialMSP", "p-a", []string{"birth"}, now.Add(-2*time.Hour), now.Add(-time.Hour), "active")}, false},
		{"not yet valid", social, []wire.GrantState{grant("SocialMSP", "p-a", []string{"birth"}, now.Add(time.Hour), now.Add(2*time.Hour), "active")}, false},
		{"other subject", social, []wire.GrantState{grant("SocialMSP", "p-b", []string{"birth"}, now.Add(-time.Hour), now.Add(time.Hour), "active")}, false},
		{"out of scope", social, []wire.GrantState{grant("SocialMSP", "p-a", []string{"marriage"}, now.Add(-time.Hour), now.Add(time.Hour), "active")}, false},
		{"citizen", gateway.Principal{Role: gateway.RoleCitizen}, nil, false},
	}
	for _, c := range cases {
		v := &grantView{p: c.p, now: now, grants: c.g}
		if got := v.visible(&rec); got != c.want {
			t.Errorf("%s: visible = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCreateGrantOnlyForOwnDossier(t *testing.T) {
	_, _, s := newFakes()
	doc, _ := wire.EncodeGrant(wire.Grant{Kind: wire.GrantKind, GrantID: "g1", SubjectID: "p-other", Grantee: "SocialMSP",
		Scope: wire.GrantScope{RecordTypes: []string{"birth"}, RecordIDs: []string{}}, Purpose: "x",
		ValidFrom: wire.FormatTime(time.Now()), ExpiresAt: wire.FormatTime(time.Now().Add(time.Hour))})
	me := gateway.Principal{Role: gateway.RoleCitizen, SubjectID: "p-me"}
	if _, err := s.CreateGrant(context.Background(), me, "p-me", base64.StdEncoding.EncodeToString(doc), "sig"); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("grant for another subject: %v", err)
	}
	if _, err := s.CreateGrant(context.Background(), me, "p-other", base64.StdEncoding.EncodeToString(doc), "sig"); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("grant on another dossier path: %v", err)
	}
	if _, err := s.CreateGrant(context.Background(), me, "p-me", "%%%", "sig"); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("not base64: %v", err)
	}
	if _, err := s.CreateGrant(context.Background(), health, "p-me", "", ""); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("department creates a grant: %v", err)
	}
}
