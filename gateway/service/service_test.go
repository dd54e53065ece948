package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service/servicetest"
)

// fakeLedger implements Ledger: the parts the tests use here, the rest through
// servicetest.Ledger (an internal error where no test expects a call). checkErr is the chaincode's verdict (prechecks and
// endorsements); appendErr fails a transaction at commit. durableAtSubmit says whether
// every file a transaction names was durable when it was submitted.
type fakeLedger struct {
	servicetest.Ledger
	mu              sync.Mutex
	blobs           *fakeBlobs
	checkErr        error
	appendErr       error
	records         map[string]wire.Record
	grants          []wire.GrantState
	delegations     []wire.Delegation
	checks          int
	endorsed        int
	appended        int
	durableAtSubmit bool
	onFind          func(cid string)     // called as FindByCID starts
	requests        []wire.AppendRequest // endorsed appends (and batch records)
}

func (f *fakeLedger) CheckAppend(context.Context, gateway.Actor, wire.AppendRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks++
	return f.checkErr
}

func (f *fakeLedger) endorse() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.endorsed++
	return f.checkErr
}

// submit commits the transaction (unless appendErr) after checking that its files are
// durable; apply writes its state.
func (f *fakeLedger) submit(cids []string, apply func()) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.durableAtSubmit = true
	for _, c := range cids {
		if !f.blobs.isDurable(c) {
			f.durableAtSubmit = false
		}
	}
	if f.appendErr != nil {
		return f.appendErr
	}
	f.appended++
	apply()
	return nil
}

// fakePending commits through fakeLedger.submit.
type fakePending[T any] struct {
	l     *fakeLedger
	v     *T
	txID  string
	cids  []string
	apply func()
}

func (p *fakePending[T]) Result() *T   { return p.v }
func (p *fakePending[T]) TxID() string { return p.txID }
func (p *fakePending[T]) Submit(context.Context) (*T, gateway.Receipt, error) {
	if err := p.l.submit(p.cids, p.apply); err != nil {
		return nil, gateway.Receipt{}, err
	}
	return p.v, gateway.Receipt{Channel: "municipal", TxID: p.txID, Block: 7}, nil
}

