//go:build !linux

package blob

// moveNoReplace renames oldpath to newpath unless newpath exists (an error
// matching fs.ErrExist then).
func moveNoReplace(oldpath, newpath string) error { return linkAndRemove(oldpath, newpath) }
