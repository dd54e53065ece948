package main

// Citizens' and enterprises' commands: a subject key, signed grants, the access log.

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/service"
)

// writeNewFile creates path with perm and writes data, refusing to replace anything.
func writeNewFile(path string, data []byte, perm fs.FileMode) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: refusing to overwrite it", path)
		}
		return err
	}
	err = fh.Chmod(perm) // whatever the umask
	if err == nil {
		_, err = fh.Write(data)
	}
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

type keygenResult struct {
	KeyFile      string `json:"keyFile"`
	PublicKeyPEM string `json:"publicKeyPem"`
	KeyID        string `json:"keyId"`
	SubjectID    string `json:"subjectId,omitempty"`
	PublicFile   string `json:"publicKeyFile,omitempty"`
}

func newKeygenCmd() *cobra.Command {
	f := &clientFlags{}
	var out, subject, publicOut string
	cmd := &cobra.Command{
		Use:   "keygen --out FILE [--subject ID]",
		Short: "Citizens: make a subject key (ECDSA P-256) for one device",
		Long: `keygen makes a new ECDSA P-256 key and writes it to --out as PKCS#8 PEM with mode 0600.
It never overwrites an existing file, and prints the public key (PEM). With --subject,
the subject ID is stored in the key file (a "subject-id:" line before the PEM block),
so later commands need only --key.

A new key speaks for nobody yet: make a request with "edossierctl key request" and
take it to the identity authority's counter (first key), or add it with a key you
already have ("edossierctl key add").`,
		Example: `  edossierctl keygen --out ~/.edossier/me.key --subject p-3k2... > me.pub
  edossierctl keygen --out me.key --public-out me.pub
  edossierctl keygen --out me.key -o json`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "out"); err != nil {
				return err
			}
			if subject != "" {
				if err := wire.ValidateID("subject", subject); err != nil {
					return usagef("--subject: %s", wire.AsError(err).Message)
				}
			}
			key, err := client.GenerateSubjectKey()
			if err != nil {
				return err
			}
			pemText, keyID, err := client.PublicKeyPEM(&key.PublicKey)
			if err != nil {
				return err
			}
			data, err := client.EncodeSubjectKey(key, subject)
			if err != nil {
				return err
			}
			if publicOut != "" {
				if _, err := os.Lstat(publicOut); err == nil {
					return fmt.Errorf("%s already exists: refusing to overwrite it", publicOut)
				}
			}
			if err := writeNewFile(out, data, 0o600); err != nil {
				return err
			}
			if publicOut != "" {
				if err := writeNewFile(publicOut, []byte(pemText), 0o644); err != nil {
					return err
				}
			}
			res := keygenResult{KeyFile: out, PublicKeyPEM: pemText, KeyID: keyID, SubjectID: subject, PublicFile: publicOut}
			if !f.json() {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote the private key to %s (mode 0600): keep it secret, it signs your grants.\n", out)
				fmt.Fprintf(cmd.ErrOrStderr(), "public key (key ID %s); bind it with edossierctl key request or key add:\n", keyID)
			}
			return f.emit(cmd, res, func(w io.Writer) { fmt.Fprint(w, pemText) })
		}),
	}
	f.addOutput(cmd)
	cmd.Flags().StringVar(&out, "out", "", "file for the private key (required; created with mode 0600, never overwritten)")
	cmd.Flags().StringVar(&subject, "subject", "", "subject ID to store in the key file")
	cmd.Flags().StringVar(&publicOut, "public-out", "", "also write the public key PEM to this file")
	return cmd
}

var grantIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newGrantID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "g-" + strings.ToLower(grantIDEncoding.EncodeToString(b))
}