func (f *fakeLedger) EndorseAppend(_ context.Context, a gateway.Actor, req wire.AppendRequest) (gateway.Pending[wire.Record], error) {
	if err := f.endorse(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	r := wire.Record{RecordID: req.RecordID, SubjectID: req.SubjectID, Type: req.Type, CID: req.CID, Size: req.Size, NoteCID: req.NoteCID, Issuer: "HealthMSP", TxID: "tx1", Status: "active"}
	cids := []string{req.CID}
	if req.NoteCID != "" {
		cids = append(cids, req.NoteCID)
	}
	return &fakePending[wire.Record]{l: f, v: &r, txID: "tx1", cids: cids, apply: func() { f.records[r.RecordID] = r }}, nil
}

func (f *fakeLedger) EndorseAppendRecords(_ context.Context, _ gateway.Actor, b wire.AppendBatch) (gateway.Pending[wire.BatchResult], error) {
	if err := f.endorse(); err != nil {
		return nil, err
	}
	cids := make([]string, len(b.Records))
	for i, r := range b.Records {
		cids[i] = r.CID
		if r.NoteCID != "" {
			cids = append(cids, r.NoteCID)
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, b.Records...)
	f.mu.Unlock()
	res := &wire.BatchResult{TxID: "tx9", Issuer: "HealthMSP", Count: len(b.Records), Created: len(b.Records), Existing: []string{}}
	return &fakePending[wire.BatchResult]{l: f, v: res, txID: "tx9", cids: cids, apply: func() {}}, nil
}

func (f *fakeLedger) ListAccreditations(context.Context, gateway.Actor, string) ([]wire.Accreditation, error) {
	return []wire.Accreditation{{MSPID: "HealthMSP", RecordType: "birth", Active: true}}, nil
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
	if f.onFind != nil {
		f.onFind(cid)
	}
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

// fakeBlobs is a blob store: data holds the durable blobs; staged counts files staged
// and neither committed nor aborted; puts counts files read.
type fakeBlobs struct {
	mu       sync.Mutex
	data     map[string][]byte
	puts     int
	staged   int
	commits  int
	deleted  []string
	onCommit func(cids []string) // called as a commit starts
}

func (b *fakeBlobs) NewBatch() BlobBatch { return &fakeBatch{b: b} }
func (b *fakeBlobs) Open(cid string) (io.ReadCloser, BlobInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.data[cid]
	if !ok {
		return nil, BlobInfo{}, gateway.Errorf(gateway.CodeNotFound, "no blob")
	}
	return io.NopCloser(bytes.NewReader(d)), BlobInfo{CID: cid, Size: int64(len(d))}, nil
}
func (b *fakeBlobs) Stat(string) (BlobInfo, error) { panic("unused") }
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
func (b *fakeBlobs) isDurable(cid string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.data[cid]
	return ok
}

type fakeBatch struct {
	b     *fakeBlobs
	infos []BlobInfo
	data  [][]byte
}

func (f *fakeBatch) Put(_ context.Context, r io.Reader) (BlobInfo, error) {
	d, err := io.ReadAll(r)
	if err != nil {
		return BlobInfo{}, err
	}
	c, n, err := wire.CIDOf(bytes.NewReader(d))
	if err != nil {
		return BlobInfo{}, err
	}
	f.data = append(f.data, d)
	f.b.mu.Lock()
	f.b.puts++
	f.b.staged++
	f.b.mu.Unlock()
	info := BlobInfo{CID: c.String(), Size: n}
	f.infos = append(f.infos, info)
	return info, nil
}

func (f *fakeBatch) Commit(context.Context) ([]CommittedBlob, error) {
	if f.b.onCommit != nil {
		cids := make([]string, len(f.infos))
		for i, info := range f.infos {
			cids[i] = info.CID
		}
		f.b.onCommit(cids)
	}
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	f.b.commits++
	out := make([]CommittedBlob, len(f.infos))
	for i, info := range f.infos {
		_, had := f.b.data[info.CID]
		out[i] = CommittedBlob{BlobInfo: info, Created: !had}
		f.b.data[info.CID] = f.data[i]
	}
	f.b.staged -= len(f.infos)
	f.infos, f.data = nil, nil
	return out, nil
}

func (f *fakeBatch) Abort() {
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	f.b.staged -= len(f.infos)
	f.infos, f.data = nil, nil
}

func newFakes() (*fakeLedger, *fakeBlobs, *Service) {
	b := &fakeBlobs{data: map[string][]byte{}}
	l := &fakeLedger{records: map[string]wire.Record{}, blobs: b}
	return l, b, New(l, b, nil, Config{OrphanGrace: fakeGrace})
}

var health = gateway.Principal{Role: gateway.RoleDepartment, Org: "health", MSPID: "HealthMSP", User: "clerk"}

func appendInput(file string) AppendInput {
	return AppendInput{Meta: RecordMeta{SubjectID: subj, Type: "birth"}, File: strings.NewReader(file)}
}

func TestAppendRefusedByEndorsementStoresNothing(t *testing.T) {
	l, b, s := newFakes()
	l.checkErr = gateway.Errorf(gateway.CodeForbidden, "not accredited")
	_, err := s.AppendRecord(context.Background(), health, appendInput("file"))
	if gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("err = %v", err)
	}
	if b.count() != 0 || b.staged != 0 || b.commits != 0 || l.checks != 0 || l.endorsed != 1 || l.appended != 0 {
		t.Fatalf("durable %d, staged %d, commits %d, checks %d, endorsements %d, transactions %d",
			b.count(), b.staged, b.commits, l.checks, l.endorsed, l.appended)
	}
	// Bad metadata never reaches the ledger or the store.
	in := appendInput("file")
	in.Meta.Type = ""
	if _, err := s.AppendRecord(context.Background(), health, in); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("missing type: %v", err)
	}
	for _, p := range []gateway.Principal{{Role: gateway.RolePublic}, {Role: gateway.RoleOperator}, {Role: gateway.RoleCitizen}} {
		if _, err := s.AppendRecord(context.Background(), p, appendInput("f")); err == nil {
			t.Fatalf("%s may append", p.Role)
		}
	}
	if b.puts != 1 || l.endorsed != 1 {
		t.Fatalf("files read %d, endorsements %d", b.puts, l.endorsed)
	}
}

func TestLargeUploadRefusedBeforeItIsRead(t *testing.T) {
	for _, length := range []int64{-1, DefaultPrecheckAbove + 1} {
		l, b, s := newFakes()
		l.checkErr = gateway.Errorf(gateway.CodeForbidden, "not accredited")
		in := appendInput("file")
		in.Length = length
		if _, err := s.AppendRecord(context.Background(), health, in); gateway.ErrorCode(err) != gateway.CodeForbidden {
			t.Fatalf("length %d: err = %v", length, err)
		}
		if b.puts != 0 || l.checks != 1 || l.endorsed != 0 {
			t.Fatalf("length %d: files read %d, checks %d, endorsements %d", length, b.puts, l.checks, l.endorsed)
		}
	}
	// Accepted: checked, then staged, endorsed, durable before the submit.
	l, b, s := newFakes()
	in := appendInput("big")
	in.Length = -1
	if _, err := s.AppendRecord(context.Background(), health, in); err != nil {
		t.Fatal(err)
	}
	if l.checks != 1 || l.endorsed != 1 || !l.durableAtSubmit || b.count() != 1 || b.staged != 0 {
		t.Fatalf("checks %d, endorsements %d, durable at submit %v, blobs %d, staged %d", l.checks, l.endorsed, l.durableAtSubmit, b.count(), b.staged)
	}
}

func TestAppendFileDurableBeforeSubmit(t *testing.T) {
	l, b, s := newFakes()
	res, err := s.AppendRecord(context.Background(), health, appendInput("file"))
	if err != nil {
		t.Fatal(err)
	}
	if !l.durableAtSubmit || l.checks != 0 || l.endorsed != 1 || l.appended != 1 || b.count() != 1 || b.staged != 0 {
		t.Fatalf("durable at submit %v, checks %d, endorsements %d, transactions %d, blobs %d, staged %d",
			l.durableAtSubmit, l.checks, l.endorsed, l.appended, b.count(), b.staged)
	}
	if !res.Created || res.Receipt.TxID != "tx1" || len(s.inflight.n) != 0 {
		t.Fatalf("result %+v, in flight %v", res, s.inflight.n)
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

// A blob's delayed removal (its transaction failed) must never take content that another
// request is putting in place: that request counts as in flight from before its commit.
func TestContentInFlightDuringCommit(t *testing.T) {
	_, b, s := newFakes()
	during := -1
	b.onCommit = func(cids []string) {
		s.inflight.mu.Lock()
		during = s.inflight.n[cids[0]]
		s.inflight.mu.Unlock()
	}
	if _, err := s.AppendRecord(context.Background(), health, appendInput("x")); err != nil {
		t.Fatal(err)
	}
	if during != 1 || len(s.inflight.n) != 0 {
		t.Fatalf("in flight during the commit %d (want 1), after the request %v", during, s.inflight.n)
	}
}

// The orphan check asks the ledger without the in-flight lock; a request that takes the
// same content meanwhile (and may have committed a record by the time the check ends)
// cancels the removal.
func TestOrphanRemovalCancelledByRequestDuringCheck(t *testing.T) {
	l, b, s := newFakes()
	l.appendErr = gateway.Errorf(gateway.CodeConflict, "clash")
	checked := make(chan struct{})
	var once sync.Once
	l.onFind = func(cid string) {
		once.Do(func() {
			s.inflight.acquire(cid) // another append of the same file starts...
			l.mu.Lock()             // ...commits its record...
			l.records["r-other"] = wire.Record{RecordID: "r-other", CID: cid}
			l.mu.Unlock()
			s.inflight.release(cid) // ...and ends while the ledger is being asked
			close(checked)
		})
	}
	if _, err := s.AppendRecord(context.Background(), health, appendInput("contested")); gateway.ErrorCode(err) != gateway.CodeConflict {
		t.Fatalf("err = %v", err)
	}
	<-checked
	waitFor(t, func() bool {
		s.inflight.mu.Lock()
		defer s.inflight.mu.Unlock()
		return len(s.inflight.checking) == 0 // the check has ended
	})
	time.Sleep(5 * fakeGrace) // the check put off sees the other record
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.data) != 1 || len(b.deleted) != 0 {
		t.Fatalf("blobs %d, deleted %v: removed although a request took the content during the check", len(b.data), b.deleted)
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

// A removal put off because a retry of the same write was in flight is decided again
// later: when the retry fails too (it found the blob in place, Created false, and
// schedules no removal of its own), the blob still goes.
func TestFailedWriteBlobRemovedAfterRetryInFlightFails(t *testing.T) {
	l, b, s := newFakes()
	l.appendErr = gateway.Errorf(gateway.CodeConflict, "clash")
	c, _, _ := wire.CIDOf(strings.NewReader("retried"))
	s.AppendRecord(context.Background(), health, appendInput("retried"))
	s.inflight.acquire(c.String()) // the retry holds the content at the scheduled removal
	time.Sleep(5 * fakeGrace)
	if b.count() != 1 {
		t.Fatal("blob removed while the retry holds it")
	}
	s.inflight.release(c.String()) // the retry failed as well
	waitFor(t, func() bool { return b.count() == 0 })
}

// The ledger being unreachable at the scheduled removal puts it off too.
func TestFailedWriteBlobRemovalRetriedWhenLedgerFails(t *testing.T) {
	l, b, s := newFakes()
	l.appendErr = gateway.Errorf(gateway.CodeConflict, "clash")
	var finds atomic.Int32
	l.onFind = func(string) { finds.Add(1) }
	s.ledger = failingFind{l, &finds}
	s.AppendRecord(context.Background(), health, appendInput("unasked"))
	waitFor(t, func() bool { return b.count() == 0 })
	if finds.Load() < 3 {
		t.Fatalf("removed after %d lookups, want the failed ones retried", finds.Load())
	}
}

// failingFind fails FindByCID twice before answering.
type failingFind struct {
	*fakeLedger
	n *atomic.Int32
}

func (f failingFind) FindByCID(ctx context.Context, a gateway.Actor, cid string) ([]wire.Record, error) {
	recs, err := f.fakeLedger.FindByCID(ctx, a, cid)
	if f.n.Load() <= 2 {
		return nil, gateway.Errorf(gateway.CodeUnavailable, "ledger down")
	}
	return recs, err
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
		return wire.GrantState{Grantee: grantee, SubjectID: subject, Status: status, Grant: wire.Grant{Grantee: grantee,
			Scope: wire.GrantScope{RecordTypes: types}, ValidFrom: wire.FormatTime(from), ExpiresAt: wire.FormatTime(until)}}
	}
	parts := func(own, other []string) wire.GrantState {
		return wire.GrantState{SubjectID: "p-a", Status: "active", Grant: wire.Grant{Matter: &wire.MatterRef{Code: "newborn", Version: 1},
			Parts:     []wire.GrantPart{{Grantee: "CivilMSP", Scope: wire.GrantScope{RecordTypes: other}}, {Grantee: "SocialMSP", Scope: wire.GrantScope{RecordTypes: own}}},
			ValidFrom: wire.FormatTime(now.Add(-time.Hour)), ExpiresAt: wire.FormatTime(now.Add(time.Hour))}}
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
		{"own part of a matter grant", social, []wire.GrantState{parts([]string{"birth"}, nil)}, true},
		{"another department's part", social, []wire.GrantState{parts([]string{"marriage"}, []string{"birth"})}, false},
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
	other := "e-234567abcdefghijklmnopqrstuvwxyz"
	doc, _ := wire.EncodeGrant(wire.Grant{Kind: wire.GrantKind, GrantID: "g1", SubjectID: other, Grantee: "SocialMSP",
		Scope: wire.GrantScope{RecordTypes: []string{"birth"}, RecordIDs: []string{}}, Purpose: "x",
		ValidFrom: wire.FormatTime(time.Now()), ExpiresAt: wire.FormatTime(time.Now().Add(time.Hour))})
	me := gateway.Principal{Role: gateway.RoleCitizen, SubjectID: subj}
	if _, err := s.CreateGrant(context.Background(), me, subj, base64.StdEncoding.EncodeToString(doc), "sig"); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("grant for another subject: %v", err)
	}
	if _, err := s.CreateGrant(context.Background(), me, other, base64.StdEncoding.EncodeToString(doc), "sig"); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("grant on another dossier path: %v", err)
	}
	if _, err := s.CreateGrant(context.Background(), me, subj, "%%%", "sig"); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("not base64: %v", err)
	}
	if _, err := s.CreateGrant(context.Background(), health, subj, "", ""); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("department creates a grant: %v", err)
	}
}

// ListDelegations answers the delegations the test set up (none by default).
func (f *fakeLedger) ListDelegations(_ context.Context, _ gateway.Actor, subjectID string) ([]wire.Delegation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []wire.Delegation
	for _, d := range f.delegations {
		if d.SubjectID == subjectID {
			out = append(out, d)
		}
	}
	return out, nil
}
