package main

// Subject keys: a citizen's devices. A first key is bound at the identity authority's
// counter (proof of possession by the device + the authority's attestation); further
// keys are added with an existing key; a lost key is replaced by a time-locked
// recovery that any active key can cancel.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/service"
)

func newKeyCmd() *cobra.Command {
	return groupCmd("key", "Citizens: your device keys (bind at the counter, add, remove, recover)",
		`  edossierctl keygen --out phone.key --subject p-3k2...
  edossierctl key request --key phone.key --out bind.json     # take it to the counter
  edossierctl key submit --request bind.json                  # identity authority clerk
  edossierctl key add --key phone.key --new laptop.key
  edossierctl key list --key phone.key
  edossierctl key events --key phone.key
  edossierctl key remove --key laptop.key <keyId of the phone>
  edossierctl key cancel-recovery --key phone.key <recoveryId>`,
		newKeyRequestCmd(), newKeySubmitCmd(), newKeyAddCmd(), newKeyRemoveCmd(), newKeyListCmd(),
		newKeyEventsCmd(), newKeyCancelRecoveryCmd(), newKeyCompleteRecoveryCmd())
}

func newKeyRequestCmd() *cobra.Command {
	f := &clientFlags{}
	var out string
	var recovery bool
	cmd := &cobra.Command{
		Use:   "request --key FILE [--recovery] [--out FILE]",
		Short: "Citizens: make the signed request that an identity authority submits for your new key",
		Long: `request signs a statement with the new key (proof that you hold it) asking to bind it as
your first key, or with --recovery to replace your lost keys by it. Take the request
(a small JSON file, or its text) to the identity authority's counter: the clerk checks
who you are and submits it ("edossierctl key submit"). A recovery takes effect only
after the network's time lock (72 h by default), and any key you still have can cancel
it meanwhile. The request is valid for one hour and can be used once.`,
		Example: `  edossierctl key request --key phone.key --out bind.json
  edossierctl key request --key new-phone.key --recovery --out recover.json`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			c, err := f.citizenClient(cmd)
			if err != nil {
				return err
			}
			kind := wire.KeyBindKind
			if recovery {
				kind = wire.KeyRecoveryKind
			}
			req, err := c.NewKeyRequest(kind, c.SubjectID, c.SubjectKey)
			if err != nil {
				return err
			}
			if out != "" {
				b, err := json.MarshalIndent(req, "", "  ")
				if err != nil {
					return err
				}
				if err := writeNewFile(out, append(b, '\n'), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote the %s request for key %s to %s\n", kind, req.KeyID, out)
				return nil
			}
			return writeJSON(cmd.OutOrStdout(), req)
		}),
	}
	f.addOutput(cmd)
	f.addCitizen(cmd)
	cmd.Flags().StringVar(&out, "out", "", "write the request to this file (never overwritten) instead of standard output")
	cmd.Flags().BoolVar(&recovery, "recovery", false, "ask to replace lost keys by this one (time-locked) instead of binding a first key")
	return cmd
}

func newKeySubmitCmd() *cobra.Command {
	f := &clientFlags{}
	var in string
	cmd := &cobra.Command{
		Use:   "submit --request FILE",
		Short: "Identity authority: submit a citizen's key request after checking who they are",
		Long: `submit sends a request made by "edossierctl key request" with your API key. The
chaincode accepts it only from an identity-authority organisation (never the platform
operator), only with the new key's signature, and only within an hour of signing.`,
		Example: `  edossierctl key submit --api-key-file police-clerk.key --request bind.json`,
		Args:    noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			var req client.KeyRequest
			if err := readRequest(cmd, in, "key request", &req, func() bool { return req.Document != "" }); err != nil {
				return err
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.SubmitKeyRequest(cmd.Context(), &req)
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) {
				switch v := res.(type) {
				case *service.KeyResult:
					fmt.Fprintf(w, "key %s bound to %s\n", v.Key.KeyID, v.Key.SubjectID)
					fields(w, "  ", "receipt", receiptText(v.Receipt.Channel, v.Receipt.TxID, v.Receipt.Block))
				case *service.RecoveryResult:
					fmt.Fprintf(w, "recovery %s of %s pending until %s (any active key can cancel it)\n", v.Recovery.RecoveryID, v.Recovery.SubjectID, v.Recovery.EffectiveAt)
					fields(w, "  ", "new key", v.Recovery.KeyID, "receipt", receiptText(v.Receipt.Channel, v.Receipt.TxID, v.Receipt.Block))
				}
			})
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	cmd.Flags().StringVar(&in, "request", "", `request file ("-" reads standard input; required)`)
	return cmd
}

