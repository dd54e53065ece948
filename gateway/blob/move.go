package blob

import "os"

// linkAndRemove gives the file at oldpath the name newpath, failing if that
// name exists, then drops oldpath (a failure to drop it leaves a temporary
// file that SweepTemp removes later).
func linkAndRemove(oldpath, newpath string) error {
	if err := os.Link(oldpath, newpath); err != nil {
		return err
	}
	os.Remove(oldpath)
	return nil
}
