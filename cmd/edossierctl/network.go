package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/network"
)

type networkFlags struct {
	spec, home, tools, chaincode string
	output                       string
	watch                        bool
	watchOpts                    network.WatchOptions
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func newNetworkCmd() *cobra.Command {
	f := &networkFlags{}
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Run the Fabric network on this machine (CAs, orderers, peers, chaincode servers)",
		Example: `  edossierctl network up
  edossierctl network status
  edossierctl network down     # stop the processes, keep the ledgers
  edossierctl network clean    # stop and remove all state`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.spec, "spec", envOr("EDOSSIER_NETWORK_SPEC", "network/network.yaml"), "network spec file (env EDOSSIER_NETWORK_SPEC)")
	pf.StringVar(&f.home, "home", envOr("EDOSSIER_NETWORK_HOME", ".edossier/network"), "folder for the network's state (env EDOSSIER_NETWORK_HOME)")
	pf.StringVar(&f.tools, "tools", envOr("EDOSSIER_TOOLS_DIR", ".edossier/tools"), "folder with the pinned Fabric tools (env EDOSSIER_TOOLS_DIR)")
	pf.StringVar(&f.chaincode, "chaincode-bin", envOr("EDOSSIER_CHAINCODE_BIN", ".edossier/bin/edossier-chaincode"), "chaincode server binary (env EDOSSIER_CHAINCODE_BIN)")
	open := func() (*network.Network, error) {
		spec, err := network.LoadSpec(f.spec)
		if err != nil {
			return nil, err
		}
		return network.New(network.Options{Spec: spec, Home: f.home, ToolsDir: f.tools, ChaincodeBin: f.chaincode, Progress: os.Stdout})
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Bring the network up (or resume it); report status if it already runs",
		Long: `Bring the network up, or restart exactly the processes that are down.

With --watch, keep running after that as a supervisor: every --watch-interval check
that each process runs and restart the missing ones (each restart is logged), at most
--max-restarts times within --restart-window; beyond that exit 1 and leave the network
to the operator. SIGINT or SIGTERM stops the supervisor, not the network.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o := f.watchOpts; o.Interval <= 0 || o.MaxRestarts < 1 || o.Window <= 0 {
				return usageError{fmt.Errorf("--watch-interval and --restart-window must be positive, --max-restarts at least 1")}
			}
			n, err := open()
			if err != nil {
				return err
			}
			if err := n.Up(c.Context()); err != nil {
				return err
			}
			if j := n.Joined(); len(j) > 0 {
				fmt.Printf("added to the running network: %s\n"+
					"A running gateway serves them only after a restart (edossierctl gateway stop && edossierctl gateway start;\n"+
					"the demo set-up then registers them as departments and issues their API keys; otherwise:\n"+
					"edossierctl admin department add --msp MSPID --name NAME --code CODE, then accreditations).\n", strings.Join(j, ", "))
			}
			if r := n.RetiredNow(); len(r) > 0 {
				fmt.Printf("retired: %s (no longer on any channel; their records stay readable and verifiable).\n"+
					"Deactivate them in the registry too: edossierctl admin department deactivate MSPID\n", strings.Join(r, ", "))
			}
			if err := printStatus(n, "text"); err != nil && !f.watch {
				return err
			}
			if !f.watch {
				return nil
			}
			return n.Watch(c.Context(), f.watchOpts)
		},
	}
	up.Flags().BoolVar(&f.watch, "watch", false, "keep running and restart crashed processes")
	up.Flags().DurationVar(&f.watchOpts.Interval, "watch-interval", 2*time.Second, "with --watch: how often to check the processes")
	up.Flags().IntVar(&f.watchOpts.MaxRestarts, "max-restarts", 10, "with --watch: restarts allowed within --restart-window")
	up.Flags().DurationVar(&f.watchOpts.Window, "restart-window", 10*time.Minute, "with --watch: window of --max-restarts")
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the network's processes; exit 1 unless every process runs and every orderer follows its Raft cluster",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			n, err := open()
			if err != nil {
				return err
			}
			return printStatus(n, f.output)
		},
	}
	status.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the processes the network started; keep crypto material and ledgers",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			n, err := open()
			if err != nil {
				return err
			}
			if err := n.Down(); err != nil {
				return err
			}
			fmt.Println("network stopped; state kept in", n.Home())
			return nil
		},
	}
	clean := &cobra.Command{
		Use:   "clean",
		Short: "Stop the network and remove its state folder",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			n, err := open()
			if err != nil {
				return err
			}
			if err := n.Clean(); err != nil {
				return err
			}
			fmt.Println("network removed:", n.Home())
			return nil
		},
	}
	var dir string
	backupCmd := &cobra.Command{
		Use:   "backup --out DIR",
		Short: "Copy a stopped network's home (ledgers, Raft WAL, crypto material, CA databases) to DIR",
		Long: `Copy the home folder of a stopped network (run "network down" first) into DIR, which
must not exist or be empty, with a manifest of every file's SHA-256. The copy holds
every private key of the network: keep it as secret as they are.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{fmt.Errorf("--out DIR is required")}
			}
			n, err := open()
			if err != nil {
				return err
			}
			return n.Backup(dir)
		},
	}
	backupCmd.Flags().StringVar(&dir, "out", "", "backup folder (must not exist or be empty)")
	restoreCmd := &cobra.Command{
		Use:   "restore --from DIR",
		Short: "Restore a network backup into an empty home folder; then run network up",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{fmt.Errorf("--from DIR is required")}
			}
			n, err := open()
			if err != nil {
				return err
			}
			return n.Restore(dir)
		},
	}
	restoreCmd.Flags().StringVar(&dir, "from", "", "backup folder written by network backup")
	cmd.AddCommand(up, status, down, clean, backupCmd, restoreCmd)
	return cmd
}

func printStatus(n *network.Network, format string) error {
	st, err := n.Status()
	if err != nil {
		return err
	}
	switch format {
	case "json":
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	case "text":
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "PROCESS\tSTATE\tPID\tLOG")
		for _, p := range st.Processes {
			state, pid := "stopped", "-"
			if p.Running {
				state, pid = "running", fmt.Sprint(p.PID)
				if !p.Healthy {
					state = "unhealthy"
				}
			}
			log := p.Log
			if rel, err := filepath.Rel(".", log); err == nil && log != "" {
				log = rel
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Name, state, pid, log)
		}
		w.Flush()
		for _, p := range st.Processes {
			if p.Problem != "" {
				fmt.Printf("%s unhealthy: %s\n", p.Name, p.Problem)
			}
		}
		if st.ConnectionFile != "" {
			fmt.Println("connection file:", st.ConnectionFile)
		}
	default:
		return usageError{fmt.Errorf("unknown output format %q (text or json)", format)}
	}
	if !st.Ready {
		return fmt.Errorf("network is not ready (home %s)", st.Home)
	}
	return nil
}