func splitList(v []string) []string {
	out := []string{}
	for _, s := range v {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func scopeText(s wire.GrantScope) string {
	var parts []string
	if len(s.RecordTypes) > 0 {
		parts = append(parts, "types "+strings.Join(s.RecordTypes, ","))
	}
	if len(s.RecordIDs) > 0 {
		parts = append(parts, "records "+strings.Join(s.RecordIDs, ","))
	}
	return strings.Join(parts, "; ")
}

func printGrant(w io.Writer, g wire.GrantState, extra ...string) {
	kv := []string{"subject", g.SubjectID}
	if len(g.Grant.Parts) == 0 {
		kv = append(kv, "grantee", g.Grantee, "status", g.Status, "scope", scopeText(g.Grant.Scope), "purpose", g.Grant.Purpose)
	} else {
		kv = append(kv, "matter", matterText(g.Grant.Matter), "status", g.Status)
		for i, p := range g.Grant.Parts {
			kv = append(kv, fmt.Sprintf("part %d", i+1), p.Grantee+": "+scopeText(p.Scope)+"; purpose "+p.Purpose)
		}
	}
	kv = append(kv, "valid", g.Grant.ValidFrom+" until "+g.Grant.ExpiresAt, "signed by", g.SignedBy, "created", g.CreatedAt, "revoked", g.RevokedAt)
	fields(w, "  ", append(kv, extra...)...)
}

// matterText is "code@version", or "" without a matter.
func matterText(m *wire.MatterRef) string {
	if m == nil {
		return ""
	}
	return fmt.Sprintf("%s@%d", m.Code, m.Version)
}

// granteesText names the departments of a grant.
func granteesText(g wire.Grant) string {
	var out []string
	for _, p := range g.AllParts() {
		out = append(out, p.Grantee)
	}
	return strings.Join(out, ",")
}

// grantScopeText is the scope of a single-grantee grant, or the matter / the number
// of parts of a grant with parts.
func grantScopeText(g wire.Grant) string {
	if len(g.Parts) == 0 {
		return scopeText(g.Scope)
	}
	if g.Matter != nil {
		return "matter " + matterText(g.Matter)
	}
	return fmt.Sprintf("%d parts", len(g.Parts))
}

// parseMatterFlag parses CODE or CODE@VERSION.
func parseMatterFlag(v string) (string, int, error) {
	code, ver, found := strings.Cut(v, "@")
	n := 0
	if found {
		var err error
		if n, err = strconv.Atoi(ver); err != nil || n < 1 {
			return "", 0, usagef("--matter %q: the version after @ must be a positive number", v)
		}
	}
	if err := wire.ValidateCode("--matter", code); err != nil {
		return "", 0, usagef("%s", wire.AsError(err).Message)
	}
	return code, n, nil
}

// parsePartFlags parses --part MSPID:TYPE,TYPE:PURPOSE values into parts ordered by
// grantee (as a grant needs them).
func parsePartFlags(vs []string) ([]wire.GrantPart, error) {
	var out []wire.GrantPart
	for _, v := range vs {
		f := strings.Split(v, ":")
		if len(f) != 3 {
			return nil, usagef("--part %q: want MSPID:TYPE[,TYPE..]:PURPOSE", v)
		}
		out = append(out, wire.GrantPart{Grantee: f[0], Scope: wire.GrantScope{RecordTypes: splitList([]string{f[1]})}, Purpose: f[2]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Grantee < out[j].Grantee })
	return out, nil
}

// grantBackdate is how far before now a new grant starts: clocks of the gateway and
// the peers may lag this machine's, and a grant only covers reads after it exists.
const grantBackdate = time.Minute

func newGrantCmd() *cobra.Command {
	f := &clientFlags{}
	var grantee, purpose, id, forSubject, matter string
	var types, records, parts []string
	var days int
	quiet := false
	cmd := &cobra.Command{
		Use:   "grant (--grantee MSPID --types T,.. [--records ID,..] --purpose CODE | --matter CODE[@V] | --part MSPID:T,..:PURPOSE ...) [--days N]",
		Short: "Citizens: give a department access to records of your dossier (signed with your key)",
		Long: `grant builds a grant document (grantee, scope, purpose, validity), signs it with your
subject key and submits it in a signed request. The gateway cannot forge it: the
chaincode checks your signature against the key the operator bound to your subject.
The grant covers records of the listed types and/or the listed record IDs, from one
minute ago (to absorb clock differences) for --days days. Print the grant ID with -q.

One grant can also cover several departments with one signature and one expiry:
--matter CODE (or CODE@VERSION) signs every part of a "one thing" matter as the
registry defines it (see matters CODE: each department reads only its own part);
--part MSPID:TYPES:PURPOSE, repeated, is a free combination of departments.`,
		Example: `  edossierctl grant --key me.key --grantee SocialSecurityMSP \
      --types birth-medical-certificate,household-register \
      --purpose social-insurance-enrolment --days 30
  GRANT=$(edossierctl grant --key me.key --grantee SocialSecurityMSP --records r-abc --purpose identity-verification -q)
  edossierctl grant --key parent.key --for p-baby... --matter newborn --days 30
  edossierctl grant --key me.key --part HealthMSP:vaccination-record:school-enrolment \
      --part SocialSecurityMSP:social-insurance-record:identity-verification`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			types, records := splitList(types), splitList(records)
			single := grantee != "" || purpose != "" || len(types)+len(records) > 0
			if (matter != "" && (single || len(parts) > 0)) || (single && len(parts) > 0) {
				return usagef("give one form: --grantee/--types/--records/--purpose, or --matter, or --part")
			}
			if matter == "" && len(parts) == 0 {
				if err := requireFlags(cmd, "grantee", "purpose"); err != nil {
					return err
				}
				if len(types)+len(records) == 0 {
					return usagef("grant needs a scope: --types and/or --records")
				}
			}
			gparts, err := parsePartFlags(parts)
			if err != nil {
				return err
			}
			var mcode string
			var mver int
			if matter != "" {
				if mcode, mver, err = parseMatterFlag(matter); err != nil {
					return err
				}
			}
			if days < 1 || days > 3650 {
				return usagef("--days must be within 1..3650")
			}
			if id == "" {
				id = newGrantID()
			}
			c, err := f.citizenClient(cmd)
			if err != nil {
				return err
			}
			now := time.Now().UTC().Truncate(time.Second)
			subject := c.SubjectID
			if forSubject != "" {
				subject = forSubject // a guardian or legal representative signing for it
			}
			g := wire.Grant{Kind: wire.GrantKind, GrantID: id, SubjectID: subject, ValidFrom: wire.FormatTime(now.Add(-grantBackdate)),
				ExpiresAt: wire.FormatTime(now.Add(time.Duration(days) * 24 * time.Hour))}
			switch {
			case mcode != "":
				m, err := c.Matter(cmd.Context(), mcode, mver)
				if err != nil {
					return err
				}
				ref := m.Ref()
				g.Matter, g.Parts = &ref, m.GrantParts()
			case len(gparts) > 0:
				g.Parts = gparts
			default:
				g.Grantee, g.Scope, g.Purpose = grantee, wire.GrantScope{RecordTypes: types, RecordIDs: records}, purpose
			}
			if _, err := wire.EncodeGrant(g); err != nil {
				return usagef("%s", wire.AsError(err).Message)
			}
			res, err := c.CreateGrant(cmd.Context(), g)
			if err != nil {
				return err
			}
			if quiet && !f.json() {
				fmt.Fprintln(cmd.OutOrStdout(), res.Grant.GrantID)
				return nil
			}
			return f.emit(cmd, res, func(w io.Writer) {
				fmt.Fprintf(w, "grant %s created\n", res.Grant.GrantID)
				printGrant(w, res.Grant, "receipt", receiptText(res.Receipt.Channel, res.Receipt.TxID, res.Receipt.Block))
			})
		}),
	}
	f.addGateway(cmd)
	f.addCitizen(cmd)
	fl := cmd.Flags()
	fl.StringVar(&grantee, "grantee", "", "MSP ID of the department that may read (required; see admin registry), e.g. SocialSecurityMSP")
	fl.StringSliceVar(&types, "types", nil, "record types covered, comma-separated")
	fl.StringSliceVar(&records, "records", nil, "record IDs covered, comma-separated")
	fl.StringVar(&purpose, "purpose", "", "what the access is for: a registered purpose code (required; see admin purposes list)")
	fl.IntVar(&days, "days", 30, "validity in days")
	fl.StringVar(&id, "id", "", "grant ID (default: a random g-... ID)")
	fl.BoolVarP(&quiet, "quiet", "q", false, "print only the grant ID")
	fl.StringVar(&forSubject, "for", "", "grant for this subject, as its guardian or legal representative (see delegation)")
	fl.StringVar(&matter, "matter", "", `grant every part of this "one thing" matter: CODE (its current version) or CODE@VERSION`)
	fl.StringArrayVar(&parts, "part", nil, "one department's part of a free combination: MSPID:TYPE[,TYPE..]:PURPOSE (repeat per department)")
	return cmd
}

func newRevokeGrantCmd() *cobra.Command {
	f := &clientFlags{}
	var reason, forSubject string
	cmd := &cobra.Command{
		Use:   "revoke-grant GRANT_ID [--reason CODE] [--for SUBJECT_ID]",
		Short: "Citizens: revoke one of your grants (signed with your key)",
		Long: `revoke-grant signs a revocation of the grant with your subject key and submits it.
From its commit on, every read under the grant is refused, in every part of a grant
for several departments. --for revokes for the subject you act for.`,
		Example: `  edossierctl revoke-grant --key me.key g-7f3k... --reason subject-request`,
		Args:    exactArgs(1, "one grant ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, err := f.citizenClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.RevokeGrantFor(cmd.Context(), forSubject, args[0], reason)
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) {
				fmt.Fprintf(w, "grant %s revoked\n", res.Grant.GrantID)
				printGrant(w, res.Grant, "receipt", receiptText(res.Receipt.Channel, res.Receipt.TxID, res.Receipt.Block))
			})
		}),
	}
	f.addGateway(cmd)
	f.addCitizen(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why (optional): a registered reason code, stored in the signed revocation")
	cmd.Flags().StringVar(&forSubject, "for", "", "revoke a grant of this subject, as its guardian or legal representative")
	return cmd
}

