package main

// Consent requests: a department asks, the citizen (or a delegate) approves by signing
// exactly the requested grant, or declines.

import (
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/client"
)

func newConsentCmd() *cobra.Command {
	return groupCmd("consent", "Consent requests: departments ask, citizens approve or decline",
		`  edossierctl consent ask --api-key-file social.key --subject p-... --types birth-medical-certificate \
      --purpose social-insurance-enrolment --days 30 --reference app-2026-0042
  edossierctl consent list --key me.key
  edossierctl consent approve --key me.key <requestId>
  edossierctl consent decline --key me.key <requestId>
  edossierctl consent status --api-key-file social.key <requestId>
  edossierctl consent sent --api-key-file social.key --status pending`,
		newConsentAskCmd(), newConsentListCmd(), newConsentDecideCmd(true), newConsentDecideCmd(false), newConsentStatusCmd(), newConsentSentCmd())
}

func newConsentSentCmd() *cobra.Command {
	f := &clientFlags{}
	var p pageFlags
	var status string
	cmd := &cobra.Command{
		Use:   "sent [--status pending|approved|declined|expired]",
		Short: "Departments: the consent requests your department sent, to every subject, newest first",
		Long: `sent lists the consent requests your department made, across subjects, newest first,
with their outcome. The ledger picks them by your department's own identity: no
department sees another's. --status keeps one status (expired: pending past its end).
All pages are fetched unless --page-size or --bookmark asks for one page.`,
		Example: `  edossierctl consent sent --api-key-file social.key
  edossierctl consent sent --api-key-file social.key --status pending -o json`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := p.check(); err != nil {
				return err
			}
			if err := wire.CheckRequestStatus(status); err != nil {
				return usagef("--status: %s", wire.AsError(err).Message)
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			rs, next, err := collect(cmd.Context(), cmd, &p, func(o client.PageOptions) ([]wire.ConsentRequest, string, error) {
				page, err := c.MyConsentRequests(cmd.Context(), status, o)
				if err != nil {
					return nil, "", err
				}
				return page.Requests, page.Bookmark, nil
			})
			if err != nil {
				return err
			}
			now := time.Now()
			return f.emit(cmd, wire.ConsentRequestPage{Requests: rs, Bookmark: next}, func(w io.Writer) {
				t := newTable(w, "REQUEST", "STATUS", "SUBJECT", "SCOPE", "REFERENCE", "CREATED", "OPEN UNTIL")
				for i := range rs {
					r := &rs[i]
					t.row(r.RequestID, r.StatusAt(now), r.SubjectID, grantScopeText(r.Grant), r.Reference, r.CreatedAt, r.ExpiresAt)
				}
				t.flush()
				moreHint(cmd, next)
			})
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	p.add(cmd)
	cmd.Flags().StringVar(&status, "status", "", "only requests with this status: pending, approved, declined or expired")
	return cmd
}

func printRequest(w io.Writer, r *wire.ConsentRequest) {
	fmt.Fprintf(w, "consent request %s: %s\n", r.RequestID, r.Status)
	fields(w, "  ", "subject", r.SubjectID, "requester", r.Requester, "reference", r.Reference,
		"grant", r.Grant.GrantID, "grantees", granteesText(r.Grant), "scope", grantScopeText(r.Grant), "purpose", r.Grant.Purpose,
		"valid", r.Grant.ValidFrom+" .. "+r.Grant.ExpiresAt, "request expires", r.ExpiresAt, "decided by", r.DecidedBy)
}

func newConsentAskCmd() *cobra.Command {
	f := &clientFlags{}
	var subject, purpose, reference, matter string
	var types, records []string
	var days, open int
	cmd := &cobra.Command{
		Use:   "ask --subject ID ((--types T,.. | --records ID,..) --purpose CODE | --matter CODE[@V]) --reference CODE [--days N] [--open DAYS]",
		Short: "Departments: ask a citizen for access (the citizen approves by signing exactly this grant)",
		Example: `  edossierctl consent ask --api-key-file social.key --subject p-... --types birth-medical-certificate --purpose social-insurance-enrolment --reference app-42
  edossierctl consent ask --api-key-file civil.key --subject p-baby... --matter newborn --reference nb-2026-001`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "subject", "reference"); err != nil {
				return err
			}
			types, records := splitList(types), splitList(records)
			var mref *wire.MatterRef
			if matter != "" {
				if purpose != "" || len(types)+len(records) > 0 {
					return usagef("--matter asks for the matter's parts: no --types, --records or --purpose")
				}
				code, v, err := parseMatterFlag(matter)
				if err != nil {
					return err
				}
				mref = &wire.MatterRef{Code: code, Version: v}
			} else {
				if err := requireFlags(cmd, "purpose"); err != nil {
					return err
				}
				if len(types)+len(records) == 0 {
					return usagef("consent ask needs a scope: --types and/or --records, or --matter")
				}
			}
			if days < 1 || days > 3650 || open < 1 || open > 30 {
				return usagef("--days must be within 1..3650 and --open within 1..30")
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			now := time.Now().UTC().Truncate(time.Second)
			in := wire.ConsentRequestInput{
				Grant: wire.Grant{Kind: wire.GrantKind, GrantID: newGrantID(), SubjectID: subject,
					Scope: wire.GrantScope{RecordTypes: types, RecordIDs: records}, Purpose: purpose, Matter: mref,
					ValidFrom: wire.FormatTime(now), ExpiresAt: wire.FormatTime(now.Add(time.Duration(days) * 24 * time.Hour))},
				Reference: reference, ExpiresAt: wire.FormatTime(now.Add(time.Duration(open) * 24 * time.Hour)),
			}
			res, err := c.RequestConsent(cmd.Context(), subject, in)
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) { printRequest(w, &res.Request) })
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	fl := cmd.Flags()
	fl.StringVar(&subject, "subject", "", "the citizen's subject ID (required)")
	fl.StringSliceVar(&types, "types", nil, "record types asked for")
	fl.StringSliceVar(&records, "records", nil, "record IDs asked for")
	fl.StringVar(&purpose, "purpose", "", "purpose code (required without --matter)")
	fl.StringVar(&matter, "matter", "", `ask for every part of this "one thing" matter (CODE: its current version, or CODE@VERSION); the gateway fills in the parts`)
	fl.StringVar(&reference, "reference", "", "your application's reference, a code (required)")
	fl.IntVar(&days, "days", 30, "how long the grant would last")
	fl.IntVar(&open, "open", 7, "days the request stays open")
	return cmd
}

func newConsentListCmd() *cobra.Command {
	f := &clientFlags{}
	cmd := &cobra.Command{
		Use:     "list [SUBJECT_ID]",
		Short:   "Citizens: the consent requests departments sent you",
		Example: `  edossierctl consent list --key me.key`,
		Args:    argsRange(0, 1, "at most one subject ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, subject, err := f.subjectReader(cmd, args)
			if err != nil {
				return err
			}
			rs, err := c.ConsentRequests(cmd.Context(), subject)
			if err != nil {
				return err
			}
			return f.emit(cmd, rs, func(w io.Writer) {
				t := newTable(w, "REQUEST", "STATUS", "REQUESTER", "SCOPE", "PURPOSE", "REFERENCE", "OPEN UNTIL")
				for _, r := range rs {
					t.row(r.RequestID, r.Status, r.Requester, grantScopeText(r.Grant), r.Grant.Purpose, r.Reference, r.ExpiresAt)
				}
				t.flush()
			})
		}),
	}
	f.addGateway(cmd)
	f.addCitizen(cmd)
	f.addAPIKey(cmd)
	return cmd
}

