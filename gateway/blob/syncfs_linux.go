package blob

import (
	"os"

	"golang.org/x/sys/unix"
)

// haveSyncFS: this platform can flush a whole file system in one call.
const haveSyncFS = true

// syncFS flushes every dirty page and inode of the file system holding dir and waits
// for the device (syncfs(2); errors are reported since Linux 5.8).
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}