// subjectReader is a client for a subject's own grants and access log: the subject's
// key (signed requests) or, without a key, an operator's API key and a subject ID.
//
// With a key and a subject ID argument, the key's subject signs and the argument is the
// subject read: a guardian or legal representative reading the subject it acts for.
func (f *clientFlags) subjectReader(cmd *cobra.Command, args []string) (*client.Client, string, error) {
	target := ""
	if len(args) == 1 {
		target = args[0]
	}
	if f.keyFile != "" {
		c, err := f.citizenClient(cmd)
		if err != nil {
			return nil, "", err
		}
		if target == "" {
			target = c.SubjectID
		}
		return c, target, nil
	}
	if target != "" {
		f.subject = target
	}
	key, err := f.apiKeyValue(cmd)
	if err != nil {
		return nil, "", err
	}
	if key == "" {
		return nil, "", usagef("%s needs the subject key (--key FILE or %s), or an operator's API key and a subject ID", cmd.CommandPath(), envSubjectKey)
	}
	if f.subject == "" {
		return nil, "", usagef("%s with an API key needs the subject ID (argument or --subject)", cmd.CommandPath())
	}
	c, err := f.staffClient(cmd)
	return c, f.subject, err
}

// indexSource is the --source flag of grants and access-log: "index" reads the
// gateway's event-fed index (and says the block it is fresh to), "ledger" or "" the
// chaincode.
type indexSource struct {
	source string
	fresh  *uint64 // of the last page read from the index
}

