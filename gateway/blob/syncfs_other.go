//go:build !linux

package blob

import "errors"

const haveSyncFS = false

func syncFS(string) error { return errors.New("syncfs is not available on this platform") }
