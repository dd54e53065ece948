package main

// Operators' commands: the issuer registry, subject keys, department users.

import (
	"fmt"
	"github.com/edossier-city/edossier/chaincode/wire"
	"io"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/service"
)

func newAdminCmd() *cobra.Command {
	f := &clientFlags{}
	cmd := groupCmd("admin", "Operators: departments, record types, accreditations, purposes, reasons, users, API keys",
		`  edossierctl admin registry
  edossierctl admin department add --msp TaxBureauMSP --name "Tax Bureau" --code tax
  edossierctl admin record-type add --code tax-certificate --name "Tax certificate"
  edossierctl admin accredit --msp TaxBureauMSP --type tax-certificate
  edossierctl admin purposes define --code school-enrolment --name "School enrolment"
  edossierctl admin reasons define --code issued-in-error --name "Issued in error"
  edossierctl admin user add --org health --user clerk2 > clerk2.key
  edossierctl admin verifier add --name city-bank > city-bank.key
  edossierctl admin api-key list
  edossierctl admin api-key revoke k4m2q`,
		newRegistryCmd(f),
		groupCmd("department", "Register or deactivate a department", "",
			newDepartmentAddCmd(f), newDepartmentDeactivateCmd(f)),
		groupCmd("record-type", "Define a record type", "", newRecordTypeAddCmd(f)),
		groupCmd("matters", `Define "one thing" matters: which departments read which records, for what`, "",
			newMatterDefineCmd(f)),
		groupCmd("purposes", "Define or list the purpose codes grants and reads may state", "",
			newCodeDefineCmd(f, "purpose"), newCodeListCmd(f, "purpose")),
		groupCmd("reasons", "Define or list the reason codes for revoking records and grants", "",
			newCodeDefineCmd(f, "reason"), newCodeListCmd(f, "reason")),
		newAccreditCmd(f, true), newAccreditCmd(f, false),
		groupCmd("user", "Create department and operator users (API keys)", "", newUserAddCmd(f)),
		groupCmd("verifier", "Issue API keys for verifier organisations (banks, schools)", "", newVerifierAddCmd(f)),
		groupCmd("api-key", "List and revoke API keys (operator: all; department: its own organisation's)", "",
			newAPIKeyListCmd(f), newAPIKeyRevokeCmd(f)),
	)
	cmd.Long = `admin administers the platform through the gateway. Every change is a ledger
transaction made with the operator organisation's identity; the API key must be an
operator's (the registry is readable with a department's key too).`
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	return cmd
}

func newRegistryCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "registry",
		Short: "List departments, record types, accreditations, purposes and reasons",
		Example: `  edossierctl admin registry --api-key-file operator.key
  edossierctl admin registry -o json | jq -r '.accreditations[] | select(.active) | "\(.mspId) \(.recordType)"'`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			reg, err := f.registry(cmd)
			if err != nil {
				return err
			}
			return f.emit(cmd, reg, func(w io.Writer) { printRegistry(w, reg) })
		}),
	}
}

// registry reads the registry through the gateway (staff API key).
func (f *clientFlags) registry(cmd *cobra.Command) (*service.Registry, error) {
	c, err := f.staffClient(cmd)
	if err != nil {
		return nil, err
	}
	return c.Registry(cmd.Context())
}

func printRegistry(w io.Writer, reg *service.Registry) {
	fmt.Fprintln(w, "Departments")
	t := newTable(w, "  MSP", "CODE", "ACTIVE", "NAME")
	for _, d := range reg.Departments {
		t.row("  "+d.MSPID, d.Code, yesNo(d.Active), d.Name)
	}
	t.flush()
	fmt.Fprintln(w, "\nRecord types")
	printCodes(w, "  ", codesOf(reg.RecordTypes, func(r wire.RecordType) [2]string { return [2]string{r.Code, r.Name} }))
	fmt.Fprintln(w, "\nAccreditations")
	t = newTable(w, "  MSP", "RECORD TYPE", "ACTIVE")
	for _, a := range reg.Accreditations {
		t.row("  "+a.MSPID, a.RecordType, yesNo(a.Active))
	}
	t.flush()
	fmt.Fprintln(w, "\nPurposes")
	printCodes(w, "  ", purposeCodes(reg))
	fmt.Fprintln(w, "\nReasons")
	printCodes(w, "  ", reasonCodes(reg))
}