// findRequest finds requestID among the subject's requests.
func findRequest(cmd *cobra.Command, c *client.Client, subject, requestID string) (*wire.ConsentRequest, error) {
	rs, err := c.ConsentRequests(cmd.Context(), subject)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		if rs[i].RequestID == requestID {
			return &rs[i], nil
		}
	}
	return nil, fmt.Errorf("%s has no consent request %s", subject, requestID)
}

func newConsentDecideCmd(approve bool) *cobra.Command {
	f := &clientFlags{}
	var forSubject string
	use, short := "decline", "Citizens: decline a consent request (signed with your key)"
	if approve {
		use, short = "approve", "Citizens: approve a consent request by signing exactly the grant it asks for"
	}
	cmd := &cobra.Command{
		Use:     use + " --key FILE REQUEST_ID",
		Short:   short,
		Example: fmt.Sprintf("  edossierctl consent %s --key me.key 5c1e...\n  edossierctl consent %s --key parent.key --for p-baby... 5c1e...", use, use),
		Args:    exactArgs(1, "one request ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, err := f.citizenClient(cmd)
			if err != nil {
				return err
			}
			subject := c.SubjectID
			if forSubject != "" {
				subject = forSubject
			}
			r, err := findRequest(cmd, c, subject, args[0])
			if err != nil {
				return err
			}
			if !approve {
				res, err := c.DeclineConsentRequest(cmd.Context(), r)
				if err != nil {
					return err
				}
				return f.emit(cmd, res, func(w io.Writer) { printRequest(w, &res.Request) })
			}
			if doc, err := base64.StdEncoding.DecodeString(r.Document); err == nil && !f.json() {
				fmt.Fprintf(cmd.ErrOrStderr(), "signing exactly this grant:\n%s\n", doc)
			}
			res, err := c.ApproveConsentRequest(cmd.Context(), r)
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) {
				fmt.Fprintf(w, "grant %s created\n", res.Grant.GrantID)
				printGrant(w, res.Grant, "receipt", receiptText(res.Receipt.Channel, res.Receipt.TxID, res.Receipt.Block))
			})
		}),
	}
	f.addGateway(cmd)
	f.addCitizen(cmd)
	cmd.Flags().StringVar(&forSubject, "for", "", "decide for this subject, as its guardian or legal representative")
	return cmd
}

func newConsentStatusCmd() *cobra.Command {
	f := &clientFlags{}
	cmd := &cobra.Command{
		Use:     "status REQUEST_ID",
		Short:   "Departments: the outcome of a consent request you sent",
		Example: `  edossierctl consent status --api-key-file social.key 5c1e...`,
		Args:    exactArgs(1, "one request ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			r, err := c.ConsentRequest(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.emit(cmd, r, func(w io.Writer) { printRequest(w, r) })
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	return cmd
}
