package blob

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/edossier-city/edossier/gateway"
)

// codeErr gives an error of the store its gateway code (the Store's exported methods
// and its readers return *gateway.Error; the sentinel errors stay in the chain, so
// errors.Is(err, ErrCorrupt) still holds). An *gateway.Error of the stream being stored
// (the upload's own size limit, a broken request body) passes through unchanged.
func (s *Store) codeErr(err error) error {
	var ge *gateway.Error
	switch {
	case err == nil, err == io.EOF:
		return err
	case errors.As(err, &ge):
		return err
	case errors.Is(err, ErrTooLarge):
		return gateway.Wrap(gateway.CodeTooLarge, err, "file larger than the limit of %d bytes", s.maxSize)
	case errors.Is(err, ErrNotFound):
		return gateway.Wrap(gateway.CodeNotFound, err, "no such file")
	case errors.Is(err, ErrInvalidCID):
		return gateway.Wrap(gateway.CodeInvalid, err, "invalid content ID")
	case errors.Is(err, ErrCorrupt):
		return gateway.Wrap(gateway.CodeBlobCorrupt, err, "the stored file is damaged (it fails authentication or does not match its content ID)")
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return gateway.Wrap(gateway.CodeStorageFull, err, "the file store is full; nothing was stored")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return gateway.Wrap(gateway.CodeUnavailable, err, "the upload was interrupted")
	}
	return gateway.Wrap(gateway.CodeInternal, err, "blob store failure")
}
