package gateway

import (
	"context"
	"io"
)

// BlobInfo describes a stored (or staged) blob: its CID (CIDv1, raw, sha2-256,
// base32) and plaintext size.
type BlobInfo struct {
	CID  string
	Size int64
}

// CommittedBlob is a blob made durable, with whether this write created it (false:
// the same content was stored already, and another request may rely on it).
type CommittedBlob struct {
	BlobInfo
	Created bool
}

// BlobBatch stages files and makes them durable together (implemented by
// gateway/blob). Put encrypts a file into a temporary place and returns its CID and
// size; Commit makes every staged file durable under its final name (fsynced, renamed
// into place, directory entries synced) and returns the blobs in Put order with
// whether this batch created each (on error, the ones already in place so far); Abort
// discards what is staged and not committed. One goroutine uses a BlobBatch. Errors
// are *Error: CodeTooLarge above the size limit, CodeStorageFull when the disk is full
// (nothing stored), CodeUnavailable when the context ends; an *Error of the stream
// being read passes through unchanged.
type BlobBatch interface {
	Put(ctx context.Context, r io.Reader) (BlobInfo, error)
	Commit(ctx context.Context) ([]CommittedBlob, error)
	Abort()
}
