package wire

import (
	"crypto/sha256"
	"fmt"
	"io"
	"sync"

	"github.com/ipfs/go-cid"
)

const (
	// CodecRaw is the multicodec of raw bytes (0x55).
	CodecRaw = cid.Raw
	// multihash code and digest length of sha2-256.
	mhSHA2_256    = 0x12
	mhSHA2_256Len = 32
)

// ParseCID accepts exactly one form of content ID: CIDv1, raw codec (0x55),
// sha2-256 multihash with a 32-byte digest, written in its canonical string
// form (multibase base32 lower case, "bafkrei..."). Anything else is refused,
// including other encodings of the same CID, so that one file has one ID.
func ParseCID(s string) (cid.Cid, error) {
	if s == "" {
		return cid.Undef, Errorf(CodeInvalid, "cid is empty")
	}
	if len(s) > MaxCIDLen {
		return cid.Undef, Errorf(CodeInvalid, "cid longer than %d characters", MaxCIDLen)
	}
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, Errorf(CodeInvalid, "cid does not decode: %v", err)
	}
	p := c.Prefix()
	switch {
	case p.Version != 1:
		return cid.Undef, Errorf(CodeInvalid, "cid must be CIDv1")
	case p.Codec != CodecRaw:
		return cid.Undef, Errorf(CodeInvalid, "cid codec must be raw (0x55), got 0x%x", p.Codec)
	case p.MhType != mhSHA2_256:
		return cid.Undef, Errorf(CodeInvalid, "cid multihash must be sha2-256, got 0x%x", p.MhType)
	case p.MhLength != mhSHA2_256Len:
		return cid.Undef, Errorf(CodeInvalid, "cid digest must be %d bytes", mhSHA2_256Len)
	}
	if c.String() != s {
		return cid.Undef, Errorf(CodeInvalid, "cid is not in canonical form (want %s)", c.String())
	}
	return c, nil
}

// copyBufs are CIDOf's read buffers: io.Copy from an *os.File allocates a fresh
// 32 KiB buffer per call (the file's WriteTo falls back to a plain copy), which was
// 43% of the CPU of hashing a legacy archive of 1 KiB files (`import --anchor
// --cid-only`).
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// CIDOf streams r and returns the CIDv1 (raw codec, sha2-256) of its bytes and
// the number of bytes read. It never holds more than a small buffer.
func CIDOf(r io.Reader) (cid.Cid, int64, error) {
	h := sha256.New()
	buf := copyBufs.Get().(*[]byte)
	// struct{ io.Reader } hides r's WriteTo, so that CopyBuffer uses buf.
	n, err := io.CopyBuffer(h, struct{ io.Reader }{r}, *buf)
	copyBufs.Put(buf)
	if err != nil {
		return cid.Undef, n, fmt.Errorf("hashing content: %w", err)
	}
	return CIDFromSHA256(h.Sum(nil)), n, nil
}

// SHA256Of returns the sha2-256 digest of a CID that ParseCID accepted (the last 32
// bytes of its multihash).
func SHA256Of(c cid.Cid) []byte {
	h := c.Hash()
	return append([]byte(nil), h[len(h)-mhSHA2_256Len:]...)
}

// CIDFromSHA256 wraps a sha2-256 digest (32 bytes) into a CIDv1 raw CID.
// It panics if the digest has the wrong length (a programming error).
func CIDFromSHA256(digest []byte) cid.Cid {
	if len(digest) != mhSHA2_256Len {
		panic("wire: sha2-256 digest must be 32 bytes")
	}
	mh := make([]byte, 0, 2+mhSHA2_256Len)
	mh = append(mh, mhSHA2_256, mhSHA2_256Len)
	mh = append(mh, digest...)
	return cid.NewCidV1(CodecRaw, mh)
}
