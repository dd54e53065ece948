package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the gateway's configuration. Sources, later ones winning: defaults, the YAML
// file given by -config (or EDOSSIER_GATEWAY_CONFIG), environment variables
// EDOSSIER_GATEWAY_<FIELD> (upper snake case of the yaml name), command-line flags.
type Config struct {
	Listen          string        `yaml:"listen" help:"HTTP listen address"`
	ConnectionFile  string        `yaml:"connectionFile" help:"network connection file written by edossierctl network up"`
	DataDir         string        `yaml:"dataDir" help:"folder for blobs, the wallet of enrolled identities and API keys"`
	PeerOrg         string        `yaml:"peerOrg" help:"organisation whose peer the gateway connects to"`
	PlatformOrg     string        `yaml:"platformOrg" help:"operator organisation whose identity submits signed grants and answers verifications"`
	PlatformUser    string        `yaml:"platformUser" help:"that organisation's user"`
	KEKFile         string        `yaml:"kekFile" help:"file with the 32-byte blob key-encryption key, hex (created with 0600 if missing)"`
	RetiredKEKFiles string        `yaml:"retiredKekFiles" help:"comma-separated files of former key-encryption keys, hex: blobs they wrapped stay readable until 'edossier-gateway rewrap-blobs' (empty: none)"`
	SubjectSecret   string        `yaml:"subjectSecretFile" help:"file with the subject-ID HMAC secret, hex (created with 0600 if missing; every gateway of a platform must share it)"`
	MaxUpload       int64         `yaml:"maxUploadBytes" help:"largest accepted file in bytes (413 above)"`
	VerifyRate      float64       `yaml:"verifyRate" help:"public verification requests per second per client IP"`
	VerifyBurst     int           `yaml:"verifyBurst" help:"burst of public verification requests per client IP"`
	TrustedProxies  string        `yaml:"trustedProxies" help:"comma-separated proxy addresses/CIDRs whose X-Forwarded-For is trusted (empty: none)"`
	APIKeyFile      string        `yaml:"apiKeyFile" help:"API key file (hashes only); every gateway of a platform shares it (empty: <dataDir>/api-keys.json)"`
	APIKeyRefresh   time.Duration `yaml:"apiKeyRefresh" help:"how often the gateway looks for key changes made by other gateways (a revocation takes effect everywhere within this time)"`

	OwnershipCheckInterval     time.Duration `yaml:"ownershipCheckInterval" help:"ownership checks (kind+idNumber on /v1/verify): one per API key every this long"`
	OwnershipCheckBurst        int           `yaml:"ownershipCheckBurst" help:"ownership checks: burst per API key"`
	OwnershipChecksPerDocument int           `yaml:"ownershipChecksPerDocument" help:"ownership checks: distinct ID numbers one document may be checked against per window (all callers)"`
	OwnershipCheckWindow       time.Duration `yaml:"ownershipCheckWindow" help:"ownership checks: the per-document window"`

	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout" help:"HTTP: time to read request headers"`
	ReadTimeout       time.Duration `yaml:"readTimeout" help:"HTTP: time to read a whole request (large uploads)"`
	WriteTimeout      time.Duration `yaml:"writeTimeout" help:"HTTP: time to write a whole response (large downloads)"`
	IdleTimeout       time.Duration `yaml:"idleTimeout" help:"HTTP: keep-alive idle time"`
	ShutdownTimeout   time.Duration `yaml:"shutdownTimeout" help:"graceful shutdown: time to finish requests in flight"`

	EvaluateTimeout     time.Duration `yaml:"evaluateTimeout" help:"Fabric: evaluate (query) timeout"`
	EndorseTimeout      time.Duration `yaml:"endorseTimeout" help:"Fabric: endorsement timeout"`
	SubmitTimeout       time.Duration `yaml:"submitTimeout" help:"Fabric: submit to ordering timeout"`
	CommitStatusTimeout time.Duration `yaml:"commitStatusTimeout" help:"Fabric: wait for commit timeout"`

	SignatureMaxAge time.Duration `yaml:"signatureMaxAge" help:"citizens' request signatures: maximum age (and replay window)"`

	PortalSessionTTL    time.Duration `yaml:"portalSessionTtl" help:"web portal: how long a clerk's session lasts after sign-in"`
	PortalSecureCookies bool          `yaml:"portalSecureCookies" help:"web portal: mark cookies Secure on plain HTTP too (behind a TLS-terminating proxy; TLS requests always get Secure cookies)"`
	PublicURL           string        `yaml:"publicUrl" help:"base URL of verification links in QR codes and slips (empty: the request's own scheme and host)"`
	OrphanGrace         time.Duration `yaml:"orphanGrace" help:"how long after a failed transaction its newly stored file is removed (if unreferenced)"`
	Index               string        `yaml:"index" help:"event-fed index: sqlite (embedded, the default), postgres (several gateways; indexDsn) or off (verification queries the chaincode)"`
	IndexFile           string        `yaml:"indexFile" help:"SQLite index file (empty: <dataDir>/index.db)"`
	IndexDSN            string        `yaml:"indexDsn" help:"PostgreSQL index connection string (index: postgres), e.g. postgres://edossier@127.0.0.1:5432/edossier"`
	IndexMaxLag         int           `yaml:"indexMaxLag" help:"/readyz answers 503 when the index lags the ledger by more blocks than this (0: report the lag only)"`
	PrecheckAbove       int64         `yaml:"precheckAboveBytes" help:"uploads longer than this (or of unknown length) are checked by the chaincode before the file is read; smaller ones are judged by the endorsement after staging (-1: always check first)"`
	LogFormat           string        `yaml:"logFormat" help:"log format: json or text"`
	LogLevel            string        `yaml:"logLevel" help:"log level: debug, info, warn, error"`
	// DemoKeysFile, when set, makes the gateway create an operator key and one key per
	// department client user on first start and write them to this file (make run).
	DemoKeysFile string `yaml:"demoKeysFile" help:"if set: create demo API keys on first start and write them to this file"`
}

