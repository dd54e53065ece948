package service

import (
	"bytes"
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// visLedger pages dossiers with raw bookmarks ("raw:<index>") and records metadata
// reads; metaErr fails them.
type visLedger struct {
	*logLedger
	gotBookmarks []string
	metaErr      error
	meta         [][]string // record IDs of each committed metadata read
	metaActions  []string
	missing      func(id string) error // the answer for a record that does not exist
}

func (v *visLedger) GetRecord(ctx context.Context, a gateway.Actor, id string) (*wire.Record, error) {
	if _, ok := v.records[id]; !ok && v.missing != nil {
		return nil, v.missing(id)
	}
	return v.logLedger.GetRecord(ctx, a, id)
}

func (v *visLedger) ListDossier(_ context.Context, _ gateway.Actor, subjectID, _ string, size int, bookmark string) (*wire.RecordPage, error) {
	v.gotBookmarks = append(v.gotBookmarks, bookmark)
	var recs []wire.Record
	for _, r := range v.records {
		if r.SubjectID == subjectID {
			recs = append(recs, r)
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].RecordID < recs[j].RecordID })
	start := 0
	if bookmark != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(bookmark, "raw:"))
		if err != nil || !strings.HasPrefix(bookmark, "raw:") {
			return nil, gateway.Errorf(gateway.CodeInvalid, "bookmark does not belong to this query")
		}
		start = n
	}
	if size == 0 {
		size = 50
	}
	page := &wire.RecordPage{Records: []wire.Record{}}
	end := min(start+size, len(recs))
	page.Records = append(page.Records, recs[start:end]...)
	if end < len(recs) {
		page.Bookmark = "raw:" + strconv.Itoa(end)
	}
	return page, nil
}

func (v *visLedger) RecordMetadataAccess(_ context.Context, _ gateway.Actor, subjectID string, ids []string, action string) ([]wire.AccessEntry, gateway.Receipt, error) {
	if v.metaErr != nil {
		return nil, gateway.Receipt{}, v.metaErr
	}
	v.meta = append(v.meta, ids)
	v.metaActions = append(v.metaActions, action)
	return nil, gateway.Receipt{Channel: "datashare", TxID: "tx-meta", Block: 11}, nil
}

func newVisFakes(t *testing.T) (*visLedger, *Service) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l, _ := newLogFakes(OwnershipLimits{}, &now)
	v := &visLedger{logLedger: l}
	subj := testSubj("1")
	for _, r := range []wire.Record{
		{RecordID: "r3", SubjectID: subj, Type: "birth", Issuer: "HealthMSP", Status: wire.StatusActive},
		{RecordID: "r4", SubjectID: subj, Type: "licence", Issuer: "SocialMSP", Status: wire.StatusActive},
		{RecordID: "r5", SubjectID: subj, Type: "secret", Issuer: "HealthMSP", Status: wire.StatusActive},
	} {
		l.records[r.RecordID] = r
	}
	l.grants = []wire.GrantState{{GrantID: "g1", SubjectID: subj, Grantee: "SocialMSP", Status: wire.GrantActive,
		Grant: wire.Grant{SubjectID: subj, Grantee: "SocialMSP", Scope: wire.GrantScope{RecordTypes: []string{"birth"}},
			ValidFrom: wire.FormatTime(now.Add(-time.Hour)), ExpiresAt: wire.FormatTime(now.Add(time.Hour))}}}
	return v, New(v, fakeOpenBlobs{l.blobs}, testSubjects, Config{Platform: platform, Now: func() time.Time { return now },
		BookmarkKey: BookmarkKey([]byte("platform subject secret"))})
}

func TestListingBookmarksAreSealed(t *testing.T) {
	l, s := newVisFakes(t)
	ctx := context.Background()
	subj := testSubj("1")
	first, err := s.ListDossier(ctx, oper, subj, "", 2, "")
	if err != nil || len(first.Records) != 2 || first.Bookmark == "" {
		t.Fatalf("first page %+v %v", first, err)
	}
	// The ledger's bookmark ("raw:2") must not show, neither as text nor
	// decoded: ':' is outside the URL-safe alphabet, so random ciphertext
	// never matches the first test by chance (the old check for "r3" did
	// one time in a few hundred).
	sealed, decErr := bookmarkEncoding.DecodeString(first.Bookmark)
	if strings.Contains(first.Bookmark, "raw:2") || decErr != nil || bytes.Contains(sealed, []byte("raw:2")) {
		t.Fatalf("bookmark not opaque: %q (%v)", first.Bookmark, decErr)
	}
	second, err := s.ListDossier(ctx, oper, subj, "", 2, first.Bookmark)
	if err != nil || len(second.Records) != 2 || l.gotBookmarks[len(l.gotBookmarks)-1] != "raw:2" {
		t.Fatalf("second page %+v %v (ledger got %q)", second, err, l.gotBookmarks)
	}
	// Another gateway of the platform (same subject secret) accepts it.
	other := New(l, fakeOpenBlobs{l.blobs}, testSubjects, Config{Platform: platform, BookmarkKey: BookmarkKey([]byte("platform subject secret"))})
	if _, err := other.ListDossier(ctx, oper, subj, "", 2, first.Bookmark); err != nil {
		t.Fatalf("another gateway: %v", err)
	}
	calls := len(l.gotBookmarks)
	tampered := []byte(first.Bookmark)
	tampered[len(tampered)/2] ^= 1
	for name, try := range map[string]func() error{
		"tampered":       func() error { _, err := s.ListDossier(ctx, oper, subj, "", 2, string(tampered)); return err },
		"raw":            func() error { _, err := s.ListDossier(ctx, oper, subj, "", 2, "raw:2"); return err },
		"another caller": func() error { _, err := s.ListDossier(ctx, social, subj, "", 2, first.Bookmark); return err },
		"another subject": func() error {
			_, err := s.ListDossier(ctx, oper, testSubj("2"), "", 2, first.Bookmark)
			return err
		},
		"another type":  func() error { _, err := s.ListDossier(ctx, oper, subj, "birth", 2, first.Bookmark); return err },
		"other listing": func() error { _, err := s.AccessLog(ctx, oper, subj, 2, first.Bookmark); return err },
		"another platform": func() error {
			o := New(l, fakeOpenBlobs{l.blobs}, testSubjects, Config{Platform: platform, BookmarkKey: BookmarkKey([]byte("another secret"))})
			_, err := o.ListDossier(ctx, oper, subj, "", 2, first.Bookmark)
			return err
		},
		"citizen with the operator's": func() error {
			_, err := s.ListDossier(ctx, gateway.Principal{Role: gateway.RoleCitizen, SubjectID: subj}, subj, "", 2, first.Bookmark)
			return err
		},
	} {
		if err := try(); gateway.ErrorCode(err) != gateway.CodeInvalid {
			t.Errorf("%s bookmark: %v, want invalid", name, err)
		}
	}
	if len(l.gotBookmarks) != calls {
		t.Fatalf("refused bookmarks reached the ledger: %q", l.gotBookmarks[calls:])
	}
}

