package main

import (
	"context"
	"errors"
	"io"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/blob"
	"github.com/edossier-city/edossier/gateway/service"
)

// NewBatch lets bulk appends make their files durable in one pass (service.BatchBlobs).
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
