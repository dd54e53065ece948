package blob

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidateCID checks that only canonical CIDv1 raw sha2-256 strings are
// accepted and that an accepted string always maps to a file directly inside
// one shard directory of the store, named after the CID itself.
func FuzzValidateCID(f *testing.F) {
	// More seeds live in testdata/fuzz/FuzzValidateCID.
	f.Add("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
	f.Add("../x")
	s := &Store{blobsDir: filepath.Join(string(filepath.Separator), "store", "blobs")}
	f.Fuzz(func(t *testing.T, str string) {
		digest, err := parseCID(str)
		if err != nil {
			if ValidateCID(str) == nil {
				t.Fatal("parseCID and ValidateCID disagree")
			}
			return
		}
		if len(digest) != 32 {
			t.Fatalf("digest of %d bytes", len(digest))
		}
		if again := cidOf(digest); again != str {
			t.Fatalf("%q does not round-trip (%q)", str, again)
		}
		if len(str) != 59 || !strings.HasPrefix(str, "bafkrei") {
			t.Fatalf("unexpected accepted form %q", str)
		}
		for _, r := range str[1:] {
			if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
				t.Fatalf("accepted %q with character %q", str, r)
			}
		}
		dir, p := s.pathOf(str, digest)
		if filepath.Dir(p) != dir || filepath.Dir(dir) != s.blobsDir {
			t.Fatalf("path %q escapes the shard layout", p)
		}
		if filepath.Base(p) != str+".blob" || filepath.Clean(p) != p {
			t.Fatalf("unexpected path %q", p)
		}
	})
}
