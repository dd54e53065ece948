// Command edossier-gateway is the e-dossier REST gateway: departments append and read
// records, verifiers verify documents, citizens grant access and see every read.
//
// Configuration: see Config (file + environment + flags); `edossier-gateway -h` lists
// every setting with its environment variable.
//
// `edossier-gateway rewrap-blobs [settings]` is the last step of a key-encryption key
// rotation: with the new key in kekFile and the old ones in retiredKekFiles, it wraps
// every blob's data key under the new key, holding the blob store alone (stop the
// gateways that use it first), then says whether the old keys can go.
//
// `edossier-gateway scrub-blobs [settings]` reads every blob in full (authenticated,
// hashed against its CID), beside running gateways, changes nothing, lists the CIDs of
// damaged blobs and exits 1 if there is any.
//
// `edossier-gateway rebuild-index [settings]` recreates the event-fed index from the
// ledger alone into an empty index and prints the SHA-256 of its dump.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/api"
	"github.com/edossier-city/edossier/gateway/blob"
	"github.com/edossier-city/edossier/gateway/ca"
	"github.com/edossier-city/edossier/gateway/fabric"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/identity"
	"github.com/edossier-city/edossier/gateway/service"
	"github.com/edossier-city/edossier/gateway/subject"
	"github.com/edossier-city/edossier/gateway/web"
	"github.com/edossier-city/edossier/network/connfile"
)

func main() {
	args, command := os.Args[1:], ""
	if len(args) > 0 && (args[0] == "rewrap-blobs" || args[0] == "scrub-blobs" || args[0] == "backup" || args[0] == "restore" || args[0] == "rebuild-index") {
		args, command = args[1:], args[0]
	}
	var dir string
	if command == "backup" || command == "restore" {
		name := map[string]string{"backup": "out", "restore": "from"}[command]
		var err error
		if dir, args, err = takeFlag(args, name); err != nil {
			fmt.Fprintf(os.Stderr, "edossier-gateway %s: %v\n", command, err)
			os.Exit(2)
		}
	}
	cfg, err := loadConfig(args, os.Getenv)
	if errors.Is(err, errHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "edossier-gateway:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch command {
	case "backup", "restore":
		run := backupGateway
		if command == "restore" {
			run = restoreGateway
		}
		if err := run(cfg, dir, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "edossier-gateway %s: %v\n", command, err)
			os.Exit(1)
		}
		return
	case "rewrap-blobs":
		if err := rewrapBlobs(ctx, cfg, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "edossier-gateway rewrap-blobs:", err)
			os.Exit(1)
		}
		return
	case "rebuild-index":
		if err := rebuildIndex(ctx, cfg, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "edossier-gateway rebuild-index:", err)
			os.Exit(1)
		}
		return
	case "scrub-blobs":
		if err := scrubBlobs(ctx, cfg, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "edossier-gateway scrub-blobs:", err)
			os.Exit(1)
		}
		return
	}
	g, err := Open(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "edossier-gateway:", err)
		os.Exit(1)
	}
	err = g.Run(ctx)
	// Close before any exit: it removes this process's staging files, also those of
	// uploads the shutdown drain gave up on (SIGTERM leaves no .partial file).
	g.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "edossier-gateway:", err)
		os.Exit(1)
	}
}

var errHelp = flag.ErrHelp

// Gateway is the assembled service: everything opened, nothing listening yet.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	ledger   *fabric.Client
	blobs    *blob.Store
	enroller *ca.Enroller
	server   *api.Server
	portal   *web.Server
	handler  http.Handler // the REST API and the portal on one port (see mount)
	svc      *service.Service
	keys     *identity.KeyStore
	profile  *connfile.Profile
	listener net.Listener
	index    *indexParts // nil: index off (index.go)
}

