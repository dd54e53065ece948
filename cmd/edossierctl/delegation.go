package main

// Delegation: guardians of minors and legal representatives of enterprises sign for
// them with their own keys, once an authority attested the relation.

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/service"
)

func newDelegationCmd() *cobra.Command {
	return groupCmd("delegation", "Guardians and legal representatives: act for a minor or an enterprise with your own key",
		`  edossierctl delegation request --key parent.key --for p-baby... --relation guardian --until 2044-11-20 --out guardian.json
  edossierctl delegation submit --api-key-file police-clerk.key --request guardian.json   # the authority's counter
  edossierctl grant --key parent.key --subject p-baby... --grantee SocialSecurityMSP ...  # then sign for the baby
  edossierctl delegation list --key parent.key p-baby...
  edossierctl delegation revoke --key parent.key p-baby... <delegationId>`,
		newDelegationRequestCmd(), newDelegationSubmitCmd(), newDelegationListCmd(), newDelegationRevokeCmd())
}

func newDelegationRequestCmd() *cobra.Command {
	f := &clientFlags{}
	var forSubject, relation, until, out string
	cmd := &cobra.Command{
		Use:   "request --key FILE --for SUBJECT_ID --relation guardian|legal-representative --until DATE [--out FILE]",
		Short: "Delegates: sign the statement that you act for a subject, for the authority's counter",
		Long: `request signs, with your key, that you act for --for (a minor, or an enterprise) as
--relation until --until (a date, YYYY-MM-DD, or an RFC 3339 time: e.g. the minor's 18th
birthday). The identity authority (guardians) or the representative authority (legal
representatives) checks the relation and submits it. The statement is valid for one
hour and can be used once; the relation ends by itself at --until.`,
		Example: `  edossierctl delegation request --key parent.key --for p-baby... --until 2044-11-20 --out guardian.json
  edossierctl delegation request --key rep.key --for e-firm... --relation legal-representative --until 2027-12-31`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "for", "relation", "until"); err != nil {
				return err
			}
			end, err := parseUntil(until)
			if err != nil {
				return usagef("--until: %v", err)
			}
			c, err := f.citizenClient(cmd)
			if err != nil {
				return err
			}
			req, err := c.NewDelegationRequest(forSubject, relation, end)
			if err != nil {
				if we := wire.AsError(err); we.Code == wire.CodeInvalid {
					return usagef("%s", we.Message)
				}
				return err
			}
			b, err := json.MarshalIndent(req, "", "  ")
			if err != nil {
				return err
			}
			if out != "" {
				if err := writeNewFile(out, append(b, '\n'), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote the %s request for %s to %s\n", relation, forSubject, out)
				return nil
			}
			_, err = cmd.OutOrStdout().Write(append(b, '\n'))
			return err
		}),
	}
	f.addOutput(cmd)
	f.addCitizen(cmd)
	cmd.Flags().StringVar(&forSubject, "for", "", "subject ID of the minor or enterprise (required)")
	cmd.Flags().StringVar(&relation, "relation", wire.RelationGuardian, "guardian or legal-representative")
	cmd.Flags().StringVar(&until, "until", "", "end of the relation: YYYY-MM-DD or RFC 3339 (required)")
	cmd.Flags().StringVar(&out, "out", "", "write the request to this file (never overwritten)")
	return cmd
}

// parseUntil reads a date (midnight UTC) or an RFC 3339 time.
func parseUntil(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func printDelegation(w io.Writer, what string, res *service.DelegationResult) {
	d := res.Delegation
	fmt.Fprintf(w, "delegation %s %s\n", d.DelegationID, what)
	fields(w, "  ", "subject", d.SubjectID, "delegate", d.DelegateID, "relation", d.Relation, "until", d.EndsAt,
		"attested by", d.AttestedBy, "status", d.Status, "revoked by", d.RevokedBy,
		"receipt", receiptText(res.Receipt.Channel, res.Receipt.TxID, res.Receipt.Block))
}

func newDelegationSubmitCmd() *cobra.Command {
	f := &clientFlags{}
	var in string
	cmd := &cobra.Command{
		Use:     "submit --request FILE",
		Short:   "Authorities: submit a delegate's request after checking the relation",
		Example: `  edossierctl delegation submit --api-key-file police-clerk.key --request guardian.json`,
		Args:    noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			var req client.DelegationRequest
			if err := readRequest(cmd, in, "delegation request", &req, func() bool { return req.Document != "" }); err != nil {
				return err
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.SubmitDelegation(cmd.Context(), &req)
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) { printDelegation(w, "bound", res) })
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	cmd.Flags().StringVar(&in, "request", "", `request file ("-" reads standard input; required)`)
	return cmd
}

func newDelegationListCmd() *cobra.Command {
	f := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "list [SUBJECT_ID]",
		Short: "A subject's delegations (the subject, a delegate, or an operator)",
		Example: `  edossierctl delegation list --key parent.key p-baby...
  edossierctl delegation list --api-key-file operator.key p-baby...`,
		Args: argsRange(0, 1, "at most one subject ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, subject, err := f.subjectReader(cmd, args)
			if err != nil {
				return err
			}
			ds, err := c.Delegations(cmd.Context(), subject)
			if err != nil {
				return err
			}
			return f.emit(cmd, ds, func(w io.Writer) {
				t := newTable(w, "DELEGATION", "RELATION", "DELEGATE", "UNTIL", "STATUS", "ATTESTED BY")
				for _, d := range ds {
					t.row(d.DelegationID, d.Relation, d.DelegateID, d.EndsAt, d.Status, d.AttestedBy)
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

func newDelegationRevokeCmd() *cobra.Command {
	f := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "revoke SUBJECT_ID DELEGATION_ID",
		Short: "End a delegation: the subject or the delegate (--key), or the attesting authority (API key)",
		Example: `  edossierctl delegation revoke --key parent.key p-baby... 5c1e...
  edossierctl delegation revoke --api-key-file police-clerk.key p-baby... 5c1e...`,
		Args: exactArgs(2, "a subject ID and a delegation ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			var c *client.Client
			var err error
			if f.keyFile != "" {
				c, err = f.citizenClient(cmd)
			} else {
				c, err = f.staffClient(cmd)
			}
			if err != nil {
				return err
			}
			res, err := c.RevokeDelegation(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) { printDelegation(w, "revoked", res) })
		}),
	}
	f.addGateway(cmd)
	f.addCitizen(cmd)
	f.addAPIKey(cmd)
	return cmd
}