func defaultConfig() Config {
	return Config{
		Listen:              "127.0.0.1:8080",
		ConnectionFile:      ".edossier/network/connection.json",
		DataDir:             ".edossier/gateway",
		PeerOrg:             "operator",
		PlatformOrg:         "operator",
		PlatformUser:        "ops",
		KEKFile:             ".edossier/gateway/secrets/kek.hex",
		SubjectSecret:       ".edossier/gateway/secrets/subject-secret.hex",
		MaxUpload:           1 << 30,
		VerifyRate:          50,
		VerifyBurst:         100,
		ReadHeaderTimeout:   10 * time.Second,
		ReadTimeout:         30 * time.Minute,
		WriteTimeout:        30 * time.Minute,
		IdleTimeout:         2 * time.Minute,
		ShutdownTimeout:     30 * time.Second,
		EvaluateTimeout:     10 * time.Second,
		EndorseTimeout:      15 * time.Second,
		SubmitTimeout:       10 * time.Second,
		CommitStatusTimeout: 60 * time.Second,
		SignatureMaxAge:     5 * time.Minute,
		PortalSessionTTL:    30 * time.Minute,
		OrphanGrace:         2 * time.Minute,
		PrecheckAbove:       1 << 20,
		APIKeyRefresh:       30 * time.Second,

		OwnershipCheckInterval:     30 * time.Second,
		OwnershipCheckBurst:        20,
		OwnershipChecksPerDocument: 3,
		OwnershipCheckWindow:       24 * time.Hour,
		Index:                      "sqlite",
		LogFormat:                  "json",
		LogLevel:                   "info",
	}
}

