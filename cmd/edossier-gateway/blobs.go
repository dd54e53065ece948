package main

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/blob"
	"github.com/edossier-city/edossier/gateway/service"
)

// blobAdapter presents the blob store to the service with gateway error codes.
type blobAdapter struct{ s *blob.Store }

func blobErr(err error) error {
	var ge *gateway.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ge):
		return err // e.g. the upload's own size limit or a broken request body
	case errors.Is(err, blob.ErrTooLarge):
		return gateway.Wrap(gateway.CodeTooLarge, err, "file larger than the limit")
	case errors.Is(err, blob.ErrNotFound):
		return gateway.Wrap(gateway.CodeNotFound, err, "no such file")
	case errors.Is(err, blob.ErrInvalidCID):
		return gateway.Wrap(gateway.CodeInvalid, err, "invalid content ID")
	case errors.Is(err, blob.ErrCorrupt):
		return gateway.Wrap(gateway.CodeBlobCorrupt, err, "the stored file is damaged (it fails authentication or does not match its content ID)")
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return gateway.Wrap(gateway.CodeStorageFull, err, "the file store is full; nothing was stored")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return gateway.Wrap(gateway.CodeUnavailable, err, "the upload was interrupted")
	}
	return gateway.Wrap(gateway.CodeInternal, err, "blob store failure")
}

func (a blobAdapter) Open(cid string) (io.ReadCloser, service.BlobInfo, error) {
	rc, info, err := a.s.Open(cid)
	if err != nil {
		return nil, service.BlobInfo{}, blobErr(err)
	}
	return blobReader{rc}, service.BlobInfo{CID: info.CID, Size: info.Size}, nil
}

// blobReader gives the errors of a blob's stream gateway codes (blob_corrupt for a
// file that fails authentication while it is read).
type blobReader struct{ io.ReadCloser }

func (r blobReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		return n, blobErr(err)
	}
	return n, err
}

func (a blobAdapter) Stat(cid string) (service.BlobInfo, error) {
	info, err := a.s.Stat(cid)
	if err != nil {
		return service.BlobInfo{}, blobErr(err)
	}
	return service.BlobInfo{CID: info.CID, Size: info.Size}, nil
}

func (a blobAdapter) Delete(cid string) error { return blobErr(a.s.Delete(cid)) }

// NewBatch stages the files of a write; Commit makes them durable in one pass.
func (a blobAdapter) NewBatch() service.BlobBatch { return batchAdapter{a.s, a.s.NewBatch()} }

type batchAdapter struct {
	s *blob.Store
	b *blob.Batch
}

func (a batchAdapter) Put(ctx context.Context, r io.Reader) (service.BlobInfo, error) {
	info, err := a.b.Put(ctx, r)
	if err != nil {
		if errors.Is(err, blob.ErrTooLarge) {
			return service.BlobInfo{}, gateway.Wrap(gateway.CodeTooLarge, err, "file larger than the limit of %d bytes", a.s.MaxSize())
		}
		return service.BlobInfo{}, blobErr(err)
	}
	return service.BlobInfo{CID: info.CID, Size: info.Size}, nil
}

func (a batchAdapter) Commit(ctx context.Context) ([]service.CommittedBlob, error) {
	infos, err := a.b.Commit(ctx)
	out := make([]service.CommittedBlob, len(infos))
	for i, info := range infos {
		out[i] = service.CommittedBlob{BlobInfo: service.BlobInfo{CID: info.CID, Size: info.Size}, Created: info.Created}
	}
	return out, blobErr(err)
}

func (a batchAdapter) Abort() { a.b.Abort() }
