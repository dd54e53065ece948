package main

// "One thing" matters: the operator defines them, anyone lists them.

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/chaincode/wire"
)

func newMatterDefineCmd(f *clientFlags) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "define --file FILE",
		Short: "Define a matter, or a new version of it, from a JSON file",
		Long: `define reads a matter definition: {"code","name","parts":[{"department":MSPID,
"recordTypes":[...],"purpose":CODE}]}. Every department must be registered and active,
every record type defined, every purpose registered. A changed definition becomes a
new version; grants keep the version they were signed against.`,
		Example: `  edossierctl admin matters define --file newborn.json`,
		Args:    noArgs,
		RunE: action(f, func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "file"); err != nil {
				return err
			}
			in, _, err := readInput(cmd, file)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(io.LimitReader(in, wire.MaxRequestBytes+1))
			in.Close()
			if err != nil {
				return err
			}
			d, err := wire.DecodeMatterDefinition(b)
			if err != nil {
				return fmt.Errorf("%s: %s", file, wire.AsError(err).Message)
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			res, err := c.DefineMatter(cmd.Context(), d)
			if err != nil {
				return err
			}
			m := res.Value
			return printAdmin(f, cmd, res, fmt.Sprintf("matter %s version %d", m.Code, m.Version), "parts", fmt.Sprint(len(m.Parts)))
		}),
	}
	cmd.Flags().StringVar(&file, "file", "", `matter definition, JSON ("-" reads standard input; required)`)
	return cmd
}

func newMattersCmd() *cobra.Command {
	f := &clientFlags{}
	var version int
	cmd := &cobra.Command{
		Use:   "matters [CODE] [--version N]",
		Short: `Anyone: the "one thing" matters, or one matter: which departments read which records, for what`,
		Example: `  edossierctl matters
  edossierctl matters newborn
  edossierctl matters newborn --version 1 -o json`,
		Args: argsRange(0, 1, "at most one matter code"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			c := f.newClient()
			if len(args) == 0 {
				ms, err := c.Matters(cmd.Context())
				if err != nil {
					return err
				}
				return f.emit(cmd, ms, func(w io.Writer) {
					t := newTable(w, "MATTER", "VERSION", "DEPARTMENTS", "NAME")
					for _, m := range ms {
						var ds []string
						for _, p := range m.Parts {
							ds = append(ds, p.Department)
						}
						t.row(m.Code, fmt.Sprint(m.Version), strings.Join(ds, ","), m.Name)
					}
					t.flush()
				})
			}
			if err := wire.ValidateCode("CODE", args[0]); err != nil {
				return usagef("%s", wire.AsError(err).Message)
			}
			if version < 0 {
				return usagef("--version must be positive")
			}
			m, err := c.Matter(cmd.Context(), args[0], version)
			if err != nil {
				return err
			}
			return f.emit(cmd, m, func(w io.Writer) {
				fmt.Fprintf(w, "%s version %d: %s (defined %s)\n", m.Code, m.Version, m.Name, m.DefinedAt)
				t := newTable(w, "DEPARTMENT", "RECORD TYPES", "PURPOSE")
				for _, p := range m.Parts {
					t.row(p.Department, strings.Join(p.RecordTypes, ","), p.Purpose)
				}
				t.flush()
			})
		}),
	}
	f.addGateway(cmd)
	cmd.Flags().IntVar(&version, "version", 0, "a given version (default: the latest)")
	return cmd
}
