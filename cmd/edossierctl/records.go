package main

// Departments' commands: subjects, records, files read under a grant.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/service"
)

func newResolveCmd() *cobra.Command {
	f := &clientFlags{}
	var kind, idNumber string
	cmd := &cobra.Command{
		Use:   "resolve --kind person|enterprise --id-number N",
		Short: "Departments: the pseudonymous subject ID of a person or enterprise",
		Long: `resolve asks the gateway for the subject ID of an ID number (person) or unified
social credit code (enterprise). The ledger never holds the number, only this ID.
Text output is the subject ID alone, for use in scripts.`,
		Example: `  SUBJECT=$(edossierctl resolve --kind person --id-number 110101202611201235)
  edossierctl resolve --id-number 110101202611201235 -o json`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "kind", "id-number"); err != nil {
				return err
			}
			if kind != "person" && kind != "enterprise" {
				return usagef("--kind must be person or enterprise")
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			id, err := c.Resolve(cmd.Context(), kind, idNumber)
			if err != nil {
				return err
			}
			return f.emit(cmd, map[string]string{"subjectId": id}, func(w io.Writer) { fmt.Fprintln(w, id) })
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	cmd.Flags().StringVar(&kind, "kind", "person", "person or enterprise")
	cmd.Flags().StringVar(&idNumber, "id-number", "", "ID number or credit code (required)")
	return cmd
}

// recordFlags are the metadata flags of append and supersede.
type recordFlags struct {
	subject, recordType, note, mediaType, validUntil, idempotencyKey string
	quiet                                                            bool
}

func (r *recordFlags) add(cmd *cobra.Command, supersede bool) {
	fl := cmd.Flags()
	if supersede {
		fl.StringVar(&r.subject, "subject", "", "subject ID (default: the superseded record's)")
		fl.StringVar(&r.recordType, "type", "", "record type (default: the superseded record's)")
		fl.StringVar(&r.note, "note", "", "free-text note, kept off-chain and encrypted (default: the superseded record's)")
	} else {
		fl.StringVar(&r.subject, "subject", "", "subject ID of the dossier (required; see resolve)")
		fl.StringVar(&r.recordType, "type", "", "record type your department is accredited for (required)")
		fl.StringVar(&r.note, "note", "", "optional free-text note, kept off-chain and encrypted (the ledger gets only its salted hash)")
	}
	fl.StringVar(&r.mediaType, "media-type", "", "media type of the file (default: from the file name's extension, else application/octet-stream)")
	fl.StringVar(&r.validUntil, "valid-until", "", "expiry of the document, RFC 3339 (e.g. 2030-12-31T23:59:59Z)")
	fl.StringVar(&r.idempotencyKey, "idempotency-key", "", "retrying with the same key returns the first record instead of a second one")
	fl.BoolVarP(&r.quiet, "quiet", "q", false, "print only the new record ID")
}

func (r *recordFlags) check() error {
	if r.validUntil != "" {
		v, err := wire.NormalizeTime("valid-until", r.validUntil)
		if err != nil {
			return usagef("--valid-until must be an RFC 3339 time such as 2030-12-31T23:59:59Z")
		}
		r.validUntil = v
	}
	if r.mediaType != "" {
		if err := wire.ValidateMediaType("media-type", r.mediaType); err != nil {
			return usagef("--media-type: %s", wire.AsError(err).Message)
		}
	}
	return nil
}

func (r *recordFlags) meta() client.RecordMeta {
	return client.RecordMeta{SubjectID: r.subject, Type: r.recordType, Note: r.note, MediaType: r.mediaType,
		ValidUntil: r.validUntil, IdempotencyKey: r.idempotencyKey}
}

// filePart opens a file argument for upload.
func filePart(cmd *cobra.Command, path, mediaType string) (client.FilePart, io.Closer, error) {
	body, size, err := readInput(cmd, path)
	if err != nil {
		return client.FilePart{}, nil, err
	}
	if mediaType == "" {
		mediaType = mime.TypeByExtension(filepath.Ext(path))
	}
	return client.FilePart{Body: body, Size: size, Name: filepath.Base(path), MediaType: mediaType}, body, nil
}

// printRecord writes a record's fields, then the extra name/value pairs, aligned.
func printRecord(w io.Writer, r wire.Record, extra ...string) {
	size := ""
	if r.CID != "" {
		size = strconv.FormatInt(r.Size, 10) + " bytes"
	}
	fields(w, "  ", append([]string{
		"subject", r.SubjectID,
		"type", r.Type,
		"status", r.Status,
		"reason", r.Reason,
		"cid", r.CID,
		"size", size,
		"media type", r.MediaType,
		"note cid", r.NoteCID,
		"issuer", r.Issuer,
		"issued", r.IssuedAt,
		"valid until", r.ValidUntil,
		"supersedes", r.Supersedes,
		"superseded by", r.SupersededBy,
		"status changed", r.StatusChangedAt,
		"tx", r.TxID,
	}, extra...)...)
}

func newAppendCmd() *cobra.Command {
	f := &clientFlags{}
	var r recordFlags
	cmd := &cobra.Command{
		Use:   "append --subject ID --type TYPE [--note TEXT] FILE",
		Short: "Departments: append a record with its file to a dossier",
		Long: `append uploads FILE (streamed; "-" reads standard input) with its metadata. The
gateway stores the file encrypted, appends the record on the ledger and answers only
after the transaction committed. With --idempotency-key a retry never makes a second
record. For many records use import. --subject is a subject ID from resolve, never an
ID number. A record has no title (its type names it); --note is optional free text
that the gateway keeps off-chain, encrypted (the ledger gets only its salted hash).`,
		Example: `  edossierctl append --subject "$SUBJECT" --type birth-medical-certificate \
      --note "Li Xiaoming, born 2026-11-20" birth.pdf
  RECORD=$(edossierctl append --subject "$SUBJECT" --type vaccination-record --note "Dose 1" \
      --idempotency-key vacc-2026-0001 dose1.pdf -q)`,
		Args: exactArgs(1, "one FILE"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "subject", "type"); err != nil {
				return err
			}
			if err := r.check(); err != nil {
				return err
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			part, closer, err := filePart(cmd, args[0], r.mediaType)
			if err != nil {
				return err
			}
			defer closer.Close()
			meta := r.meta()
			meta.SubjectID = ""
			res, err := c.AppendRecord(cmd.Context(), r.subject, meta, part)
			if err != nil {
				return err
			}
			if r.quiet && !f.json() {
				fmt.Fprintln(cmd.OutOrStdout(), res.Record.RecordID)
				return nil
			}
			return f.emit(cmd, res, func(w io.Writer) {
				if res.Created {
					fmt.Fprintf(w, "record %s appended\n", res.Record.RecordID)
				} else {
					fmt.Fprintf(w, "record %s already appended with this idempotency key (nothing new written)\n", res.Record.RecordID)
				}
				printRecord(w, res.Record, "receipt", receiptText(res.Receipt.Channel, res.Receipt.TxID, res.Receipt.Block))
			})
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	r.add(cmd, false)
	return cmd
}

func newShowCmd() *cobra.Command {
	f := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "show RECORD_ID",
		Short: "Departments: a record's metadata (yours, or covered by a grant to you); citizens: your own (--key)",
		Example: `  edossierctl show r-4mzq...
  edossierctl show r-4mzq... -o json
  edossierctl show r-4mzq... --key me.key     # your own record (logged in your access log)`,
		Args: exactArgs(1, "one record ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, err := f.readerClient(cmd)
			if err != nil {
				return err
			}
			rec, err := c.GetRecord(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.emit(cmd, rec, func(w io.Writer) {
				fmt.Fprintf(w, "record %s\n", rec.RecordID)
				printRecord(w, rec.Record, "note", rec.Note)
			})
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	f.addCitizen(cmd)
	return cmd
}

func newHistoryCmd() *cobra.Command {
	f := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "history RECORD_ID",
		Short: "Every committed version of a record, newest first (whoever may see the record; citizens: your own, --key)",
		Example: `  edossierctl history r-4mzq...
  edossierctl history r-4mzq... -o json
  edossierctl history r-4mzq... --key me.key`,
		Args: exactArgs(1, "one record ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, err := f.readerClient(cmd)
			if err != nil {
				return err
			}
			h, err := c.RecordHistory(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.emit(cmd, h, func(w io.Writer) {
				t := newTable(w, "TIME", "TX", "STATUS", "REASON", "SUPERSEDED BY")
				for _, v := range h.Versions {
					t.row(v.Timestamp, v.TxID, v.Record.Status, v.Record.Reason, v.Record.SupersededBy)
				}
				t.flush()
			})
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	f.addCitizen(cmd)
	return cmd
}

func newListCmd() *cobra.Command {
	f := &clientFlags{}
	var p pageFlags
	var recordType, actFor string
	cmd := &cobra.Command{
		Use:   "list [SUBJECT_ID] [--type TYPE] [--key KEY --for SUBJECT_ID]",
		Short: "Departments: the records of a dossier that you may see; citizens: your whole dossier (--key)",
		Long: `list shows the records of a subject's dossier that the caller may see: its own
department's, and others' covered by a live grant to it (operators see all). With a
subject key (--key) it lists your own dossier, every record, and each page is logged in
your access log. With --key and --for, a guardian or legal representative lists the
dossier of the subject it acts for under its live delegation: each page is a read
statement signed with your key, and the subject's access log shows it as yours. All
pages are fetched unless --page-size or --bookmark asks for one page.`,
		Example: `  edossierctl list "$SUBJECT"
  edossierctl list --key me.key
  edossierctl list --key parent.key --for "$CHILD"   # a guardian: the child's dossier
  edossierctl list "$SUBJECT" --type vaccination-record -o json
  edossierctl list "$SUBJECT" --page-size 50      # one page; prints the next bookmark`,
		Args: argsRange(0, 1, "one subject ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			if err := p.check(); err != nil {
				return err
			}
			c, err := f.readerClient(cmd)
			if err != nil {
				return err
			}
			subject := c.SubjectID
			if len(args) == 1 {
				subject = args[0]
			}
			var acting *client.ActingFor
			if actFor != "" {
				if f.keyFile == "" || len(args) == 1 {
					return usagef("--for needs --key (your own, the delegate's) and no subject argument")
				}
				a, err := c.FindActingFor(cmd.Context(), actFor)
				if err != nil {
					return err
				}
				acting, subject = &a, actFor
			}
			if subject == "" {
				return usagef("list needs a subject ID (or --key: your own dossier)")
			}
			recs, next, err := collect(cmd.Context(), cmd, &p, func(o client.PageOptions) ([]wire.Record, string, error) {
				if acting != nil {
					page, err := c.DelegateListDossier(cmd.Context(), *acting, recordType, o)
					if err != nil {
						return nil, "", err
					}
					return page.Records, page.Bookmark, nil
				}
				page, err := c.ListDossier(cmd.Context(), subject, recordType, o)
				if err != nil {
					return nil, "", err
				}
				return page.Records, page.Bookmark, nil
			})
			if err != nil {
				return err
			}
			return f.emit(cmd, service.RecordPage{Records: recs, Bookmark: next}, func(w io.Writer) {
				t := newTable(w, "RECORD", "TYPE", "STATUS", "ISSUER", "ISSUED")
				for _, r := range recs {
					t.row(r.RecordID, r.Type, r.Status, r.Issuer, r.IssuedAt)
				}
				t.flush()
				moreHint(cmd, next)
			})
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	f.addCitizen(cmd)
	p.add(cmd)
	cmd.Flags().StringVar(&recordType, "type", "", "only records of this type")
	cmd.Flags().StringVar(&actFor, "for", "", "with --key: the subject you act for as guardian or legal representative")
	return cmd
}

func newRevokeCmd() *cobra.Command {
	f := &clientFlags{}
	var reason string
	cmd := &cobra.Command{
		Use:     "revoke RECORD_ID --reason CODE",
		Short:   "Departments: withdraw one of your records (it stays on the ledger, marked revoked)",
		Example: `  edossierctl revoke r-4mzq... --reason issued-in-error`,
		Args:    exactArgs(1, "one record ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "reason"); err != nil {
				return err
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.RevokeRecord(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) {
				fmt.Fprintf(w, "record %s revoked\n", res.Record.RecordID)
				printRecord(w, res.Record, "receipt", receiptText(res.Receipt.Channel, res.Receipt.TxID, res.Receipt.Block))
			})
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why: a registered reason code (required; verifiers see it; see admin reasons list)")
	return cmd
}

func newSupersedeCmd() *cobra.Command {
	f := &clientFlags{}
	var r recordFlags
	cmd := &cobra.Command{
		Use:   "supersede RECORD_ID [--type TYPE] [--note TEXT] FILE",
		Short: "Departments: replace one of your records by a corrected one (new file)",
		Long: `supersede appends a new record with FILE and marks RECORD_ID superseded by it, in one
transaction. Subject, type and note default to the superseded record's.`,
		Example: `  edossierctl supersede r-4mzq... --note "corrected the date of birth" birth-v2.pdf
  NEW=$(edossierctl supersede r-4mzq... birth-v2.pdf -q)`,
		Args: exactArgs(2, "a record ID and a FILE"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			if err := r.check(); err != nil {
				return err
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			if r.subject == "" || r.recordType == "" || r.note == "" {
				old, err := c.GetRecord(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				r.subject = or(r.subject, old.SubjectID)
				r.recordType = or(r.recordType, old.Type)
				r.note = or(r.note, old.Note)
			}
			part, closer, err := filePart(cmd, args[1], r.mediaType)
			if err != nil {
				return err
			}
			defer closer.Close()
			res, err := c.SupersedeRecord(cmd.Context(), args[0], r.meta(), part)
			if err != nil {
				return err
			}
			if r.quiet && !f.json() {
				fmt.Fprintln(cmd.OutOrStdout(), res.Record.RecordID)
				return nil
			}
			return f.emit(cmd, res, func(w io.Writer) {
				fmt.Fprintf(w, "record %s superseded by %s\n", res.Superseded.RecordID, res.Record.RecordID)
				printRecord(w, res.Record, "receipt", receiptText(res.Receipt.Channel, res.Receipt.TxID, res.Receipt.Block))
			})
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	r.add(cmd, true)
	return cmd
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type readResult struct {
	RecordID    string `json:"recordId"`
	File        string `json:"file"`
	Bytes       int64  `json:"bytes"`
	CID         string `json:"cid"`
	MediaType   string `json:"mediaType"`
	AccessTxID  string `json:"accessTxId"`
	AccessBlock uint64 `json:"accessBlock"`
}

// cidWriter hashes what passes through it.
type cidWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *cidWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// check compares what was written with the announced size and content ID.
func (c *cidWriter) check(content *client.Content) error {
	if content.Size >= 0 && c.n != content.Size {
		return fmt.Errorf("transfer broken: got %d of %d bytes", c.n, content.Size)
	}
	if content.CID != "" {
		if got := wire.CIDFromSHA256(c.h.Sum(nil)).String(); got != content.CID {
			return fmt.Errorf("the file received hashes to %s, the record says %s", got, content.CID)
		}
	}
	return nil
}

func newReadCmd() *cobra.Command {
	f := &clientFlags{}
	var grantID, purpose, out, actFor string
	cmd := &cobra.Command{
		Use:   "read RECORD_ID --grant GRANT_ID --purpose CODE [--out FILE|-]",
		Short: "Departments: read another department's file under a citizen's grant (logged on the ledger)",
		Long: `read fetches a record's file under a grant. The gateway first commits the access
(who, record, grant, purpose) to the subject's access log; the chaincode refuses it
unless the grant is live, names your organisation and covers the record. On a refusal
nothing is written and the exit code is 1. The file is checked against the record's
content ID; with --out FILE it is written to a temporary file and renamed into place
only when complete and correct. --out - (the default) writes to standard output.
Citizens read their own files with --key and no grant; a guardian or legal
representative adds --for SUBJECT_ID: the read is signed with your key and logged in
that subject's access log as yours.`,
		Example: `  edossierctl read r-4mzq... --grant g-7f3k... --purpose social-insurance-enrolment --out birth.pdf
  edossierctl read r-4mzq... --grant g-7f3k... --purpose identity-verification | sha256sum
  edossierctl read r-4mzq... --key me.key --out mine.pdf     # citizens: your own file
  edossierctl read r-4mzq... --key parent.key --for "$CHILD" --out child.pdf   # a guardian`,
		Args: exactArgs(1, "one record ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			required := []string{"grant", "purpose", "out"}
			if f.keyFile != "" && grantID == "" && purpose == "" { // the subject reads its own file: no grant
				required = []string{"out"}
			}
			if err := requireFlags(cmd, required...); err != nil {
				return err
			}
			if out == "-" && f.json() {
				return usagef("--output json prints a summary and needs --out FILE")
			}
			c, err := f.readerClient(cmd)
			if err != nil {
				return err
			}
			var content *client.Content
			if actFor != "" {
				if f.keyFile == "" || grantID != "" || purpose != "" {
					return usagef("--for needs --key (the delegate's) and no --grant or --purpose")
				}
				a, err := c.FindActingFor(cmd.Context(), actFor)
				if err != nil {
					return err
				}
				content, err = c.DelegateReadContent(cmd.Context(), a, args[0])
				if err != nil {
					return err
				}
			} else if content, err = c.ReadContent(cmd.Context(), args[0], grantID, purpose); err != nil {
				return err
			}
			defer content.Body.Close()
			res := readResult{RecordID: args[0], File: out, CID: content.CID, MediaType: content.MediaType,
				AccessTxID: content.AccessTxID, AccessBlock: content.AccessBlock}
			if out == "-" {
				cw := &cidWriter{w: cmd.OutOrStdout(), h: sha256.New()}
				if _, err := io.Copy(cw, content.Body); err != nil {
					return fmt.Errorf("transfer broken after %d bytes: %w", cw.n, err)
				}
				if err := cw.check(content); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "read %d bytes of %s (cid %s); access logged in datashare tx %s block %d\n",
					cw.n, args[0], content.CID, content.AccessTxID, content.AccessBlock)
				return nil
			}
			n, err := saveVerified(out, content)
			if err != nil {
				return err
			}
			res.Bytes = n
			if f.json() {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d bytes of %s to %s (cid %s)\naccess logged in datashare tx %s block %d\n",
				n, args[0], out, content.CID, content.AccessTxID, content.AccessBlock)
			return nil
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	f.addCitizen(cmd)
	cmd.Flags().StringVar(&grantID, "grant", "", "grant ID the citizen gave your department (required)")
	cmd.Flags().StringVar(&purpose, "purpose", "", "why you read it: a registered purpose code (required; recorded in the access log)")
	cmd.Flags().StringVar(&out, "out", "-", "file to write, or - for standard output")
	cmd.Flags().StringVar(&actFor, "for", "", "with --key: the subject you act for as guardian or legal representative")
	return cmd
}

// saveVerified streams content into a temporary file next to path, checks size and
// content ID, syncs it and renames it to path. On failure nothing is left behind.
func saveVerified(path string, content *client.Content) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return 0, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	cw := &cidWriter{w: tmp, h: sha256.New()}
	if _, err := io.Copy(cw, content.Body); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return 0, err
		}
		return 0, fmt.Errorf("transfer broken after %d bytes: %w", cw.n, err)
	}
	if err := cw.check(content); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		done = true
		return 0, err
	}
	done = true
	return cw.n, nil
}
