package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/network/nettest"
)

// Base ports of the operations tests (this package: e2e 22000, hygiene 22500).
const (
	opsFaultBasePort  = 22700
	opsBackupBasePort = 22850
)

// listAll pages through a subject's dossier as the caller sees it.
func (e *env) listAll(key, subjectID string) []wire.Record {
	e.t.Helper()
	var all []wire.Record
	bookmark := ""
	for i := 0; i < 1000; i++ {
		r := e.do(e.request("GET", "/v1/dossiers/"+subjectID+"/records?pageSize=100&bookmark="+url.QueryEscape(bookmark), key, nil, ""))
		expectStatus(e.t, r, 200)
		var page wire.RecordPage
		r.json(e.t, &page)
		all = append(all, page.Records...)
		if page.Bookmark == "" || len(page.Records) == 0 {
			return all
		}
		bookmark = page.Bookmark
	}
	e.t.Fatal("dossier listing does not end")
	return nil
}

func fileCID(b []byte) string {
	sum := sha256.Sum256(b)
	return wire.CIDFromSHA256(sum[:]).String()
}

// tryAppend is appendRecord for a goroutine other than the test's: it returns
// transport errors instead of failing the test.
func (e *env) tryAppend(key, subjectID, recordType string, file []byte, idem string) (int, []byte, error) {
	meta, _ := json.Marshal(map[string]string{"type": recordType})
	body, ct := multipartBody(e.t, [3]string{"metadata", "application/json", string(meta)}, [3]string{"file", "application/pdf", string(file)})
	req, err := http.NewRequest("POST", e.url+"/v1/dossiers/"+subjectID+"/records", body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Idempotency-Key", idem)
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// faultWriter appends records one after another, each retried with its own
// Idempotency-Key until it is acknowledged (2xx) or refused for good (4xx other than
// 409, which would be a test failure).
type faultWriter struct {
	e         *env
	key, subj string

	mu      sync.Mutex
	acked   map[string]string // idempotency key -> record ID
	files   map[string]string // CID -> idempotency key of every record attempted
	refused []string
	last    string // the latest unacknowledged answer, for diagnosis
	stop    chan struct{}
	done    chan struct{}
}

func (w *faultWriter) run() {
	defer close(w.done)
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return
		default:
		}
		idem := fmt.Sprintf("fault-%04d", i)
		file := []byte(fmt.Sprintf("%%PDF-1.7 fault-test record %d %d", i, time.Now().UnixNano()))
		w.mu.Lock()
		w.files[fileCID(file)] = idem
		w.mu.Unlock()
		for deadline := time.Now().Add(3 * time.Minute); ; {
			status, body, err := w.e.tryAppend(w.key, w.subj, "birth-medical-certificate", file, idem)
			// 201 for a new record; 200 when an earlier attempt with this key
			// committed although its answer was lost (the gateway returns that record).
			if err == nil && (status == 201 || status == 200) {
				var res recordResult
				if json.Unmarshal(body, &res) == nil {
					w.mu.Lock()
					w.acked[idem] = res.Record.RecordID
					w.mu.Unlock()
				}
				break
			}
			if err == nil && status >= 400 && status < 500 && status != 409 && status != 429 {
				w.mu.Lock()
				w.refused = append(w.refused, fmt.Sprintf("%s: %d %s", idem, status, body))
				w.mu.Unlock()
				break
			}
			w.mu.Lock()
			w.last = fmt.Sprintf("%s: %d %.300s %v", idem, status, body, err)
			w.mu.Unlock()
			if time.Now().After(deadline) {
				w.mu.Lock()
				w.refused = append(w.refused, fmt.Sprintf("%s: not acknowledged within 3 min (last %d %v)", idem, status, err))
				w.mu.Unlock()
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
}

func (w *faultWriter) ackCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// TestFaultRandomKillsRestartedByUp: while a writer appends records through the
// gateway, a random set of processes of a 3-orderer network (peers, orderers,
// chaincode servers, CAs)
// is SIGKILLed, a few times; only `network up` (Network.Up) restarts them, after which
// every process runs; in the end every acknowledged record is on the ledger, once.
func TestFaultRandomKillsRestartedByUp(t *testing.T) {
	e := startEnvOn(t, nettest.Options{BasePort: opsFaultBasePort, Orderers: 3}, func(cfg *Config) {
		cfg.EvaluateTimeout, cfg.EndorseTimeout, cfg.SubmitTimeout, cfg.CommitStatusTimeout = 5*time.Second, 5*time.Second, 5*time.Second, 15*time.Second
	})
	health := e.keys.Departments["health"]
	w := &faultWriter{e: e, key: health, subj: e.resolve(health, personID(701)),
		acked: map[string]string{}, files: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	defer func() {
		select {
		case <-w.stop:
		default:
			close(w.stop)
		}
		<-w.done
	}()

	const rounds = 4
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := 1; round <= rounds; round++ {
		before := w.ackCount()
		time.Sleep(3 * time.Second)
		pids, err := e.n.PIDs()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for name := range pids {
			names = append(names, name)
		}
		sort.Strings(names)
		rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		// Each round kills one process of one kind (CA, orderer, peer, chaincode
		// server in turn, so every kind is killed) and up to two more of any kind.
		kind := []string{"ca.", "orderer", "peer", "cc-"}[(round-1)%4]
		for i, name := range names {
			if strings.HasPrefix(name, kind) {
				names[0], names[i] = names[i], names[0]
				break
			}
		}
		victims := names[:1+rng.IntN(3)]
		for _, v := range victims {
			if err := e.n.Kill(v); err != nil {
				t.Fatalf("round %d: kill %s: %v", round, v, err)
			}
		}
		t.Logf("round %d: SIGKILLed %s (acknowledged so far: %d)", round, strings.Join(victims, ", "), before)
		time.Sleep(time.Second)
		start := time.Now()
		if err := e.n.Up(t.Context()); err != nil {
			t.Fatalf("round %d: network up after killing %s: %v", round, strings.Join(victims, ", "), err)
		}
		st, err := e.n.Status()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range st.Processes {
			if !p.Running {
				t.Fatalf("round %d: %s not running after network up", round, p.Name)
			}
		}
		if !st.Ready {
			t.Fatalf("round %d: network not ready after up: %+v", round, st.Processes)
		}
		t.Logf("round %d: network up restarted them in %.1fs", round, time.Since(start).Seconds())
	}
	// Writes go through again after the last restart.
	last := w.ackCount()
	for deadline := time.Now().Add(90 * time.Second); w.ackCount() < last+3; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.mu.Lock()
			last := w.last
			w.mu.Unlock()
			t.Fatalf("no write acknowledged within 90s of the last restart (acknowledged %d; latest answer %s)", w.ackCount(), last)
		}
	}
	close(w.stop)
	<-w.done

	if len(w.refused) > 0 {
		t.Fatalf("writes refused or unanswered: %s", strings.Join(w.refused, "; "))
	}
	records := e.listAll(health, w.subj)
	byID := map[string]bool{}
	perCID := map[string]int{}
	for _, r := range records {
		byID[r.RecordID] = true
		perCID[r.CID]++
	}
	lost, dup := 0, 0
	for idem, id := range w.acked {
		if !byID[id] {
			lost++
			t.Errorf("acknowledged record %s (%s) is not on the ledger", id, idem)
		}
	}
	for cid, k := range perCID {
		if k > 1 {
			dup += k - 1
			t.Errorf("file %s (%s) recorded %d times", cid, w.files[cid], k)
		}
	}
	t.Logf("%d rounds of SIGKILL: %d records acknowledged, %d on the ledger, %d lost, %d duplicated", rounds, len(w.acked), len(records), lost, dup)
	if len(w.acked) < rounds {
		t.Fatalf("only %d writes acknowledged: the writer made no progress", len(w.acked))
	}
}

// TestBackupRestoreEveryRecord: records appended and granted; the gateway backed up
// while it runs, the network backed up stopped; the network's home is lost and
// restored, the gateway restored onto a fresh folder; a gateway on the restored folder
// authenticates the same API keys, derives the same subject IDs, and reads and
// verifies every record.
func TestBackupRestoreEveryRecord(t *testing.T) {
	e := startEnvWith(t, opsBackupBasePort, nil)
	health, social := e.keys.Departments["health"], e.keys.Departments["social"]
	idNumber := personID(801)
	parent := newCitizen(t, e.resolve(health, idNumber))
	e.bindKey(parent)
	type kept struct {
		rec  wire.Record
		file []byte
	}
	var records []kept
	for i := 0; i < 6; i++ {
		// small files and files of several ciphertext segments
		file := append([]byte(fmt.Sprintf("%%PDF-1.7 backup test %d %d\n", i, time.Now().UnixNano())), bytes.Repeat([]byte{byte('a' + i)}, i*50_000)...)
		r := e.appendRecord(health, parent.subjectID, "birth-medical-certificate", "", file, fmt.Sprintf("backup-%d", i))
		expectStatus(t, r, 201)
		var res recordResult
		r.json(t, &res)
		records = append(records, kept{res.Record, file})
	}
	now := time.Now()
	const grantID, purpose = "g-backup-1", "social-insurance-enrolment"
	expectStatus(t, e.do(e.signed(parent, "POST", "/v1/dossiers/"+parent.subjectID+"/grants",
		parent.grant(t, grantID, "SocialSecurityMSP", purpose, []string{"birth-medical-certificate"}, now.Add(-time.Minute), now.Add(24*time.Hour)), now)), 201)

	backups := t.TempDir()
	gwBackup, netBackup := filepath.Join(backups, "gateway"), filepath.Join(backups, "network")
	if err := backupGateway(e.g.cfg, gwBackup, io.Discard); err != nil {
		t.Fatalf("gateway backup: %v", err)
	}
	if err := e.n.Backup(netBackup); err == nil {
		t.Fatal("network backup of a running network accepted")
	}
	if err := e.n.Down(); err != nil {
		t.Fatal(err)
	}
	if err := e.n.Backup(netBackup); err != nil {
		t.Fatalf("network backup: %v", err)
	}
	// The network's home is lost, then restored; up starts it on the restored ledgers.
	if err := os.RemoveAll(e.n.Home()); err != nil {
		t.Fatal(err)
	}
	if err := e.n.Restore(netBackup); err != nil {
		t.Fatalf("network restore: %v", err)
	}
	if err := e.n.Restore(netBackup); err == nil {
		t.Fatal("network restore over a non-empty home accepted")
	}
	if err := e.n.Up(t.Context()); err != nil {
		t.Fatalf("up on the restored network: %v", err)
	}

	// The gateway onto a fresh folder.
	fresh := t.TempDir()
	cfg := e.g.cfg
	cfg.DataDir = filepath.Join(fresh, "gateway")
	cfg.KEKFile = filepath.Join(fresh, "secrets", "kek.hex")
	cfg.SubjectSecret = filepath.Join(fresh, "secrets", "subject.hex")
	cfg.APIKeyFile, cfg.DemoKeysFile = "", ""
	if err := restoreGateway(cfg, gwBackup, io.Discard); err != nil {
		t.Fatalf("gateway restore: %v", err)
	}
	if err := restoreGateway(cfg, gwBackup, io.Discard); err == nil {
		t.Fatal("gateway restore over a non-empty dataDir accepted")
	}
	r2 := *e // the same network and API keys, the restored folder
	r2.cfg, r2.slot = cfg, 1
	restored := &r2
	restored.startGateway()
	defer restored.stop()
	if got := restored.resolve(health, idNumber); got != parent.subjectID {
		t.Fatalf("restored gateway derives subject ID %s, want %s (subject secret not restored)", got, parent.subjectID)
	}
	if got := len(restored.listAll(health, parent.subjectID)); got != len(records) {
		t.Fatalf("restored dossier lists %d records, want %d", got, len(records))
	}
	for _, k := range records {
		r := restored.jsonCall("GET", "/v1/records/"+k.rec.RecordID, health, nil)
		expectStatus(t, r, 200)
		var rec wire.Record
		r.json(t, &rec)
		if rec.CID != k.rec.CID || rec.Status != wire.StatusActive {
			t.Fatalf("record %s after restore: %s", k.rec.RecordID, r.body)
		}
		r = restored.jsonCall("GET", "/v1/records/"+k.rec.RecordID+"/content?grantId="+grantID+"&purpose="+purpose, social, nil)
		expectStatus(t, r, 200)
		if !bytes.Equal(r.body, k.file) {
			t.Fatalf("record %s: restored file differs (%d bytes, want %d)", k.rec.RecordID, len(r.body), len(k.file))
		}
		r = restored.jsonCall("GET", "/v1/verify/"+k.rec.CID, "", nil)
		expectStatus(t, r, 200)
		var v map[string]any
		r.json(t, &v)
		if v["verified"] != true {
			t.Fatalf("record %s does not verify after restore: %s", k.rec.RecordID, r.body)
		}
	}
	t.Logf("restored network and gateway: %d records read byte for byte and verified", len(records))
}
