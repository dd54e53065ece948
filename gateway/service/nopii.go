package service

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/subject"
)

// No personal data on the ledger: subject IDs are pseudonyms (never an ID number),
// and the only free text a department may send, a record's note, is kept off-chain in
// the encrypted blob store as a salted document; the ledger holds its CID.

// CheckSubjectID accepts exactly the pseudonym form of a subject ID (the ledger's rule,
// wire.ValidateSubjectID). A value that is a valid resident ID number or unified social
// credit code is refused with CodeRawIDNumber, anything else with CodeInvalid. Neither
// message repeats the value.
func CheckSubjectID(field, s string) error {
	if wire.ValidateSubjectID(field, s) == nil {
		return nil
	}
	if IsIDNumber(s) {
		return gateway.Errorf(gateway.CodeRawIDNumber,
			"%s is an ID number or credit code, which never goes to the ledger: resolve it to a subject ID with POST /v1/subjects/resolve first", field)
	}
	return gateway.Errorf(gateway.CodeInvalid, "%s must be a pseudonymous subject ID (p- or e- and 32 base32 characters, from POST /v1/subjects/resolve)", field)
}

// IsIDNumber reports whether s normalises as a valid person ID number or enterprise
// credit code.
func IsIDNumber(s string) bool {
	if _, err := subject.Normalize(subject.KindPerson, s); err == nil {
		return true
	}
	_, err := subject.Normalize(subject.KindEnterprise, s)
	return err == nil
}

// NoteDocument is the off-chain form of a record's note: the text with 32 bytes of
// salt, so that the CID on the ledger cannot be tested against a guessed text. The salt
// is random, except for an idempotent append (an Idempotency-Key, or a batch item's
// key), whose retry must name the same document: then it is HMAC-SHA-256 under the
// platform's note key of the issuer, the record ID and the text, as unpredictable as
// a random salt to anyone without that key.
type NoteDocument struct {
	Salt string `json:"salt"`
	Text string `json:"text"`
}

// checkNote validates a note's text: valid UTF-8, at most wire.MaxNoteBytes.
func checkNote(text string) error {
	if len(text) > wire.MaxNoteBytes {
		return gateway.Errorf(gateway.CodeInvalid, "note longer than %d bytes", wire.MaxNoteBytes)
	}
	if !utf8.ValidString(text) {
		return gateway.Errorf(gateway.CodeInvalid, "note is not valid UTF-8")
	}
	return nil
}

// NoteKey derives the note key from the platform's subject secret (which every gateway
// of a platform shares); the derivation keeps the two uses apart.
func NoteKey(subjectSecret []byte) []byte {
	m := hmac.New(sha256.New, subjectSecret)
	m.Write([]byte("edossier note salt key v1"))
	return m.Sum(nil)
}

// noteSalt returns the salt of a note: random, or keyed for an idempotent append.
func (s *Service) noteSalt(issuer, recordID, text string, idempotent bool) []byte {
	if !idempotent {
		salt := make([]byte, 32)
		if _, err := rand.Read(salt); err != nil {
			panic(err)
		}
		return salt
	}
	m := hmac.New(sha256.New, s.cfg.NoteKey)
	for _, part := range []string{issuer, recordID, text} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// newNoteDocument returns the encoded note document of text.
func newNoteDocument(salt []byte, text string) []byte {
	b, err := wire.Marshal(NoteDocument{Salt: base64.StdEncoding.EncodeToString(salt), Text: text})
	if err != nil {
		panic(err)
	}
	return b
}

// putNote stages the note document of text in the request's blob batch (with the
// file: durable before the transaction, dropped if it is refused) and returns its CID;
// "" for no note.
func (f *requestFiles) putNote(ctx context.Context, p gateway.Principal, recordID, text string, idempotent bool) (string, error) {
	if text == "" {
		return "", nil
	}
	info, err := f.put(ctx, bytes.NewReader(newNoteDocument(f.s.noteSalt(p.MSPID, recordID, text, idempotent), text)))
	if err != nil {
		return "", err
	}
	return info.CID, nil
}

// readNote returns the text of the note document stored under cid.
func (s *Service) readNote(cid string) (string, error) {
	body, _, err := s.blobs.Open(cid)
	if err != nil {
		if gateway.ErrorCode(err) == gateway.CodeBlobCorrupt {
			return "", err
		}
		return "", gateway.Wrap(gateway.CodeInternal, err, "the note of this record is missing from the blob store")
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, 4*wire.MaxNoteBytes+1024))
	if err != nil {
		if gateway.ErrorCode(err) == gateway.CodeBlobCorrupt {
			return "", err
		}
		return "", gateway.Wrap(gateway.CodeInternal, err, "reading the note of this record")
	}
	var doc NoteDocument
	if err := json.Unmarshal(b, &doc); err != nil {
		return "", gateway.Wrap(gateway.CodeInternal, err, "the note of this record does not decode")
	}
	return doc.Text, nil
}

// registryNames caches the registered names of record types, departments and reasons
// for the public verification answer (which names codes, never free text).
type registryNames struct {
	mu      sync.Mutex
	at      time.Time
	types   map[string]string
	depts   map[string]string
	reasons map[string]string
}

const namesTTL = 30 * time.Second

// names returns the registry names, refreshed when older than namesTTL or when a code
// asked for is unknown (a new registration) and the cache is older than a second.
func (s *Service) names(ctx context.Context, recs []wire.Record) (types, depts, reasons map[string]string, err error) {
	n := &s.regNames
	n.mu.Lock()
	defer n.mu.Unlock()
	now := s.cfg.Now()
	stale := n.types == nil || now.Sub(n.at) > namesTTL
	if !stale && now.Sub(n.at) > time.Second {
		for _, r := range recs {
			_, t := n.types[r.Type]
			_, d := n.depts[r.Issuer]
			_, rs := n.reasons[r.Reason]
			if !t || !d || (r.Reason != "" && !rs) {
				stale = true
				break
			}
		}
	}
	if stale {
		reg, err := s.ledger.Registry(ctx, s.cfg.Platform)
		if err != nil {
			return nil, nil, nil, err
		}
		n.types, n.depts, n.reasons = map[string]string{}, map[string]string{}, map[string]string{}
		for _, t := range reg.RecordTypes {
			n.types[t.Code] = t.Name
		}
		for _, d := range reg.Departments {
			n.depts[d.MSPID] = d.Name
		}
		for _, r := range reg.Reasons {
			n.reasons[r.Code] = r.Name
		}
		n.at = now
	}
	return n.types, n.depts, n.reasons, nil
}
