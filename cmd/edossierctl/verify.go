package main

// Verifiers' command.

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/gateway/service"
)

func newVerifyCmd() *cobra.Command {
	f := &clientFlags{}
	var cid, kind, idNumber, proofFile, rootsDir, source string
	cmd := &cobra.Command{
		Use:   "verify FILE [--kind person|enterprise --id-number N] | verify --cid CID | verify --proof FILE --roots DIR",
		Short: "Verifiers: is this document authentic and still valid? (exit 0 only when verified)",
		Long: `verify uploads FILE ("-" reads standard input; the gateway hashes it and keeps
nothing) or looks up a content ID, and shows who issued the matching record, when,
and whether it is still valid. It never shows whose dossier the document is in.

With --id-number (and --kind, default person) it is an ownership check: is the
document in that person's or enterprise's dossier? It then counts as verified only if
it is. Ownership checks need a department's or a verifier organisation's API key
(--api-key-file), are limited per key and per document, and each is recorded in that
subject's access log before the answer comes back.

With --proof FILE --roots DIR it checks a proof bundle (from 'edossierctl proof')
offline, with no network access, against the channel organisations' MSP root
certificates in DIR (one <MSP ID>.pem file each): the blocks' data hashes and orderer
signatures, the transactions' creator and endorsements (a majority of the
organisations; the issuer's peer for a status change) and the record they wrote.

Exit codes: 0 verified; 3 not verified (unknown, revoked, superseded, expired, or not
in the named subject's dossier); 1 the check itself failed (gateway unreachable,
invalid input, rate limited...); 2 bad usage. Verification without --id-number needs no
credentials.`,
		Example: `  edossierctl verify birth.pdf
  edossierctl verify birth.pdf --kind person --id-number 110101202611201235 --api-key-file bank.key
  edossierctl verify --cid bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku
  edossierctl verify birth.pdf -o json && echo authentic
  edossierctl verify --proof r-4mzq.proof.json --roots municipal-roots/`,
		Args: argsRange(0, 1, "one FILE, or --cid CID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			if proofFile != "" {
				if len(args) > 0 || cid != "" || kind != "" || idNumber != "" {
					return usagef("--proof takes no FILE, --cid or --id-number")
				}
				return verifyProof(cmd, f, proofFile, rootsDir)
			}
			if rootsDir != "" {
				return usagef("--roots works with --proof only")
			}
			if source != "" && source != "index" && source != "ledger" {
				return usagef("--source must be index or ledger")
			}
			switch {
			case len(args) == 1 && cid != "":
				return usagef("verify takes a FILE or --cid, not both")
			case len(args) == 0 && cid == "":
				return usagef("verify needs a FILE or --cid CID (see verify --help)")
			case cid != "" && (kind != "" || idNumber != ""):
				return usagef("--kind and --id-number work with a FILE only")
			case kind != "" && idNumber == "":
				return usagef("--kind needs --id-number")
			case kind != "" && kind != "person" && kind != "enterprise":
				return usagef("--kind must be person or enterprise")
			}
			if idNumber != "" && kind == "" {
				kind = "person"
			}
			c := f.newClient()
			if idNumber != "" {
				key, err := f.apiKeyValue(cmd)
				if err != nil {
					return err
				}
				if key == "" {
					return usagef("--id-number (an ownership check) needs a department or verifier API key: --api-key-file FILE, --api-key KEY or %s", envAPIKey)
				}
				c.APIKey = key
			}
			var v *service.Verification
			var err error
			if cid != "" {
				v, err = c.VerifyCIDFrom(cmd.Context(), cid, source)
			} else {
				part, closer, ferr := filePart(cmd, args[0], "")
				if ferr != nil {
					return ferr
				}
				defer closer.Close()
				v, err = c.VerifyFileFrom(cmd.Context(), part, kind, idNumber, source)
			}
			if err != nil {
				return err
			}
			ok := v.Verified && (v.InDossier == nil || *v.InDossier) && v.Status != service.NotInDossier
			if err := f.emit(cmd, v, func(w io.Writer) { printVerification(w, v, ok) }); err != nil {
				return err
			}
			if !ok {
				why := v.Status
				if v.Verified || v.Status == service.NotInDossier {
					why = "not in the named subject's dossier"
				}
				return &exitError{code: exitNotVerified, err: &codeError{code: "not_verified", detail: why}}
			}
			return nil
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	cmd.Flags().StringVar(&cid, "cid", "", "look up this content ID instead of uploading a file")
	cmd.Flags().StringVar(&kind, "kind", "", "person or enterprise (with --id-number; default person)")
	cmd.Flags().StringVar(&idNumber, "id-number", "", "also check that the document is in this person's or enterprise's dossier")
	cmd.Flags().StringVar(&source, "source", "", "index (the gateway's event-fed index only) or ledger (the chaincode's CID query; batch records found by the index and confirmed by the chaincode); default: the gateway chooses")
	cmd.Flags().StringVar(&proofFile, "proof", "", "check this proof bundle offline (from edossierctl proof; - : standard input)")
	cmd.Flags().StringVar(&rootsDir, "roots", "", "with --proof: folder of the channel organisations' MSP root certificates, <MSP ID>.pem")
	return cmd
}

func printVerification(w io.Writer, v *service.Verification, ok bool) {
	if ok {
		fmt.Fprintf(w, "VERIFIED  %s\n", v.CID)
	} else {
		fmt.Fprintf(w, "NOT VERIFIED (%s)  %s\n", strings.ReplaceAll(v.Status, "_", " "), v.CID)
	}
	if v.InDossier != nil {
		in := "no"
		if *v.InDossier {
			in = "yes"
		}
		fmt.Fprintf(w, "  in the named subject's dossier: %s\n", in)
	}
	switch {
	case v.Source == "index" && v.FreshToBlock != nil:
		fmt.Fprintf(w, "  answered from the gateway's index, complete up to block %d of municipal\n", *v.FreshToBlock)
	case v.Source == "ledger":
		fmt.Fprintln(w, "  answered by the dossier chaincode")
	}
	if !v.BatchRecordsSearched {
		fmt.Fprintln(w, "  records of anchored batches not searched (the gateway has no index that answers)")
	}
	if v.CheckReceipt != nil {
		fmt.Fprintf(w, "  check logged in the subject's access log: %s\n", receiptText(v.CheckReceipt.Channel, v.CheckReceipt.TxID, v.CheckReceipt.Block))
	}
	for _, r := range v.Records {
		fmt.Fprintf(w, "  record %s\n", r.RecordID)
		batch := ""
		if r.Batch != nil {
			batch = fmt.Sprintf("%s, leaf %d, root %s", r.Batch.BatchID, r.Batch.Index, r.Batch.Root)
		}
		fields(w, "    ",
			"batch", batch,
			"status", r.Status,
			"type", withName(r.Type, r.TypeName),
			"issuer", withName(r.Issuer, r.IssuerName),
			"issued", r.IssuedAt,
			"valid until", r.ValidUntil,
			"reason", withName(r.Reason, r.ReasonName),
			"superseded by", r.SupersededBy,
			"receipt", receiptText(r.Receipt.Channel, r.Receipt.TxID, r.Receipt.Block),
			"proof", r.Proof,
		)
	}
}

// withName shows a code with its registered name: "birth-cert (Birth medical certificate)".
func withName(code, name string) string {
	if code == "" || name == "" {
		return code
	}
	return code + " (" + name + ")"
}