func TestMetadataReadsLoggedFirst(t *testing.T) {
	l, s := newVisFakes(t)
	ctx := context.Background()
	subj := testSubj("1")
	// Social sees r1 and r3 (grant: birth) and r4 (its own); only r1 and r3 are logged.
	page, err := s.ListDossier(ctx, social, subj, "", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page.Records {
		got = append(got, r.RecordID)
	}
	if strings.Join(got, ",") != "r1,r3,r4" || len(l.meta) != 1 || strings.Join(l.meta[0], ",") != "r1,r3" || l.metaActions[0] != wire.MetadataList {
		t.Fatalf("listed %v, logged %v %v", got, l.meta, l.metaActions)
	}
	if _, err := s.GetRecord(ctx, social, "r3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordHistory(ctx, social, "r1"); err != nil {
		t.Fatal(err)
	}
	// Its own record: no log entry.
	if _, err := s.GetRecord(ctx, social, "r4"); err != nil {
		t.Fatal(err)
	}
	if len(l.meta) != 3 || l.metaActions[1] != wire.MetadataGet || l.meta[1][0] != "r3" || l.metaActions[2] != wire.MetadataHistory || l.meta[2][0] != "r1" {
		t.Fatalf("logged %v %v", l.meta, l.metaActions)
	}
	// Invisible records: not_found, nothing logged.
	for _, id := range []string{"r5", "r2", "r-none"} {
		if _, err := s.GetRecord(ctx, social, id); gateway.ErrorCode(err) != gateway.CodeNotFound {
			t.Fatalf("%s: %v", id, err)
		}
	}
	// The operator's and the issuer's reads are not logged.
	if _, err := s.ListDossier(ctx, oper, subj, "", 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRecord(ctx, health, "r5"); err != nil {
		t.Fatal(err)
	}
	if len(l.meta) != 3 {
		t.Fatalf("logged %v", l.meta)
	}
	// No answer without the log entry.
	l.metaErr = gateway.Errorf(gateway.CodeUnavailable, "down")
	if p, err := s.ListDossier(ctx, social, subj, "", 0, ""); gateway.ErrorCode(err) != gateway.CodeUnavailable || p != nil {
		t.Fatalf("unlogged listing answered: %+v %v", p, err)
	}
	if r, err := s.GetRecord(ctx, social, "r3"); gateway.ErrorCode(err) != gateway.CodeUnavailable || r != nil {
		t.Fatalf("unlogged record answered: %+v %v", r, err)
	}
	if h, err := s.RecordHistory(ctx, social, "r3"); gateway.ErrorCode(err) != gateway.CodeUnavailable || h != nil {
		t.Fatalf("unlogged history answered: %+v %v", h, err)
	}
	// Its own records still answer (nothing to log).
	if _, err := s.GetRecord(ctx, social, "r4"); err != nil {
		t.Fatal(err)
	}
}

// An invisible record and a missing one are the same answer, word for word (the
// fake ledger answers a missing record as the chaincode does).
func TestInvisibleRecordIsMissing(t *testing.T) {
	l, s := newVisFakes(t)
	ctx := context.Background()
	l.missing = func(id string) error { return gateway.Errorf(gateway.CodeNotFound, "record %s does not exist", id) }
	citizen := gateway.Principal{Role: gateway.RoleCitizen, SubjectID: testSubj("2")}
	for _, c := range []struct {
		p gateway.Principal
		f func(gateway.Principal, string) error
	}{
		{social, func(p gateway.Principal, id string) error { _, err := s.GetRecord(ctx, p, id); return err }},
		{social, func(p gateway.Principal, id string) error { _, err := s.RecordHistory(ctx, p, id); return err }},
		{citizen, func(p gateway.Principal, id string) error { _, err := s.GetRecord(ctx, p, id); return err }},
		{citizen, func(p gateway.Principal, id string) error { _, err := s.ReadContent(ctx, p, id, "", ""); return err }},
	} {
		hidden, missing := c.f(c.p, "r5"), c.f(c.p, "r6")
		if hidden == nil || missing == nil || gateway.ErrorCode(hidden) != gateway.CodeNotFound ||
			strings.Replace(hidden.Error(), "r5", "r6", 1) != missing.Error() {
			t.Fatalf("%s: invisible %v, missing %v", c.p.Role, hidden, missing)
		}
	}
}