// codesOf lists registry entries as (code, name) rows.
func codesOf[T any](list []T, row func(T) [2]string) [][2]string {
	out := make([][2]string, len(list))
	for i, v := range list {
		out[i] = row(v)
	}
	return out
}

func purposeCodes(reg *service.Registry) [][2]string {
	return codesOf(reg.Purposes, func(p wire.Purpose) [2]string { return [2]string{p.Code, p.Name} })
}

func reasonCodes(reg *service.Registry) [][2]string {
	return codesOf(reg.Reasons, func(r wire.Reason) [2]string { return [2]string{r.Code, r.Name} })
}

// printCodes prints a CODE / NAME table, each line after indent.
func printCodes(w io.Writer, indent string, rows [][2]string) {
	t := newTable(w, indent+"CODE", "NAME")
	for _, r := range rows {
		t.row(indent+r[0], r[1])
	}
	t.flush()
}

// newCodeDefineCmd is "admin purposes define" / "admin reasons define".
func newCodeDefineCmd(f *clientFlags, kind string) *cobra.Command {
	var code, name string
	example := `  edossierctl admin purposes define --code newborn-registration --name "Newborn registration"`
	if kind == "reason" {
		example = `  edossierctl admin reasons define --code issued-in-error --name "Issued in error"`
	}
	cmd := &cobra.Command{
		Use:     "define --code CODE --name NAME",
		Short:   "Register a " + kind + " code with its display name (or rename it)",
		Example: example,
		Args:    noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "code", "name"); err != nil {
				return err
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			if kind == "reason" {
				res, err := c.DefineReason(cmd.Context(), code, name)
				if err != nil {
					return err
				}
				return printAdmin(f, cmd, res, "reason "+res.Value.Code+" defined", "name", res.Value.Name)
			}
			res, err := c.DefinePurpose(cmd.Context(), code, name)
			if err != nil {
				return err
			}
			return printAdmin(f, cmd, res, "purpose "+res.Value.Code+" defined", "name", res.Value.Name)
		}),
	}
	cmd.Flags().StringVar(&code, "code", "", kind+" code (required): letters, digits, . _ : -")
	cmd.Flags().StringVar(&name, "name", "", "its display name (required)")
	return cmd
}

// newCodeListCmd is "admin purposes list" / "admin reasons list".
func newCodeListCmd(f *clientFlags, kind string) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the registered " + kind + " codes",
		Example: "  edossierctl admin " + kind + "s list --api-key-file operator.key\n  edossierctl admin " + kind + "s list -o json",
		Args:    noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			reg, err := f.registry(cmd)
			if err != nil {
				return err
			}
			var out any = reg.Purposes
			rows := purposeCodes(reg)
			if kind == "reason" {
				out, rows = reg.Reasons, reasonCodes(reg)
			}
			return f.emit(cmd, out, func(w io.Writer) { printCodes(w, "", rows) })
		}),
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printAdmin[T any](f *clientFlags, cmd *cobra.Command, res *service.AdminResult[T], what string, kv ...string) error {
	return f.emit(cmd, res, func(w io.Writer) {
		fmt.Fprintln(w, what)
		fields(w, "  ", append(kv, "receipt", receiptText(res.Receipt.Channel, res.Receipt.TxID, res.Receipt.Block))...)
	})
}