// Open wires the gateway from its configuration.
func Open(cfg Config) (*Gateway, error) {
	log := newLogger(cfg)
	slog.SetDefault(log)
	profile, err := connfile.Load(cfg.ConnectionFile)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	kek, err := secretFile(cfg.KEKFile, 32)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	subjectSecret, err := secretFile(cfg.SubjectSecret, 32)
	if err != nil {
		return nil, fmt.Errorf("subject secret: %w", err)
	}
	retired, err := retiredKEKs(cfg)
	if err != nil {
		return nil, err
	}
	store, err := blob.Open(blob.Options{Dir: filepath.Join(cfg.DataDir, "blobs"), KEK: kek, RetiredKEKs: retired, MaxSize: cfg.MaxUpload})
	if err != nil {
		return nil, err
	}
	// Uploads interrupted by a crash leave staging files: those of a gateway process that
	// is gone are removed whatever their age (the store tells them by their lock); only
	// loose files of an older version wait a minute.
	if n, err := store.SweepTemp(time.Minute); err != nil {
		log.Warn("sweeping temporary upload files", "err", err)
	} else if n > 0 {
		log.Info("swept temporary upload files", "count", n)
	}
	deriver, err := subject.NewDeriver(subjectSecret)
	if err != nil {
		return nil, err
	}
	wallet := identity.NewWallet(profile, filepath.Join(cfg.DataDir, "wallet"))
	keyFile := cfg.APIKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "api-keys.json")
	}
	keys, err := identity.OpenSharedKeyStore(keyFile, cfg.APIKeyRefresh, nil)
	if err != nil {
		return nil, err
	}
	platformOrg, err := profile.Org(cfg.PlatformOrg)
	if err != nil {
		return nil, fmt.Errorf("platformOrg: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := api.NewMetrics(reg)
	ledger, err := fabric.Dial(fabric.Config{
		Profile: profile, PeerOrg: cfg.PeerOrg, Signer: wallet,
		Timeouts: fabric.Timeouts{Evaluate: cfg.EvaluateTimeout, Endorse: cfg.EndorseTimeout, Submit: cfg.SubmitTimeout, CommitStatus: cfg.CommitStatusTimeout},
		Observe:  metrics.ObserveFabric,
	})
	if err != nil {
		return nil, err
	}
	enroller, err := ca.New(profile, wallet, filepath.Join(cfg.DataDir, "ca-client"))
	if err != nil {
		ledger.Close()
		return nil, err
	}
	platform := gateway.Actor{Org: cfg.PlatformOrg, User: cfg.PlatformUser}
	svc := service.New(ledger, store, deriver, service.Config{Platform: platform, OrphanGrace: cfg.OrphanGrace, PrecheckAbove: cfg.PrecheckAbove,
		Ownership: service.OwnershipLimits{PerKeyInterval: cfg.OwnershipCheckInterval, PerKeyBurst: cfg.OwnershipCheckBurst,
			PerDocument: cfg.OwnershipChecksPerDocument, Window: cfg.OwnershipCheckWindow},
		NoteKey: service.NoteKey(subjectSecret), BookmarkKey: service.BookmarkKey(subjectSecret),
		Users:    users{enroller: enroller, keys: keys},
		KeyAdmin: keyAdmin{keys: keys, org: platformOrg.Name, mspID: platformOrg.MSPID, user: cfg.PlatformUser}})
	ix, indexStatus, err := wireIndex(cfg, ledger, platform, svc)
	if err != nil {
		ledger.Close()
		enroller.Close()
		return nil, fmt.Errorf("index: %w", err)
	}
	if ix != nil && ix.store.WasReset {
		log.Warn("the index was built by an older gateway version (an older schema): recreated, rebuilding it from the ledger")
	}
	subjectKeys := svc.SubjectKeyResolver(30 * time.Second)
	if ix != nil {
		// A removed device key stops signing requests as soon as this gateway applies
		// the block that removed it.
		ix.observeSubjectKeys(subjectKeys.Observe)
	}
	var proxies []string
	for _, p := range strings.Split(cfg.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			proxies = append(proxies, p)
		}
	}
	server, err := api.New(api.Options{
		Service:         svc,
		Keys:            keys,
		SubjectKey:      subjectKeys.Key,
		Nonces:          httpsig.NewMemoryNonceStore(cfg.SignatureMaxAge + time.Minute),
		SignatureMaxAge: cfg.SignatureMaxAge,
		Ready: func(ctx context.Context) error {
			_, err := ledger.Version(ctx, platform)
			return err
		},
		IndexStatus:    indexStatus,
		MaxUpload:      cfg.MaxUpload,
		VerifyRate:     rate.Limit(cfg.VerifyRate),
		VerifyBurst:    cfg.VerifyBurst,
		TrustedProxies: proxies,
		Registry:       reg,
		Metrics:        metrics,
	})
	if err != nil {
		ledger.Close()
		enroller.Close()
		return nil, err
	}
	portal, err := web.New(web.Options{
		Service: svc, Keys: keys, Admin: svc,
		Platform:   gateway.Principal{Role: gateway.RoleOperator, Org: platform.Org, MSPID: platformOrg.MSPID, User: platform.User},
		SessionTTL: cfg.PortalSessionTTL, SecureCookies: cfg.PortalSecureCookies,
		MaxUpload: cfg.MaxUpload, VerifyRate: rate.Limit(cfg.VerifyRate), VerifyBurst: cfg.VerifyBurst, TrustedProxies: proxies, PublicURL: cfg.PublicURL,
	})
	if err != nil {
		ledger.Close()
		enroller.Close()
		return nil, err
	}
	return &Gateway{cfg: cfg, log: log, ledger: ledger, blobs: store, enroller: enroller, server: server, portal: portal,
		handler: mount(server, server.Observe(portal)), svc: svc, keys: keys, profile: profile, index: ix}, nil
}