// loadConfig applies file, environment and flags to the defaults.
func loadConfig(args []string, getenv func(string) string) (Config, error) {
	cfg := defaultConfig()
	path := getenv("EDOSSIER_GATEWAY_CONFIG")
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "-config="); ok {
			path = v
		} else if v, ok := strings.CutPrefix(a, "--config="); ok {
			path = v
		} else if (a == "-config" || a == "--config") && i+1 < len(args) {
			path = args[i+1]
		}
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return cfg, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, err
	}
	fs := flag.NewFlagSet("edossier-gateway", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage:
  edossier-gateway [settings]               serve the REST API
  edossier-gateway rewrap-blobs [settings]  wrap every blob's data key under kekFile
                                            (after a KEK rotation; gateways stopped)
Settings (file, then environment, then flags):
`)
		fs.PrintDefaults()
	}
	fs.String("config", path, "YAML configuration file (env EDOSSIER_GATEWAY_CONFIG)")
	bindFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	var errs []error
	if c.Listen == "" || c.ConnectionFile == "" || c.DataDir == "" {
		errs = append(errs, errors.New("listen, connectionFile and dataDir are required"))
	}
	if c.MaxUpload <= 0 {
		errs = append(errs, errors.New("maxUploadBytes must be positive"))
	}
	if c.APIKeyRefresh < 0 {
		errs = append(errs, errors.New("apiKeyRefresh must not be negative"))
	}
	if c.OwnershipCheckInterval <= 0 || c.OwnershipCheckBurst <= 0 || c.OwnershipChecksPerDocument <= 0 || c.OwnershipCheckWindow <= 0 {
		errs = append(errs, errors.New("ownershipCheckInterval, ownershipCheckBurst, ownershipChecksPerDocument and ownershipCheckWindow must be positive"))
	}
	switch {
	case c.Index != "sqlite" && c.Index != "postgres" && c.Index != "off":
		errs = append(errs, fmt.Errorf("index %q: sqlite, postgres or off", c.Index))
	case c.Index == "postgres" && c.IndexDSN == "":
		errs = append(errs, errors.New("index postgres needs indexDsn"))
	case c.IndexMaxLag < 0:
		errs = append(errs, errors.New("indexMaxLag must not be negative"))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("logFormat %q: json or text", c.LogFormat))
	}
	for _, d := range []time.Duration{c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, c.IdleTimeout, c.ShutdownTimeout,
		c.EvaluateTimeout, c.EndorseTimeout, c.SubmitTimeout, c.CommitStatusTimeout, c.SignatureMaxAge, c.OrphanGrace, c.PortalSessionTTL} {
		if d <= 0 {
			errs = append(errs, errors.New("every timeout must be positive"))
			break
		}
	}
	return errors.Join(errs...)
}

// envName turns a yaml name into its environment variable: maxUploadBytes ->
// EDOSSIER_GATEWAY_MAX_UPLOAD_BYTES.
func envName(yamlName string) string {
	var b strings.Builder
	for i, r := range yamlName {
		if r >= 'A' && r <= 'Z' && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return "EDOSSIER_GATEWAY_" + strings.ToUpper(b.String())
}

func fields(cfg *Config) []struct {
	name, help string
	v          reflect.Value
} {
	var out []struct {
		name, help string
		v          reflect.Value
	}
	rv := reflect.ValueOf(cfg).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		out = append(out, struct {
			name, help string
			v          reflect.Value
		}{f.Tag.Get("yaml"), f.Tag.Get("help"), rv.Field(i)})
	}
	return out
}

func setValue(v reflect.Value, s string) error {
	switch v.Interface().(type) {
	case string:
		v.SetString(s)
	case int, int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

func applyEnv(cfg *Config, getenv func(string) string) error {
	for _, f := range fields(cfg) {
		if s := getenv(envName(f.name)); s != "" {
			if err := setValue(f.v, s); err != nil {
				return fmt.Errorf("%s=%q: %w", envName(f.name), s, err)
			}
		}
	}
	return nil
}

type reflectFlag struct{ v reflect.Value }

func (r reflectFlag) String() string {
	if !r.v.IsValid() {
		return ""
	}
	return fmt.Sprint(r.v.Interface())
}
func (r reflectFlag) Set(s string) error { return setValue(r.v, s) }

func bindFlags(fs *flag.FlagSet, cfg *Config) {
	for _, f := range fields(cfg) {
		fs.Var(reflectFlag{f.v}, f.name, fmt.Sprintf("%s (env %s)", f.help, envName(f.name)))
	}
}
