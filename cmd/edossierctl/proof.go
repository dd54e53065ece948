package main

// Proofs a verifier keeps: fetch a bundle, check it offline.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/proof"
)

func newProofCmd() *cobra.Command {
	f := &clientFlags{}
	var out, batchID string
	cmd := &cobra.Command{
		Use:   "proof RECORD_ID [--batch BATCH_ID] [--out FILE|-]",
		Short: "Verifiers and departments: fetch a record's proof bundle to keep (check it offline with verify --proof)",
		Long: `proof fetches the self-contained proof of a record: the record, the transactions
that appended it and changed its status with the endorsing peers' signatures, and
their blocks with the orderers' signatures. Keep the file: 'edossierctl verify --proof
FILE --roots DIR' checks it later without any network, against the channel's MSP root
certificates only. Needs a department, verifier or operator API key. With --out FILE
the bundle is written to a temporary file and renamed into place when complete.

A record of an anchored batch is found through the gateway's index (--batch names its
batch when the record ID is in several); its bundle also carries the leaf and the
inclusion proof to the batch root that the AnchorBatch transaction wrote.`,
		Example: `  edossierctl proof r-4mzq... --out r-4mzq.proof.json --api-key-file bank.key
  edossierctl verify --proof r-4mzq.proof.json --roots municipal-roots/`,
		Args: exactArgs(1, "one record ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			key, err := f.apiKeyValue(cmd)
			if err != nil {
				return err
			}
			if key == "" {
				return usagef("proof needs a department, verifier or operator API key: --api-key-file FILE, --api-key KEY or %s", envAPIKey)
			}
			c := f.newClient()
			c.APIKey = key
			b, err := c.RecordProofIn(cmd.Context(), args[0], batchID)
			if err != nil {
				return err
			}
			raw, err := json.MarshalIndent(b, "", "  ")
			if err != nil {
				return err
			}
			raw = append(raw, '\n')
			if out == "" || out == "-" {
				_, err := cmd.OutOrStdout().Write(raw)
				return err
			}
			tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
			if err := os.WriteFile(tmp, raw, 0o644); err != nil {
				return err
			}
			if err := os.Rename(tmp, out); err != nil {
				os.Remove(tmp)
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "proof of %s (%d transactions, status at block %d) written to %s\n", b.RecordID, len(b.Transactions), b.StatusAtBlock, out)
			return nil
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	cmd.Flags().StringVar(&out, "out", "-", "file to write the bundle to (- : standard output)")
	cmd.Flags().StringVar(&batchID, "batch", "", "the batch of a batch record (when its record ID is in several batches)")
	return cmd
}

// verifyProof checks a bundle offline (verify --proof FILE --roots DIR): exit 0 when
// the proof holds and the record is active, 3 when it holds and the record is not
// active, 1 when the proof is refused.
func verifyProof(cmd *cobra.Command, f *clientFlags, path, rootsDir string) error {
	if rootsDir == "" {
		return usagef("--proof needs --roots DIR (one <MSP ID>.pem root certificate file per organisation of the channel)")
	}
	roots, err := proof.LoadRoots(rootsDir)
	if err != nil {
		return usagef("--roots: %v", err)
	}
	var raw []byte
	if path == "-" {
		raw, err = io.ReadAll(cmd.InOrStdin())
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return err
	}
	var b gateway.ProofBundle
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return &codeError{code: "proof_refused", detail: fmt.Sprintf("not a proof bundle: %v", err)}
	}
	rep, err := proof.Verify(&b, roots)
	if err != nil {
		return &codeError{code: "proof_refused", detail: err.Error()}
	}
	active := rep.Record.Status == "active"
	if err := f.emit(cmd, rep, func(w io.Writer) {
		fmt.Fprintf(w, "PROOF VALID  record %s (status %s at block %d)\n", rep.Record.RecordID, rep.Record.Status, rep.StatusAtBlock)
		batch, appended := "", "appended in block"
		if rep.Batch != nil {
			batch, appended = fmt.Sprintf("%s, leaf %d of %d, root %s (inclusion proof checked)", rep.Batch.BatchID, rep.Batch.Index, rep.Batch.Size, rep.Batch.Root), "anchored in block"
		}
		fields(w, "  ",
			"batch", batch,
			"cid", rep.Record.CID,
			"type", rep.Record.Type,
			"issuer", rep.Record.Issuer,
			"issued", rep.Record.IssuedAt,
			"channel", rep.Channel,
			appended, fmt.Sprint(rep.AppendBlock),
			"status written in block", fmt.Sprint(rep.StatusBlock),
			"endorsed by", strings.Join(rep.Endorsers[0], ", "),
			"ordered by", strings.Join(rep.Orderers[0], ", "),
			"policy", rep.Policy,
		)
		for _, u := range rep.Unproven {
			fmt.Fprintf(w, "  not covered by a signature: %s\n", u)
		}
	}); err != nil {
		return err
	}
	if !active {
		return &exitError{code: exitNotVerified, err: &codeError{code: "not_verified", detail: "the proof holds, the record is " + rep.Record.Status}}
	}
	return nil
}
