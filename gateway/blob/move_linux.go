package blob

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// moveNoReplace renames oldpath to newpath unless newpath exists (an error
// matching fs.ErrExist then), in one system call (renameat2 with
// RENAME_NOREPLACE). On a file system without that flag it links the new
// name and removes the old one, which refuses an existing name as well.
func moveNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return linkAndRemove(oldpath, newpath)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}