func newDepartmentAddCmd(f *clientFlags) *cobra.Command {
	var msp, name, code string
	cmd := &cobra.Command{
		Use:     "add --msp MSPID --name NAME --code CODE",
		Short:   "Register a department (or update its name and code; reactivates it)",
		Example: `  edossierctl admin department add --msp TaxBureauMSP --name "Tax Bureau" --code tax`,
		Args:    noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "msp", "name", "code"); err != nil {
				return err
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.RegisterDepartment(cmd.Context(), msp, name, code)
			if err != nil {
				return err
			}
			d := res.Value
			return printAdmin(f, cmd, res, "department "+d.MSPID+" registered", "name", d.Name, "code", d.Code, "active", yesNo(d.Active))
		}),
	}
	cmd.Flags().StringVar(&msp, "msp", "", "the department organisation's MSP ID (required)")
	cmd.Flags().StringVar(&name, "name", "", "its name (required)")
	cmd.Flags().StringVar(&code, "code", "", "a short code (required)")
	return cmd
}

func newDepartmentDeactivateCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "deactivate MSPID",
		Short:   "Deactivate a department: no more appends, grants to it or reads by it; its records stay",
		Example: `  edossierctl admin department deactivate TaxBureauMSP`,
		Args:    exactArgs(1, "one MSP ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.DeactivateDepartment(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			d := res.Value
			return printAdmin(f, cmd, res, "department "+d.MSPID+" deactivated", "name", d.Name, "active", yesNo(d.Active))
		}),
	}
}

func newRecordTypeAddCmd(f *clientFlags) *cobra.Command {
	var code, name string
	cmd := &cobra.Command{
		Use:     "add --code CODE --name NAME",
		Short:   "Define a record type (or rename it)",
		Example: `  edossierctl admin record-type add --code tax-certificate --name "Tax certificate"`,
		Args:    noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "code", "name"); err != nil {
				return err
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.DefineRecordType(cmd.Context(), code, name)
			if err != nil {
				return err
			}
			return printAdmin(f, cmd, res, "record type "+res.Value.Code+" defined", "name", res.Value.Name)
		}),
	}
	cmd.Flags().StringVar(&code, "code", "", "record type code (required), e.g. tax-certificate")
	cmd.Flags().StringVar(&name, "name", "", "its name (required)")
	return cmd
}

func newAccreditCmd(f *clientFlags, grant bool) *cobra.Command {
	var msp, recordType string
	use, short := "accredit", "Allow a department to issue a record type"
	if !grant {
		use, short = "unaccredit", "Withdraw a department's accreditation for a record type"
	}
	cmd := &cobra.Command{
		Use:     use + " --msp MSPID --type TYPE",
		Short:   short,
		Example: fmt.Sprintf("  edossierctl admin %s --msp HealthMSP --type vaccination-record", use),
		Args:    noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "msp", "type"); err != nil {
				return err
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			call := c.Accredit
			if !grant {
				call = c.Unaccredit
			}
			res, err := call(cmd.Context(), msp, recordType)
			if err != nil {
				return err
			}
			a := res.Value
			return printAdmin(f, cmd, res, fmt.Sprintf("%s may issue %s: %s", a.MSPID, a.RecordType, yesNo(a.Active)))
		}),
	}
	cmd.Flags().StringVar(&msp, "msp", "", "department MSP ID (required)")
	cmd.Flags().StringVar(&recordType, "type", "", "record type code (required)")
	return cmd
}

