//go:build !unix

package blob

import (
	"fmt"
	"os"
)

// lockStore opens the lock file; without flock the store relies on the operator to
// run Rewrap only while no gateway uses the store.
func lockStore(path string, _ bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return f, nil
}

// flockWorks tells whether lockStore really excludes other processes.
const flockWorks = false