// Handler is the HTTP handler (tests serve it with httptest).
func (g *Gateway) Handler() http.Handler { return g.handler }

// Run serves until ctx is done, then drains requests in flight.
func (g *Gateway) Run(ctx context.Context) error {
	if g.cfg.DemoKeysFile != "" {
		if err := g.demo(ctx); err != nil {
			return fmt.Errorf("demo set-up: %w", err)
		}
	}
	ln := g.listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", g.cfg.Listen); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: g.cfg.ReadHeaderTimeout,
		ReadTimeout:       g.cfg.ReadTimeout,
		WriteTimeout:      g.cfg.WriteTimeout,
		IdleTimeout:       g.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if g.index != nil {
		fctx, stopFollow := context.WithCancel(ctx)
		defer stopFollow()
		go g.index.follow(fctx)
	}
	g.log.Info("gateway listening", "addr", ln.Addr().String(), "connectionFile", g.cfg.ConnectionFile, "dataDir", g.cfg.DataDir)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	g.log.Info("shutting down", "drain", g.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownTimeout)
	defer cancel()
	return srv.Shutdown(sctx)
}

// Close releases the Fabric connection and the CA client.
func (g *Gateway) Close() {
	if g.index != nil {
		g.index.store.Close()
	}
	g.ledger.Close()
	g.enroller.Close()
	g.blobs.Close()
}

