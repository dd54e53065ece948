package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/edossier-city/edossier/gateway"
)

// TestCodeErr: a full disk is storage_full (507), a damaged blob blob_corrupt, an
// interrupted upload unavailable; the caller's own *gateway.Error passes through.
func TestCodeErr(t *testing.T) {
	s := newStore(t, 1<<10)
	full := fmt.Errorf("blob: %w", &os.PathError{Op: "write", Path: "/x/tmp/put-1.partial", Err: syscall.ENOSPC})
	quota := fmt.Errorf("blob: %w", &os.PathError{Op: "write", Path: "/x", Err: syscall.EDQUOT})
	own := gateway.Errorf(gateway.CodeTooLarge, "upload above the request limit")
	for err, want := range map[error]gateway.Code{
		full:                            gateway.CodeStorageFull,
		quota:                           gateway.CodeStorageFull,
		fmt.Errorf("%w: x", ErrCorrupt): gateway.CodeBlobCorrupt,
		ErrNotFound:                     gateway.CodeNotFound,
		ErrInvalidCID:                   gateway.CodeInvalid,
		ErrTooLarge:                     gateway.CodeTooLarge,
		context.Canceled:                gateway.CodeUnavailable,
		fmt.Errorf("read: %w", own):     gateway.CodeTooLarge,
		errors.New("other"):             gateway.CodeInternal,
		fmt.Errorf("x: %w", ErrInUse):   gateway.CodeInternal,
	} {
		if got := gateway.ErrorCode(s.codeErr(err)); got != want {
			t.Errorf("%v: %s, want %s", err, got, want)
		}
	}
	if !errors.Is(s.codeErr(ErrCorrupt), ErrCorrupt) {
		t.Fatal("the sentinel left the chain")
	}
	if got := s.codeErr(own); got != error(own) {
		t.Fatalf("the caller's error was rewrapped: %v", got)
	}
}

// TestStoreReturnsGatewayErrors: the store's exported methods answer with gateway
// codes (the service passes them through without translating).
func TestStoreReturnsGatewayErrors(t *testing.T) {
	s := newStore(t, 1<<10)
	ctx := context.Background()
	missing := referenceCID(t, []byte("never stored"))
	code := func(err error) gateway.Code {
		var ge *gateway.Error
		if !errors.As(err, &ge) {
			t.Fatalf("%v is no *gateway.Error", err)
		}
		return ge.Code
	}
	if _, _, err := s.Open(missing); code(err) != gateway.CodeNotFound {
		t.Fatalf("Open missing: %v", err)
	}
	if _, err := s.Stat("bafy-not-a-cid"); code(err) != gateway.CodeInvalid {
		t.Fatalf("Stat invalid: %v", err)
	}
	if err := s.Delete(missing); code(err) != gateway.CodeNotFound {
		t.Fatalf("Delete missing: %v", err)
	}
	b := s.NewBatch()
	defer b.Abort()
	_, err := b.Put(ctx, bytes.NewReader(make([]byte, 2<<10)))
	if code(err) != gateway.CodeTooLarge || !strings.Contains(err.Error(), "1024 bytes") {
		t.Fatalf("Put above the limit: %v", err)
	}
	if _, err := s.Put(ctx, bytes.NewReader(make([]byte, 2<<10))); code(err) != gateway.CodeTooLarge {
		t.Fatalf("Store.Put above the limit: %v", err)
	}
}
