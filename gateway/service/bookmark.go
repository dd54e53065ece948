package service

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Listing bookmarks are opaque: the gateway seals the chaincode's bookmark (a ledger
// key that names a subject, a record type and a record ID, a grant or a log entry) with
// AES-256-GCM under a key every gateway of the platform derives from the subject
// secret, binding it to the caller and the query as associated data. A bookmark is
// therefore useless to anyone but the caller it was given to, for the query it came
// from, and reveals nothing; one that was altered, or comes from another caller or
// another query, is invalid.

// BookmarkKey derives the bookmark-sealing key from the platform's subject secret
// (HKDF-SHA-256, its own label, so it is independent of the note key).
func BookmarkKey(subjectSecret []byte) []byte {
	k, err := hkdf.Key(sha256.New, subjectSecret, nil, "edossier listing bookmark key v1", 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot give
	}
	return k
}

// MaxBookmarkLen bounds an opaque bookmark (a sealed chaincode bookmark of at most
// wire.MaxBookmarkLen bytes, base64).
const MaxBookmarkLen = 2 * wire.MaxBookmarkLen

// bookmarkSealer seals and opens bookmarks.
type bookmarkSealer struct{ aead cipher.AEAD }

func newBookmarkSealer(key []byte) *bookmarkSealer {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // the key is 32 bytes (Config)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &bookmarkSealer{aead: aead}
}

var bookmarkEncoding = base64.RawURLEncoding

// callerOf names who a bookmark is for: a citizen by subject, anyone else by
// organisation and role.
func callerOf(p gateway.Principal) string {
	if p.Role == gateway.RoleCitizen {
		return "subject:" + p.SubjectID
	}
	return "org:" + p.MSPID + ":" + string(p.Role)
}

func bookmarkAD(p gateway.Principal, query ...string) []byte {
	ad := []byte("edossier bookmark v1\x00" + callerOf(p))
	for _, q := range query {
		ad = append(ad, 0)
		ad = append(ad, q...)
	}
	return ad
}

// seal returns the opaque bookmark of the chaincode bookmark raw ("" stays "").
func (b *bookmarkSealer) seal(p gateway.Principal, raw string, query ...string) string {
	if raw == "" {
		return ""
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return bookmarkEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(raw), bookmarkAD(p, query...)))
}

// open returns the chaincode bookmark inside an opaque one ("" stays ""); invalid for
// anything this caller was not given for this query.
func (b *bookmarkSealer) open(p gateway.Principal, sealed string, query ...string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	bad := gateway.Errorf(gateway.CodeInvalid, "bookmark is not one this query gave this caller")
	if len(sealed) > MaxBookmarkLen {
		return "", bad
	}
	ct, err := bookmarkEncoding.DecodeString(sealed)
	if err != nil || len(ct) < b.aead.NonceSize()+b.aead.Overhead() {
		return "", bad
	}
	n := b.aead.NonceSize()
	raw, err := b.aead.Open(nil, ct[:n], ct[n:], bookmarkAD(p, query...))
	if err != nil {
		return "", bad
	}
	return string(raw), nil
}
