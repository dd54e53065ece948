package sharing_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// BenchmarkRecordAccess measures the chaincode side of RecordAccess (grant load,
// part lookup, department and record reads across channels, the entry write,
// contractapi serialisation) on the fake ledger, in the same run: under a
// single-department grant (the baseline) and under a grant for a matter of five
// departments, read by the department of the last part (the longest part lookup). It
// prints both and their ratio (baseline time / matter time: 1.0 = as fast).
func BenchmarkRecordAccess(b *testing.B) {
	nsPerOp := map[string]float64{}
	for _, kind := range []string{"single", "matter-5"} {
		b.Run("grant="+kind, func(b *testing.B) {
			e := cctest.NewEnv(b)
			e.BootstrapSharing()
			s := newSubjectB(b, cctest.Subject("bench"))
			s.bindB(b, e)
			e.Append(e.Health, cctest.Req("b1", s.id, cctest.BirthCert))
			g := wire.Grant{Kind: wire.GrantKind, GrantID: "g-bench", SubjectID: s.id,
				ValidFrom: wire.FormatTime(e.Net.Now.Add(-time.Hour)), ExpiresAt: wire.FormatTime(e.Net.Now.Add(24 * time.Hour))}
			if kind == "single" {
				g.Grantee, g.Scope, g.Purpose = cctest.Health, wire.GrantScope{RecordTypes: []string{cctest.BirthCert}}, cctest.PurposeOneThing
			} else {
				// Five departments; health's part comes last (parts are ordered by MSP ID).
				for _, msp := range []string{"AaMedInsMSP", "AbSocialMSP", "AcPoliceMSP"} {
					e.OK(e.Dossier(e.Op, "RegisterDepartment", msp, msp, "x"))
				}
				d := wire.MatterDefinition{Code: "newborn", Name: "Newborn"}
				for _, msp := range []string{"AaMedInsMSP", "AbSocialMSP", "AcPoliceMSP", cctest.Civil, cctest.Health} {
					d.Parts = append(d.Parts, wire.MatterPart{Department: msp, RecordTypes: []string{cctest.BirthCert, cctest.Marriage}, Purpose: cctest.PurposeOneThing})
				}
				m := cctest.Decode[wire.Matter](b, e.OK(e.Dossier(e.Op, "DefineMatter", cctest.JSON(b, d))))
				ref := m.Ref()
				g.Matter, g.Parts = &ref, m.GrantParts()
			}
			doc, err := wire.EncodeGrant(g)
			if err != nil {
				b.Fatal(err)
			}
			sig, _ := wire.SignDocument(s.priv, doc)
			e.OK(e.Sharing(e.Civil, "CreateGrant", string(doc), sig))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.OK(e.Sharing(e.Health, "RecordAccess", "g-bench", "b1", ""))
			}
			nsPerOp[kind] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	if nsPerOp["single"] > 0 && nsPerOp["matter-5"] > 0 {
		fmt.Fprintf(os.Stdout, "\nRecordAccess on the fake ledger\n%-10s %12s %12s\n%-10s %12.0f %12s\n%-10s %12.0f %12.2f\n",
			"grant", "ns/op", "ratio", "single", nsPerOp["single"], "1.00 (baseline)", "matter-5", nsPerOp["matter-5"], nsPerOp["single"]/nsPerOp["matter-5"])
	}
}

func newSubjectB(b *testing.B, id string) *subject {
	b.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return &subject{id: id, priv: k, pem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
}

func (s *subject) bindB(b *testing.B, e *cctest.Env) {
	b.Helper()
	doc, err := wire.EncodeKeyStatement(wire.KeyStatement{Kind: wire.KeyBindKind, SubjectID: s.id, IssuedAt: wire.FormatTime(e.Net.Now),
		Nonce: "bench-nonce-000001", PublicKeyPEM: s.pem})
	if err != nil {
		b.Fatal(err)
	}
	sig, _ := wire.SignDocument(s.priv, doc)
	e.OK(e.Sharing(e.Authority, "BindSubjectKey", string(doc), sig))
}
