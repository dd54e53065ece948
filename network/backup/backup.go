// Package backup copies folders into a backup folder with a manifest of every file's
// size and SHA-256, and restores them after checking every byte against it. The gateway
// (`edossier-gateway backup`/`restore`) and the network (`edossierctl network
// backup`/`restore`) use it.
package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ManifestName is the manifest's file name in a backup folder.
const ManifestName = "manifest.json"

// Manifest lists what a backup holds.
type Manifest struct {
	Format  string            `json:"format"` // e.g. "edossier-gateway-backup/1"
	Created time.Time         `json:"created"`
	Meta    map[string]string `json:"meta,omitempty"`
	Files   []File            `json:"files"`
}

// File is one file of a backup, by its path relative to the backup folder.
type File struct {
	Path   string      `json:"path"`
	Size   int64       `json:"size"`
	Mode   fs.FileMode `json:"mode"`
	SHA256 string      `json:"sha256"`
}

// Writer builds a backup folder.
type Writer struct {
	dir string
	m   Manifest
}

// Create starts a backup in dir, which must not exist or be empty.
func Create(dir, format string) (*Writer, error) {
	if err := EnsureEmpty(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Writer{dir: dir, m: Manifest{Format: format, Created: time.Now().UTC(), Meta: map[string]string{}}}, nil
}

// EnsureEmpty refuses a folder that exists and holds anything.
func EnsureEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty: refusing to overwrite it", dir)
	}
	return nil
}

// SetMeta records a key/value in the manifest.
func (w *Writer) SetMeta(k, v string) { w.m.Meta[k] = v }

// AddFile copies one file to rel in the backup.
func (w *Writer) AddFile(src, rel string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	sum, n, err := copyFile(src, filepath.Join(w.dir, filepath.FromSlash(rel)), fi.Mode().Perm())
	if err != nil {
		return err
	}
	w.m.Files = append(w.m.Files, File{Path: filepath.ToSlash(rel), Size: n, Mode: fi.Mode().Perm(), SHA256: sum})
	return nil
}

// AddTree copies every regular file under src to under rel in the backup, except
// those skip names (given the path relative to src, slash-separated).
func (w *Writer) AddTree(src, rel string, skip func(rel string, d fs.DirEntry) bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		r = filepath.ToSlash(r)
		if r == "." {
			return nil
		}
		if skip != nil && skip(r, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil // sockets, symlinks: not part of any state kept here
		}
		return w.AddFile(path, rel+"/"+r)
	})
}

// Close writes the manifest.
func (w *Writer) Close() error {
	sort.Slice(w.m.Files, func(i, j int) bool { return w.m.Files[i].Path < w.m.Files[j].Path })
	b, err := json.MarshalIndent(w.m, "", "  ")
	if err != nil {
		return err
	}
	return writeSync(filepath.Join(w.dir, ManifestName), b, 0o600)
}

// Open reads a backup's manifest and checks every file it lists against its size and
// SHA-256 (nothing is written).
func Open(dir, format string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("not a backup folder: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("backup manifest: %w", err)
	}
	if m.Format != format {
		return nil, fmt.Errorf("backup %s has format %q, want %q", dir, m.Format, format)
	}
	for _, f := range m.Files {
		if !fs.ValidPath(f.Path) {
			return nil, fmt.Errorf("backup manifest: bad path %q", f.Path)
		}
		sum, n, err := hashFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			return nil, fmt.Errorf("backup file %s: %w", f.Path, err)
		}
		if n != f.Size || sum != f.SHA256 {
			return nil, fmt.Errorf("backup file %s is damaged (size %d, want %d; sha256 %s, want %s)", f.Path, n, f.Size, sum, f.SHA256)
		}
	}
	return &m, nil
}

// Restore copies the files of m under prefix (slash-separated, "" for all) from the
// backup dir to under dst, re-checking each file's hash as it is copied.
func Restore(dir string, m *Manifest, prefix, dst string) (int, error) {
	count := 0
	for _, f := range m.Files {
		rel, ok := strings.CutPrefix(f.Path, prefix)
		if prefix != "" && (!ok || !strings.HasPrefix(rel, "/")) {
			continue
		}
		rel = strings.TrimPrefix(rel, "/")
		target := filepath.Join(dst, filepath.FromSlash(rel))
		sum, _, err := copyFile(filepath.Join(dir, filepath.FromSlash(f.Path)), target, f.Mode)
		if err != nil {
			return count, err
		}
		if sum != f.SHA256 {
			return count, fmt.Errorf("backup file %s changed while it was restored", f.Path)
		}
		count++
	}
	return count, nil
}

// RestoreFile copies one file of the backup to dst, which must not exist, and checks
// its hash.
func RestoreFile(dir string, f File, dst string) error {
	sum, _, err := copyFile(filepath.Join(dir, filepath.FromSlash(f.Path)), dst, f.Mode)
	if err != nil {
		return err
	}
	if sum != f.SHA256 {
		os.Remove(dst)
		return fmt.Errorf("backup file %s changed while it was restored", f.Path)
	}
	return nil
}

// SHA256Hex is the hex SHA-256 of b, as the manifest writes it.
func SHA256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// FileOf returns the manifest entry of a path.
func (m *Manifest) FileOf(path string) (File, bool) {
	for _, f := range m.Files {
		if f.Path == path {
			return f, true
		}
	}
	return File{}, false
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// copyFile copies src to dst (parents created 0700), fsyncs it, and returns the
// SHA-256 of what it copied.
func copyFile(src, dst string, mode fs.FileMode) (string, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", 0, err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode|0o200)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && mode&0o200 == 0 {
		err = os.Chmod(dst, mode)
	}
	if err != nil {
		return "", 0, fmt.Errorf("copy %s: %w", src, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func writeSync(path string, b []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
