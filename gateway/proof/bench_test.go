package proof

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

// BenchmarkVerify: offline verification of a synthetic bundle of a revoked record (two
// transactions, three endorsements each, one orderer signature per block) with a fresh
// verifier each time (every certificate chain checked), beside one ECDSA P-256
// verification as the baseline. The real-network figure is BenchmarkIndex's.
func BenchmarkVerify(b *testing.B) {
	w := newWorld()
	t := &testing.T{}
	bundle := w.scenario(t, w.defaultStory(true))
	b.Run("baseline-ecdsa-p256", func(b *testing.B) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		d := sha256.Sum256([]byte("x"))
		sig, _ := ecdsa.SignASN1(rand.Reader, key, d[:])
		for b.Loop() {
			if !ecdsa.VerifyASN1(&key.PublicKey, d[:], sig) {
				b.Fatal("signature")
			}
		}
	})
	b.Run("bundle", func(b *testing.B) {
		for b.Loop() {
			if _, err := Verify(bundle, w.roots); err != nil {
				b.Fatal(err)
			}
		}
	})
}
