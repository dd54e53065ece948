// Command edossierctl is the e-dossier command line. "network" runs the Fabric network
// on this machine (certificate authorities, orderers, peers, chaincode servers) and
// "gateway" the REST gateway; every other command talks to a gateway over REST
// (gateway/client) with an API key or a subject's signing key: citizens' keys,
// delegations, consents and grants; departments' appends, reads, revocations and bulk
// "import"; verification; and "admin" (registry, matters, users, verifiers, API keys).
// Flags are read here only; docs/cli.md is the reference. Exit codes: 0 success, 1 the
// command failed, 2 bad usage, 3 verify: not verified.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // bad flags or arguments
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

type usageError struct{ error }

func run(ctx context.Context, args []string) int {
	return runIO(ctx, args, os.Stdin, os.Stdout, os.Stderr)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "edossierctl",
		Short:         "Run and use the e-dossier ledger",
		SilenceUsage:  true,
		SilenceErrors: true,
		Long: `edossierctl runs the e-dossier Fabric network on this machine and talks to the
e-dossier gateway.

Exit codes: 0 success, 1 the command failed, 2 bad usage, 3 verify: not verified.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q (see edossierctl --help)", args[0])}
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	root.AddCommand(append([]*cobra.Command{newNetworkCmd(), newGatewayCmd(), newImportCmd()}, ledgerCommands()...)...)
	return root
}