func printKey(w io.Writer, what string, res *service.KeyResult) {
	fmt.Fprintf(w, "key %s %s\n", res.Key.KeyID, what)
	fields(w, "  ", "subject", res.Key.SubjectID, "status", res.Key.Status, "added by", res.Key.AddedBy,
		"removed by", res.Key.RemovedBy, "receipt", receiptText(res.Receipt.Channel, res.Receipt.TxID, res.Receipt.Block))
}

func newKeyAddCmd() *cobra.Command {
	f := &clientFlags{}
	var newFile string
	cmd := &cobra.Command{
		Use:   "add --key FILE --new FILE",
		Short: "Citizens: add another device's key, signed with a key you have",
		Example: `  edossierctl keygen --out laptop.key --subject p-3k2...
  edossierctl key add --key phone.key --new laptop.key`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "new"); err != nil {
				return err
			}
			c, err := f.citizenClient(cmd)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(newFile)
			if err != nil {
				return fmt.Errorf("reading the new key: %w", err)
			}
			nk, _, err := client.ParseSubjectKey(b)
			if err != nil {
				return fmt.Errorf("%s: %w", newFile, err)
			}
			res, err := c.AddSubjectKey(cmd.Context(), nk)
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) { printKey(w, "added", res) })
		}),
	}
	f.addGateway(cmd)
	f.addCitizen(cmd)
	cmd.Flags().StringVar(&newFile, "new", "", "key file of the new device, made by keygen (required)")
	return cmd
}

func newKeyRemoveCmd() *cobra.Command {
	f := &clientFlags{}
	cmd := &cobra.Command{
		Use:     "remove --key FILE KEY_ID",
		Short:   "Citizens: retire one of your keys (a lost or replaced device), signed with a key you have",
		Long:    `remove retires the key: from its commit on it signs no grant and no key change, and within 30 s the gateway stops accepting its request signatures. Your last active key cannot be removed.`,
		Example: `  edossierctl key remove --key laptop.key 3f9a...`,
		Args:    exactArgs(1, "one key ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			if err := wire.ValidateKeyID("KEY_ID", args[0]); err != nil {
				return usagef("%s", wire.AsError(err).Message)
			}
			c, err := f.citizenClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.RemoveSubjectKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) { printKey(w, "removed", res) })
		}),
	}
	f.addGateway(cmd)
	f.addCitizen(cmd)
	return cmd
}

func newKeyListCmd() *cobra.Command {
	f := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "list [SUBJECT_ID]",
		Short: "Citizens: list your keys and recoveries (operators: a subject's)",
		Example: `  edossierctl key list --key phone.key
  edossierctl key list --api-key-file operator.key p-3k2...`,
		Args: argsRange(0, 1, "at most one subject ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, subject, err := f.subjectReader(cmd, args)
			if err != nil {
				return err
			}
			keys, err := c.SubjectKeys(cmd.Context(), subject)
			if err != nil {
				return err
			}
			return f.emit(cmd, keys, func(w io.Writer) {
				t := newTable(w, "KEY", "STATUS", "ADDED", "ADDED BY", "REMOVED")
				for _, k := range keys.Keys {
					t.row(k.KeyID, k.Status, k.AddedAt, k.AddedBy, k.RemovedAt)
				}
				t.flush()
				for _, r := range keys.Recoveries {
					fmt.Fprintf(w, "recovery %s: %s, key %s, attested by %s, effective at %s\n", r.RecoveryID, r.Status, r.KeyID, r.AttestedBy, r.EffectiveAt)
					if r.Status == wire.RecoveryPending {
						fmt.Fprintf(w, "  not you? cancel it: edossierctl key cancel-recovery --key <your key> %s\n", r.RecoveryID)
					}
				}
			})
		}),
	}
	f.addGateway(cmd)
	f.addCitizen(cmd)
	f.addAPIKey(cmd)
	return cmd
}

