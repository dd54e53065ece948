//go:build !unix

package identity

import (
	"fmt"
	"os"
)

// lockFile opens the lock file; without flock, gateways sharing a key file must not
// change keys at the same time.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("api key lock: %w", err)
	}
	return f, nil
}
