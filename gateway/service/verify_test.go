package service

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/gateway"
)

// TestVerifyUploadReadErrors: an upload that fails with a coded error (the HTTP
// layer's size limit, also without Content-Length) keeps its code; any other read
// failure is invalid. Neither reaches the ledger.
func TestVerifyUploadReadErrors(t *testing.T) {
	_, _, s := newFakes()
	public := gateway.Principal{Role: gateway.RolePublic}
	limit := gateway.Errorf(gateway.CodeTooLarge, "upload larger than the limit")
	for err, want := range map[error]gateway.Code{
		limit:                     gateway.CodeTooLarge,
		errors.New("broken pipe"): gateway.CodeInvalid,
	} {
		r := io.MultiReader(strings.NewReader("part of a file"), failingReader{err})
		if _, got := s.VerifyFile(context.Background(), public, r, "", ""); gateway.ErrorCode(got) != want {
			t.Errorf("%v: %v, want %s", err, got, want)
		}
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }
