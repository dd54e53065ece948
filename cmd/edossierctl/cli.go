package main

// Shared plumbing of the commands that talk to the gateway: flags, clients, output,
// errors and exit codes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/edossier-city/edossier/gateway/client"
)

// exitNotVerified is verify's exit code when the document is not verified (revoked,
// superseded, expired, unknown, or not in the named subject's dossier).
const exitNotVerified = 3

// Environment variables of the gateway commands.
const (
	envGateway    = "EDOSSIER_GATEWAY"
	envAPIKey     = "EDOSSIER_API_KEY"
	envAPIKeyFile = "EDOSSIER_API_KEY_FILE"
	envSubjectKey = "EDOSSIER_SUBJECT_KEY"
	envSubject    = "EDOSSIER_SUBJECT"
	defaultURL    = "http://127.0.0.1:8080"
)

// ledgerCommands are the commands that use the gateway (registered in main.go).
func ledgerCommands() []*cobra.Command {
	return []*cobra.Command{
		// Citizens and enterprises.
		newKeygenCmd(), newKeyCmd(), newDelegationCmd(), newConsentCmd(), newGrantCmd(), newRevokeGrantCmd(), newGrantsCmd(), newAccessLogCmd(),
		// Departments.
		newResolveCmd(), newAppendCmd(), newShowCmd(), newListCmd(), newHistoryCmd(), newRevokeCmd(), newSupersedeCmd(), newReadCmd(),
		// Verifiers.
		newVerifyCmd(), newProofCmd(),
		// Anyone.
		newMattersCmd(),
		// Operators.
		newAdminCmd(),
	}
}

// runWith is run with explicit output streams: the tests call it in-process.
func runWith(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, nil, stdout, stderr)
}

// runIO is runWith with standard input (nil: the process's).
func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	if stdin != nil {
		root.SetIn(stdin)
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "edossierctl:", err)
	return exitCodeOf(err)
}

func exitCodeOf(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}

// exitError ends the command with a specific exit code (verify: 3).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usagef returns a usage error (exit code 2).
func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// action wraps a command's work: it checks --output and turns gateway problems and
// transport failures into "<code>: <detail>" errors.
func action(f *clientFlags, fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if f != nil {
			if err := f.checkOutput(); err != nil {
				return err
			}
		}
		return explain(cmd.Context(), f, fn(cmd, args))
	}
}

// codeError is an error printed as "<code>: <detail>".
type codeError struct {
	code, detail string
}

func (e *codeError) Error() string { return e.code + ": " + e.detail }

// explain rewrites errors for the terminal: a gateway problem as its code and detail
// (and request ID, for the operator's logs); an unreachable gateway as "unavailable".
func explain(ctx context.Context, f *clientFlags, err error) error {
	if err == nil {
		return nil
	}
	var p *client.Problem
	if errors.As(err, &p) {
		detail := p.Detail
		if detail == "" {
			detail = p.Title
		}
		if p.RequestID != "" {
			detail += " (request " + p.RequestID + ")"
		}
		return &codeError{code: p.Code, detail: detail}
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return &codeError{code: "interrupted", detail: ctx.Err().Error()}
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	var op *net.OpError
	var dns *net.DNSError
	var ne net.Error
	if errors.As(ue.Err, &op) || errors.As(ue.Err, &dns) || (errors.As(ue.Err, &ne) && ne.Timeout()) {
		where := "the gateway"
		if f != nil {
			where += " at " + f.baseURL()
		}
		return &codeError{code: "unavailable", detail: fmt.Sprintf("cannot reach %s: %v", where, ue.Err)}
	}
	// Not the network: e.g. the file being uploaded could not be read.
	return fmt.Errorf("request to the gateway failed: %w", ue.Err)
}

// Arguments.

// argsRange requires between min and max positional arguments (max < 0: no limit).
func argsRange(min, max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || (max >= 0 && len(args) > max) {
			return usagef("%s takes %s; got %d argument(s) (see %s --help)", cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}

func exactArgs(n int, what string) cobra.PositionalArgs { return argsRange(n, n, what) }

var noArgs = exactArgs(0, "no arguments")

// requireFlags refuses empty values of the named flags as a usage error.
func requireFlags(cmd *cobra.Command, names ...string) error {
	var missing []string
	for _, n := range names {
		if fl := cmd.Flags().Lookup(n); fl == nil || fl.Value.String() == "" || fl.Value.String() == "[]" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return usagef("%s needs %s (see %s --help)", cmd.CommandPath(), strings.Join(missing, ", "), cmd.CommandPath())
	}
	return nil
}

// groupCmd is a command that only holds subcommands: an unknown subcommand is a usage
// error, no subcommand shows the help.
func groupCmd(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use: use, Short: short, Example: example,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	c.AddCommand(subs...)
	return c
}

// Flags and clients.

// clientFlags are the flags shared by the commands that talk to the gateway.
type clientFlags struct {
	gateway    string
	apiKey     string
	apiKeyFile string
	keyFile    string
	subject    string
	output     string
}

func (f *clientFlags) addOutput(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
}

func (f *clientFlags) addGateway(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.gateway, "gateway", envOr(envGateway, defaultURL), "gateway URL (env "+envGateway+")")
	f.addOutput(cmd)
}

// addAPIKey adds the department/operator credentials.
func (f *clientFlags) addAPIKey(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.apiKey, "api-key", "", "API key of a department or operator user (env "+envAPIKey+"; prefer the env or --api-key-file: arguments show in ps)")
	pf.StringVar(&f.apiKeyFile, "api-key-file", "", "file holding the API key (env "+envAPIKeyFile+")")
}

// addCitizen adds the citizen's key and subject.
func (f *clientFlags) addCitizen(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.keyFile, "key", os.Getenv(envSubjectKey), "subject key file made by keygen (env "+envSubjectKey+")")
	pf.StringVar(&f.subject, "subject", os.Getenv(envSubject), "subject ID (env "+envSubject+"; default: the one stored in the key file)")
}

func (f *clientFlags) checkOutput() error {
	switch f.output {
	case "", "text", "json":
		return nil
	}
	return usagef("--output must be text or json, not %q", f.output)
}

func (f *clientFlags) json() bool { return f.output == "json" }

func (f *clientFlags) baseURL() string {
	u := strings.TrimRight(f.gateway, "/")
	if u == "" {
		u = defaultURL
	}
	if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	return u
}

// httpClient has no overall timeout (files may be large and slow) but bounded
// connection and first-answer times; Ctrl-C cancels.
func httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 5 * time.Minute
	return &http.Client{Transport: tr}
}

func (f *clientFlags) newClient() *client.Client {
	return &client.Client{BaseURL: f.baseURL(), HTTP: httpClient()}
}

// apiKeyValue finds the API key: --api-key, --api-key-file, then the environment.
func (f *clientFlags) apiKeyValue(cmd *cobra.Command) (string, error) {
	changed := func(n string) bool { fl := cmd.Flags().Lookup(n); return fl != nil && fl.Changed }
	fromFile := func(path string) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("reading the API key: %w", err)
		}
		k := strings.TrimSpace(string(b))
		if k == "" {
			return "", fmt.Errorf("API key file %s is empty", path)
		}
		return k, nil
	}
	switch {
	case changed("api-key") && f.apiKey != "":
		return f.apiKey, nil
	case changed("api-key-file") && f.apiKeyFile != "":
		return fromFile(f.apiKeyFile)
	case os.Getenv(envAPIKey) != "":
		return strings.TrimSpace(os.Getenv(envAPIKey)), nil
	case os.Getenv(envAPIKeyFile) != "":
		return fromFile(os.Getenv(envAPIKeyFile))
	}
	return "", nil
}

// staffClient is a client with a department's or operator's API key.
func (f *clientFlags) staffClient(cmd *cobra.Command) (*client.Client, error) {
	key, err := f.apiKeyValue(cmd)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, usagef("%s needs an API key: --api-key-file FILE, --api-key KEY or %s", cmd.CommandPath(), envAPIKey)
	}
	c := f.newClient()
	c.APIKey = key
	return c, nil
}

// readerClient is a citizen client when a subject key is given on the command line
// (--key), else a client with an API key if one is given (flags or environment), else a
// citizen client with the subject key from the environment.
func (f *clientFlags) readerClient(cmd *cobra.Command) (*client.Client, error) {
	if fl := cmd.Flags().Lookup("key"); fl != nil && fl.Changed && f.keyFile != "" {
		return f.citizenClient(cmd)
	}
	key, err := f.apiKeyValue(cmd)
	if err != nil {
		return nil, err
	}
	if key == "" && f.keyFile != "" {
		return f.citizenClient(cmd)
	}
	return f.staffClient(cmd)
}

// citizenClient is a client that signs every request with the subject's key.
func (f *clientFlags) citizenClient(cmd *cobra.Command) (*client.Client, error) {
	if f.keyFile == "" {
		return nil, usagef("%s needs the subject key: --key FILE or %s (make one with edossierctl keygen)", cmd.CommandPath(), envSubjectKey)
	}
	b, err := os.ReadFile(f.keyFile)
	if err != nil {
		return nil, fmt.Errorf("reading the subject key: %w", err)
	}
	if st, err := os.Stat(f.keyFile); err == nil && st.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "edossierctl: warning: %s is readable by other users (mode %04o); chmod 600 it\n", f.keyFile, st.Mode().Perm())
	}
	key, stored, err := client.ParseSubjectKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.keyFile, err)
	}
	subject := f.subject
	if subject == "" {
		subject = stored
	}
	if subject == "" {
		return nil, usagef("%s needs the subject ID: --subject ID or %s (or keygen --subject, which stores it in the key file)", cmd.CommandPath(), envSubject)
	}
	c := f.newClient()
	c.SubjectID, c.SubjectKey = subject, key
	return c, nil
}

// Output.

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// emit prints v as JSON with --output json, else runs text.
func (f *clientFlags) emit(cmd *cobra.Command, v any, text func(w io.Writer)) error {
	if f.json() {
		return writeJSON(cmd.OutOrStdout(), v)
	}
	text(cmd.OutOrStdout())
	return nil
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		if c == "" {
			cols[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() { t.tw.Flush() }

// fields writes "name  value" lines, skipping empty values.
func fields(w io.Writer, indent string, kv ...string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			fmt.Fprintf(tw, "%s%s\t%s\n", indent, kv[i], kv[i+1])
		}
	}
	tw.Flush()
}

// readInput opens a file argument; "-" is standard input. Size is -1 when unknown.
func readInput(cmd *cobra.Command, path string) (io.ReadCloser, int64, error) {
	if path == "-" {
		return io.NopCloser(cmd.InOrStdin()), -1, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, 0, err
	}
	if st.IsDir() {
		fh.Close()
		return nil, 0, fmt.Errorf("%s is a directory", path)
	}
	if !st.Mode().IsRegular() { // a pipe, a device: size unknown
		return fh, -1, nil
	}
	return fh, st.Size(), nil
}

// pageFlags select paging for list commands: without them every page is fetched.
type pageFlags struct {
	size     int
	bookmark string
}

func (p *pageFlags) add(cmd *cobra.Command) {
	cmd.Flags().IntVar(&p.size, "page-size", 0, "fetch one page of this many entries (max 200) instead of all pages")
	cmd.Flags().StringVar(&p.bookmark, "bookmark", "", "fetch the page after this bookmark (printed by a previous paged call)")
}

// onePage reports whether the caller asked for one page.
func (p *pageFlags) onePage(cmd *cobra.Command) bool {
	return cmd.Flags().Changed("page-size") || cmd.Flags().Changed("bookmark")
}

func (p *pageFlags) check() error {
	if p.size < 0 || p.size > 200 {
		return usagef("--page-size must be within 1..200")
	}
	return nil
}

// collect fetches pages with fetch: one (when asked) or all, at most maxPages.
func collect[T any](ctx context.Context, cmd *cobra.Command, p *pageFlags, fetch func(client.PageOptions) ([]T, string, error)) ([]T, string, error) {
	if p.onePage(cmd) {
		return fetch(client.PageOptions{PageSize: p.size, Bookmark: p.bookmark})
	}
	var all []T
	bookmark := ""
	for i := 0; i < 100_000; i++ {
		items, next, err := fetch(client.PageOptions{PageSize: 200, Bookmark: bookmark})
		if err != nil {
			return nil, "", err
		}
		all = append(all, items...)
		if next == "" || next == bookmark {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		bookmark = next
	}
	if all == nil {
		all = []T{}
	}
	return all, "", nil
}

// moreHint tells a text reader how to get the next page.
func moreHint(cmd *cobra.Command, bookmark string) {
	if bookmark != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "more entries: repeat with --bookmark %s\n", bookmark)
	}
}

func receiptText(channel, tx string, block uint64) string {
	if tx == "" {
		return ""
	}
	return fmt.Sprintf("%s tx %s block %d", channel, tx, block)
}

// subjectList is a command that lists one kind of a subject's entries: the subject's
// own with --key (signed requests), any subject's with an operator's API key and the
// subject ID. It fetches one page (--page-size/--bookmark) or every page, prints them
// as JSON (the page type built by asPage) or as a table (one row per entry).
type subjectList[T any] struct {
	use, short, example string
	fetch               func(c *client.Client, cmd *cobra.Command, subject string, o client.PageOptions) ([]T, string, error)
	asPage              func(items []T, next string) any
	header              []string
	row                 func(T) []string
	// after, if set, runs after a table is printed (notes on standard error).
	after func(cmd *cobra.Command)
}

func (l subjectList[T]) command() *cobra.Command {
	f := &clientFlags{}
	var p pageFlags
	cmd := &cobra.Command{
		Use: l.use, Short: l.short, Example: l.example,
		Args: argsRange(0, 1, "at most one subject ID"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			if err := p.check(); err != nil {
				return err
			}
			c, subject, err := f.subjectReader(cmd, args)
			if err != nil {
				return err
			}
			items, next, err := collect(cmd.Context(), cmd, &p, func(o client.PageOptions) ([]T, string, error) {
				return l.fetch(c, cmd, subject, o)
			})
			if err != nil {
				return err
			}
			return f.emit(cmd, l.asPage(items, next), func(w io.Writer) {
				t := newTable(w, l.header...)
				for _, it := range items {
					t.row(l.row(it)...)
				}
				t.flush()
				moreHint(cmd, next)
				if l.after != nil {
					l.after(cmd)
				}
			})
		}),
	}
	f.addGateway(cmd)
	f.addCitizen(cmd)
	f.addAPIKey(cmd)
	p.add(cmd)
	return cmd
}
