package service

import (
	"io"
	"testing"

	"github.com/edossier-city/edossier/gateway"
)

// corruptBlobs fails every Open (atOpen) or every read of an opened blob with blob_corrupt.
type corruptBlobs struct {
	Blobs
	atOpen bool
}

type corruptReader struct{}

func (corruptReader) Read([]byte) (int, error) {
	return 0, gateway.Errorf(gateway.CodeBlobCorrupt, "damaged")
}

func (b corruptBlobs) Open(cid string) (io.ReadCloser, BlobInfo, error) {
	if b.atOpen {
		return nil, BlobInfo{}, gateway.Errorf(gateway.CodeBlobCorrupt, "damaged")
	}
	return io.NopCloser(corruptReader{}), BlobInfo{CID: cid, Size: 10}, nil
}

// A damaged note is blob_corrupt for the reader of the record, not internal.
func TestDamagedNoteIsBlobCorrupt(t *testing.T) {
	for _, atOpen := range []bool{true, false} {
		s := New(nil, corruptBlobs{atOpen: atOpen}, nil, Config{})
		if _, err := s.readNote("bafkreixyz"); gateway.ErrorCode(err) != gateway.CodeBlobCorrupt {
			t.Errorf("atOpen %v: %v", atOpen, err)
		}
	}
}