func newUserAddCmd(f *clientFlags) *cobra.Command {
	var u client.NewUser
	var role string
	cmd := &cobra.Command{
		Use:   "add --org ORG --user NAME [--role department|operator]",
		Short: "Enroll a user with its organisation's CA and print its API key (shown once)",
		Long: `user add registers and enrolls NAME with the Fabric CA of organisation ORG (the
organisation name of the network, e.g. health) and issues an API key for it. In text
output the key alone goes to standard output (details to standard error), so it can
be redirected into a file; it is never shown again.`,
		Example: `  (umask 077; edossierctl admin user add --org health --user clerk2 > clerk2.key)
  edossierctl list --api-key-file clerk2.key "$SUBJECT"`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "org", "user"); err != nil {
				return err
			}
			if role != string(gateway.RoleDepartment) && role != string(gateway.RoleOperator) {
				return usagef("--role must be department or operator")
			}
			u.Role = gateway.Role(role)
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.CreateUser(cmd.Context(), u)
			if err != nil {
				return err
			}
			if f.json() {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "user %s of %s (%s), role %s, key ID %s\nits API key, shown only now:\n", res.User, res.Org, res.MSPID, res.Role, res.KeyID)
			fmt.Fprintln(cmd.OutOrStdout(), res.APIKey)
			return nil
		}),
	}
	cmd.Flags().StringVar(&u.Org, "org", "", "organisation name, e.g. health (required)")
	cmd.Flags().StringVar(&u.User, "user", "", "user name, the CA enrolment ID (required)")
	cmd.Flags().StringVar(&role, "role", string(gateway.RoleDepartment), "department or operator")
	cmd.Flags().StringVar(&u.Label, "label", "", "a note stored with the key")
	return cmd
}

func newVerifierAddCmd(f *clientFlags) *cobra.Command {
	var name, label string
	cmd := &cobra.Command{
		Use:   "add --name NAME [--label TEXT]",
		Short: "Issue an API key for a verifier organisation and print it (shown once)",
		Long: `verifier add issues an API key of role verifier: it may check whether a document is
in a named person's dossier (verify --id-number), within the per-key and per-document
limits. Its ledger identity is the platform's; NAME is recorded on the key and named
as the checker in the subjects' access logs. In text output the key alone goes to
standard output.`,
		Example: `  (umask 077; edossierctl admin verifier add --name city-bank --label "loans desk" > city-bank.key)`,
		Args:    noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "name"); err != nil {
				return err
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			v, err := c.CreateVerifier(cmd.Context(), name, label)
			if err != nil {
				return err
			}
			if f.json() {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "verifier %s, key ID %s\nits API key, shown only now:\n", v.Verifier, v.ID)
			fmt.Fprintln(cmd.OutOrStdout(), v.Key)
			return nil
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the verifier organisation's name, a code such as city-bank (required)")
	cmd.Flags().StringVar(&label, "label", "", "a note stored with the key")
	return cmd
}

func newAPIKeyListCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List API keys (never their secrets or hashes)",
		Example: `  edossierctl admin api-key list --api-key-file operator.key
  edossierctl admin api-key list --api-key-file health.key -o json | jq -r '.[] | select(.revoked | not) | .keyId'`,
		Args: noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			keys, err := c.ListAPIKeys(cmd.Context())
			if err != nil {
				return err
			}
			return f.emit(cmd, keys, func(w io.Writer) {
				t := newTable(w, "KEY", "ROLE", "ORG", "MSP", "USER", "VERIFIER", "LABEL", "CREATED", "REVOKED")
				for _, k := range keys {
					revoked := ""
					if k.Revoked && k.RevokedAt != nil {
						revoked = k.RevokedAt.Format("2006-01-02T15:04:05Z")
					} else if k.Revoked {
						revoked = "yes"
					}
					t.row(k.ID, string(k.Role), k.Org, k.MSPID, k.User, k.Verifier, k.Label, k.Created.Format("2006-01-02T15:04:05Z"), revoked)
				}
				t.flush()
			})
		}),
	}
}

func newAPIKeyRevokeCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "revoke KEY_ID",
		Short:   "Revoke an API key; every gateway of the platform refuses it within apiKeyRefresh (30 s)",
		Example: `  edossierctl admin api-key revoke k4m2q --api-key-file operator.key`,
		Args:    exactArgs(1, "one key ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			k, err := c.RevokeAPIKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return f.emit(cmd, k, func(w io.Writer) {
				fmt.Fprintf(w, "key %s (%s, %s %s) revoked\n", k.ID, k.Role, k.MSPID, k.User)
			})
		}),
	}
}
