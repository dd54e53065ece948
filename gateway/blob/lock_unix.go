//go:build unix

package blob

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockStore takes an advisory lock on path for the life of the returned file:
// shared (several gateway processes) or exclusive (Rewrap), never waiting.
func lockStore(path string, exclusive bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("blob: lock: %w", err)
	}
	return f, nil
}

// flockWorks tells whether lockStore really excludes other processes.
const flockWorks = true