func newKeyEventsCmd() *cobra.Command {
	return subjectList[wire.KeyEvent]{
		use:   "events [SUBJECT_ID]",
		short: "Citizens: your key log, oldest first (operators: a subject's)",
		example: `  edossierctl key events --key phone.key
  edossierctl key events --key phone.key -o json`,
		fetch: func(c *client.Client, cmd *cobra.Command, subject string, o client.PageOptions) ([]wire.KeyEvent, string, error) {
			page, err := c.KeyEvents(cmd.Context(), subject, o)
			if err != nil {
				return nil, "", err
			}
			return page.Events, page.Bookmark, nil
		},
		asPage: func(e []wire.KeyEvent, next string) any { return wire.KeyEventPage{Events: e, Bookmark: next} },
		header: []string{"TIME", "EVENT", "KEY", "BY", "ORG", "RECOVERY"},
		row:    func(e wire.KeyEvent) []string { return []string{e.Time, e.Type, e.KeyID, e.By, e.Org, e.RecoveryID} },
	}.command()
}

func printRecovery(w io.Writer, what string, res *service.RecoveryResult) {
	fmt.Fprintf(w, "recovery %s %s\n", res.Recovery.RecoveryID, what)
	fields(w, "  ", "subject", res.Recovery.SubjectID, "status", res.Recovery.Status, "key", res.Recovery.KeyID,
		"receipt", receiptText(res.Receipt.Channel, res.Receipt.TxID, res.Receipt.Block))
}

func newKeyCancelRecoveryCmd() *cobra.Command {
	f := &clientFlags{}
	cmd := &cobra.Command{
		Use:     "cancel-recovery --key FILE RECOVERY_ID",
		Short:   "Citizens: cancel a key recovery you did not ask for, signed with a key you have",
		Example: `  edossierctl key cancel-recovery --key phone.key 8c1e...`,
		Args:    exactArgs(1, "one recovery ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, err := f.citizenClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.CancelKeyRecovery(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) { printRecovery(w, "cancelled", res) })
		}),
	}
	f.addGateway(cmd)
	f.addCitizen(cmd)
	return cmd
}

func newKeyCompleteRecoveryCmd() *cobra.Command {
	f := &clientFlags{}
	var subject string
	cmd := &cobra.Command{
		Use:     "complete-recovery --subject ID RECOVERY_ID",
		Short:   "Citizens: make your recovery effective once its time lock has passed",
		Example: `  edossierctl key complete-recovery --subject p-3k2... 8c1e...`,
		Args:    exactArgs(1, "one recovery ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd, "subject"); err != nil {
				return err
			}
			res, err := f.newClient().CompleteKeyRecovery(cmd.Context(), subject, args[0])
			if err != nil {
				return err
			}
			return f.emit(cmd, res, func(w io.Writer) { printKey(w, "is now your active key", res) })
		}),
	}
	f.addGateway(cmd)
	cmd.Flags().StringVar(&subject, "subject", "", "subject ID (required)")
	return cmd
}

// readRequest reads the JSON request file a citizen's or delegate's device made (made
// by "edossierctl <what>"), for an authority's submit command.
func readRequest(cmd *cobra.Command, path, what string, v any, complete func() bool) error {
	if err := requireFlags(cmd, "request"); err != nil {
		return err
	}
	r, _, err := readInput(cmd, path)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	r.Close()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil || !complete() {
		return fmt.Errorf("%s is not a request made by edossierctl %s", path, what)
	}
	return nil
}