func newLogger(cfg Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// secretFile reads a hex secret of n bytes, creating it (0600) if the file is missing.
func secretFile(path string, n int) ([]byte, error) {
	secret, err := existingSecret(path, n)
	if !errors.Is(err, os.ErrNotExist) {
		return secret, err
	}
	secret = make([]byte, n)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return secret, nil
}

// existingSecret reads a hex secret of n bytes that must exist.
func existingSecret(path string, n int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(secret) != n {
		return nil, fmt.Errorf("%s must hold %d bytes in hex", path, n)
	}
	return secret, nil
}

// retiredKEKs reads the former key-encryption keys named by the configuration.
func retiredKEKs(cfg Config) ([][]byte, error) {
	var out [][]byte
	for _, path := range strings.Split(cfg.RetiredKEKFiles, ",") {
		if path = strings.TrimSpace(path); path == "" {
			continue
		}
		k, err := existingSecret(path, 32)
		if err != nil {
			return nil, fmt.Errorf("retired key-encryption key: %w", err)
		}
		out = append(out, k)
	}
	return out, nil
}

// rewrapBlobs moves every blob's data key from a retired KEK to the current one
// (`edossier-gateway rewrap-blobs`, same configuration as the gateway). It holds the
// blob store exclusively: it refuses to run while a gateway uses the store, and a
// gateway does not start while it runs.
func rewrapBlobs(ctx context.Context, cfg Config, out io.Writer) error {
	kek, err := existingSecret(cfg.KEKFile, 32)
	if err != nil {
		return fmt.Errorf("key-encryption key: %w", err)
	}
	retired, err := retiredKEKs(cfg)
	if err != nil {
		return err
	}
	if len(retired) == 0 {
		return errors.New("no retiredKekFiles configured: nothing to rewrap from")
	}
	store, err := blob.Open(blob.Options{Dir: filepath.Join(cfg.DataDir, "blobs"), KEK: kek, RetiredKEKs: retired,
		MaxSize: cfg.MaxUpload, Exclusive: true})
	if errors.Is(err, blob.ErrInUse) {
		return fmt.Errorf("%w: stop the gateways that use %s first", err, cfg.DataDir)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.SweepTemp(time.Minute); err != nil {
		return err
	}
	st, err := store.Rewrap(ctx)
	fmt.Fprintf(out, "blobs: %d, rewrapped: %d, already under the current key: %d, erased: %d, failed: %d\n",
		st.Blobs, st.Rewrapped, st.Blobs-st.Rewrapped-st.Erased-len(st.Failed), st.Erased, len(st.Failed))
	for _, f := range st.Failed {
		fmt.Fprintln(out, "failed:", f)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "done: every readable blob's data key is wrapped under", cfg.KEKFile+"; the retired keys can be removed from the configuration")
	return nil
}

// errBlobsDamaged is scrubBlobs' answer when some blob is damaged.
var errBlobsDamaged = errors.New("damaged blobs found")

// scrubBlobs reads every blob of the store (`edossier-gateway scrub-blobs`, same
// configuration as the gateway) and lists the damaged ones, one "damaged <cid>: <why>"
// line each; it returns errBlobsDamaged if there is any. Read-only: it shares the store
// with running gateways and repairs nothing (a damaged file is restored from a backup,
// or the issuer supersedes the record with a good copy; GET /v1/verify/{cid} names the
// records of a CID).
func scrubBlobs(ctx context.Context, cfg Config, out io.Writer) error {
	kek, err := existingSecret(cfg.KEKFile, 32)
	if err != nil {
		return fmt.Errorf("key-encryption key: %w", err)
	}
	retired, err := retiredKEKs(cfg)
	if err != nil {
		return err
	}
	dir := filepath.Join(cfg.DataDir, "blobs")
	if _, err := os.Stat(filepath.Join(dir, "blobs")); err != nil {
		return fmt.Errorf("no blob store in %s: %w", cfg.DataDir, err)
	}
	store, err := blob.Open(blob.Options{Dir: dir, KEK: kek, RetiredKEKs: retired, MaxSize: cfg.MaxUpload})
	if errors.Is(err, blob.ErrInUse) {
		return fmt.Errorf("%w: a key rotation (rewrap-blobs) holds %s; run scrub-blobs after it", err, cfg.DataDir)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	st, err := store.Scrub(ctx)
	for _, d := range st.Damage {
		fmt.Fprintf(out, "damaged %s: %v\n", d.CID, d.Err)
	}
	fmt.Fprintf(out, "blobs: %d, intact: %d, erased: %d, damaged: %d, bytes read: %d\n",
		st.Blobs, st.Intact, st.Erased, len(st.Damage), st.Bytes)
	if err != nil {
		return err
	}
	if len(st.Damage) > 0 {
		return fmt.Errorf("%w: %d of %d", errBlobsDamaged, len(st.Damage), st.Blobs)
	}
	return nil
}

// users enrolls department users with their CA and issues their API keys.
type users struct {
	enroller *ca.Enroller
	keys     *identity.KeyStore
}

func (u users) EnrollUser(ctx context.Context, org, user string) (string, error) {
	return u.enroller.EnrollUser(ctx, org, user)
}

func (u users) IssueKey(role gateway.Role, org, mspID, user, label string) (string, string, error) {
	key, e, err := u.keys.Create(role, org, mspID, user, label)
	return key, e.ID, err
}

// keyAdmin exposes the key store to the service without the stored hashes; verifier
// keys act as the platform identity.
type keyAdmin struct {
	keys             *identity.KeyStore
	org, mspID, user string
}

func apiKey(e identity.KeyEntry) service.APIKey {
	return service.APIKey{ID: e.ID, Role: e.Role, Org: e.Org, MSPID: e.MSPID, User: e.User, Verifier: e.Verifier,
		Label: e.Label, Created: e.Created, Revoked: e.Revoked, RevokedAt: e.RevokedAt, RevokedBy: e.RevokedBy}
}

func (k keyAdmin) ListKeys() []service.APIKey {
	list := k.keys.List()
	out := make([]service.APIKey, len(list))
	for i, e := range list {
		out[i] = apiKey(e)
	}
	return out
}

func (k keyAdmin) GetKey(id string) (service.APIKey, error) {
	e, ok := k.keys.Get(id)
	if !ok {
		return service.APIKey{}, gateway.Errorf(gateway.CodeNotFound, "no API key %q", id)
	}
	return apiKey(e), nil
}

func (k keyAdmin) RevokeKey(id, by string) (service.APIKey, error) {
	e, err := k.keys.RevokeBy(id, by)
	return apiKey(e), err
}

func (k keyAdmin) IssueVerifierKey(verifier, label string) (string, service.APIKey, error) {
	key, e, err := k.keys.CreateVerifier(verifier, k.org, k.mspID, k.user, label)
	return key, apiKey(e), err
}