func (s *indexSource) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.source, "source", "", "index (the gateway's event-fed index, which says the block it is fresh to) or ledger (the chaincode; default)")
}

func (s *indexSource) index() (bool, error) {
	switch s.source {
	case "", "ledger":
		return false, nil
	case "index":
		return true, nil
	}
	return false, usagef("--source must be index or ledger")
}

// note tells, on standard error, where an index answer came from.
func (s *indexSource) note(cmd *cobra.Command) {
	if s.fresh != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "answered from the gateway's index, complete up to block %d of the data-sharing channel\n", *s.fresh)
	}
}

func newGrantsCmd() *cobra.Command {
	src := &indexSource{}
	cmd := subjectList[wire.GrantState]{
		use:   "grants [SUBJECT_ID]",
		short: "Citizens: list your grants (operators: a subject's grants)",
		example: `  edossierctl grants --key me.key
  edossierctl grants --key me.key -o json
  edossierctl grants --api-key-file operator.key p-3k2...   # operator`,
		fetch: func(c *client.Client, cmd *cobra.Command, subject string, o client.PageOptions) ([]wire.GrantState, string, error) {
			fromIndex, err := src.index()
			if err != nil {
				return nil, "", err
			}
			if fromIndex {
				page, err := c.ListGrantsIndexed(cmd.Context(), subject, o)
				if err != nil {
					return nil, "", err
				}
				src.fresh = &page.FreshToBlock
				return page.Grants, page.Bookmark, nil
			}
			page, err := c.ListGrants(cmd.Context(), subject, o)
			if err != nil {
				return nil, "", err
			}
			return page.Grants, page.Bookmark, nil
		},
		asPage: func(g []wire.GrantState, next string) any {
			if src.fresh != nil {
				return service.IndexedGrantPage{Grants: g, Bookmark: next, Source: service.SourceIndex, FreshToBlock: *src.fresh}
			}
			return wire.GrantPage{Grants: g, Bookmark: next}
		},
		after:  src.note,
		header: []string{"GRANT", "STATUS", "GRANTEE", "SCOPE", "PURPOSE", "EXPIRES"},
		row: func(g wire.GrantState) []string {
			return []string{g.GrantID, g.Status, granteesText(g.Grant), grantScopeText(g.Grant), g.Grant.Purpose, g.Grant.ExpiresAt}
		},
	}.command()
	src.add(cmd)
	return cmd
}

func newAccessLogCmd() *cobra.Command {
	byGrant := false
	src := &indexSource{}
	cmd := subjectList[wire.AccessEntry]{
		use:   "access-log [SUBJECT_ID] [--by-grant]",
		short: "Citizens: every read of your files: who, when, under which grant, for what (newest first)",
		example: `  edossierctl access-log --key me.key
  edossierctl access-log --key me.key -o json
  edossierctl access-log --key parent.key p-baby... --by-grant   # reads grouped by grant, with the part used`,
		fetch: func(c *client.Client, cmd *cobra.Command, subject string, o client.PageOptions) ([]wire.AccessEntry, string, error) {
			if byGrant {
				if src.source == "index" {
					return nil, "", usagef("--by-grant is answered from the ledger only (omit --source index)")
				}
				page, err := c.AccessLogByGrant(cmd.Context(), subject, o)
				if err != nil {
					return nil, "", err
				}
				var all []wire.AccessEntry
				for _, g := range page.Groups {
					all = append(all, g.Entries...)
				}
				return all, page.Bookmark, nil
			}
			fromIndex, err := src.index()
			if err != nil {
				return nil, "", err
			}
			if fromIndex {
				page, err := c.AccessLogIndexed(cmd.Context(), subject, o)
				if err != nil {
					return nil, "", err
				}
				src.fresh = &page.FreshToBlock
				return page.Entries, page.Bookmark, nil
			}
			page, err := c.AccessLog(cmd.Context(), subject, o)
			if err != nil {
				return nil, "", err
			}
			return page.Entries, page.Bookmark, nil
		},
		asPage: func(e []wire.AccessEntry, next string) any {
			if byGrant {
				return service.AccessGroups{Groups: service.GroupByGrant(e), Bookmark: next}
			}
			if src.fresh != nil {
				return service.IndexedAccessPage{Entries: e, Bookmark: next, Source: service.SourceIndex, FreshToBlock: *src.fresh}
			}
			return wire.AccessPage{Entries: e, Bookmark: next}
		},
		after:  src.note,
		header: []string{"TIME", "KIND", "ORG", "USER", "RECORD", "TYPE", "GRANT", "PART", "PURPOSE", "DETAIL", "TX"},
		row: func(e wire.AccessEntry) []string {
			part := ""
			if e.Part > 0 {
				part = fmt.Sprint(e.Part)
				if e.Matter != nil {
					part += " (" + matterText(e.Matter) + ")"
				}
			}
			return []string{e.Time, accessKind(e), e.Org, e.User, e.RecordID, e.RecordType, e.GrantID, part, e.Purpose, accessDetail(e), e.TxID}
		},
	}.command()
	cmd.Flags().BoolVar(&byGrant, "by-grant", false, "group the entries by grant (the gateway's groupBy=grant), each with the part of the grant it used")
	src.add(cmd)
	return cmd
}

// accessKind names an access log entry's kind (entries from before kinds are file reads).
func accessKind(e wire.AccessEntry) string {
	if e.Kind == "" {
		return wire.AccessFile
	}
	return e.Kind
}

// accessDetail is what an ownership check, a self access or a metadata read adds to an
// entry.
func accessDetail(e wire.AccessEntry) string {
	switch e.Kind {
	case wire.AccessOwnership:
		return "checker=" + e.Checker + " result=" + e.Result
	case wire.AccessSelf, wire.AccessMetadata:
		return "action=" + e.Action
	case wire.AccessDelegate:
		return "action=" + e.Action + " delegate=" + e.DelegateID + " (" + e.Relation + ", delegation " + e.DelegationID + ")"
	}
	return ""
}
