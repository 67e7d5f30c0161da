package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// config holds every setting of every command. Each is read, in order of
// precedence, from a command-line flag, a GATHERING_* environment variable,
// and the TOML config file; see [registerFlags] for the list.
type config struct {
	ConfigFile string

	Database  string
	DataDir   string
	LogLevel  string
	LogFile   string
	LogFormat string

	Listen           string
	Stdio            bool
	MaxFrameBytes    int64
	MaxDocumentBytes int64
	MaxInFlight      int
	MaxSessions      int
	DrainTimeout     time.Duration
	DebugMethods     bool

	TLSCert       string
	TLSKey        string
	Insecure      bool
	TokenTTL      time.Duration
	RateLimit     float64
	UserRateLimit float64

	WorkspaceExclude listFlag
	MaxWatches       int
	TreeCacheBytes   int64
	MaxFileBytes     int64
	TrustedRoots     listFlag

	Plugins         listFlag
	PluginDirs      listFlag
	PluginDev       listFlag
	PluginTrust     string
	PluginCacheDir  string
	LanguageServers listFlag
}

// listFlag is a comma-separated list setting; in the config file it may
// also be a TOML array of strings.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = nil
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

// Where each setting applies.
const (
	scopeAll     = "all"
	scopeServe   = "serve"
	scopePlugins = "plugins" // the store's settings and the plugins'; doctor and plugin list
)

// envName returns the environment variable for a setting.
func envName(flagName string) string {
	if flagName == "database" {
		return "GATHERING_DATABASE_URL" // the name DESIGN.md gives it
	}
	return "GATHERING_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// registerFlags adds the settings of a command to fs. scope is scopeServe
// for serve and scopeAll for the commands that only touch the store.
func registerFlags(fs *flag.FlagSet, c *config, scope string) {
	fs.StringVar(&c.ConfigFile, "config", "", "TOML config `file` (default: <user config dir>/gathering/config.toml)")
	fs.StringVar(&c.Database, "database", "", "store: a postgres:// URL, or a SQLite file `path` (default: <data-dir>/gathering.db)")
	fs.StringVar(&c.DataDir, "data-dir", defaultDataDir(), "`dir`ectory for the SQLite store and other local state")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&c.LogFile, "log-file", "", "append logs to this `file` instead of stderr")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log `format`: text or json")
	if scope == scopePlugins {
		fs.Int64Var(&c.MaxDocumentBytes, "max-document-bytes", 8<<20, "`bytes` above which a document is kept but not sent to plugins")
		registerPluginFlags(fs, c)
		return
	}
	if scope != scopeServe {
		return
	}
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:7998", "TCP `address` to serve on; clients authenticate with a token (see gathering token create)")
	fs.BoolVar(&c.Stdio, "stdio", false, "serve one client on stdin/stdout instead of TCP, as editors spawn it")
	fs.Int64Var(&c.MaxFrameBytes, "max-frame-bytes", 64<<20, "largest incoming message in `bytes`; larger ones are refused unread")
	fs.Int64Var(&c.MaxDocumentBytes, "max-document-bytes", 8<<20, "`bytes` above which a document is kept but not sent to plugins")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 256, "concurrent requests per client `n`; more are refused")
	fs.IntVar(&c.MaxSessions, "max-sessions", 256, "concurrent TCP clients `n`; more are refused")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", 10*time.Second, "on SIGTERM, how long running requests may finish (`duration`)")
	fs.BoolVar(&c.DebugMethods, "debug-methods", false, "enable gathering/debug/* (echo, sleep) for client tests and benchmarks")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate `file` for TLS on the TCP listener (with --tls-key)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key `file` for TLS on the TCP listener (with --tls-cert)")
	fs.BoolVar(&c.Insecure, "insecure", false, "allow a non-loopback --listen address without TLS (tokens and passwords then cross the network in clear)")
	fs.DurationVar(&c.TokenTTL, "token-ttl", 24*time.Hour, "lifetime of the tokens gathering/auth/login issues (`duration`)")
	fs.Float64Var(&c.RateLimit, "rate-limit", 200, "requests per second one TCP connection may make (`n`, bursts of twice that); 0 or less: no limit")
	fs.Float64Var(&c.UserRateLimit, "user-rate-limit", 400, "requests per second one user may make over all its connections to this instance (`n`); 0 or less: no limit")
	fs.Var(&c.WorkspaceExclude, "workspace-exclude", "comma-separated `patterns` never listed or searched, beside .gitignore (e.g. node_modules,dist)")
	fs.IntVar(&c.MaxWatches, "max-watches", 8192, "directories watched per project (`n`); the rest are polled")
	fs.Int64Var(&c.TreeCacheBytes, "tree-cache-bytes", 256<<20, "memory for all projects' cached tree listings (`bytes`)")
	fs.Int64Var(&c.MaxFileBytes, "max-file-bytes", 8<<20, "largest file gathering/workspace/read and write handle (`bytes`)")
	fs.Var(&c.TrustedRoots, "trusted-roots", "comma-separated project root `dirs` whose git hooks, filters and other configured programs may run (default: none)")
	registerPluginFlags(fs, c)
}

// registerPluginFlags adds the plugin settings, which serve, doctor and
// gathering plugin list share.
func registerPluginFlags(fs *flag.FlagSet, c *config) {
	// go, not gopls, by default: both serve Go files, and together they
	// would give every Go document two sets of diagnostics and completions.
	c.Plugins = listFlag{"go", "pyright", "typescript"}
	fs.Var(&c.Plugins, "plugins", "comma-separated built-in plugins to run when their language server is found (`names`: go, gopls, pyright, typescript; gopls instead of go for gopls's Go support; none for no built-ins)")
	fs.Var(&c.PluginDirs, "plugin-dirs", "comma-separated `dirs` holding one signed plugin per subdirectory (default: <data-dir>/plugins)")
	fs.Var(&c.PluginDev, "plugin-dev", "comma-separated plugin `dirs` whose plugins may be unsigned (development only; each load warns)")
	fs.StringVar(&c.PluginTrust, "plugin-trust", "", "TOML `file` of keys trusted to sign plugins (default: <user config dir>/gathering/trust.toml)")
	fs.Var(&c.LanguageServers, "language-servers", "comma-separated `name=path` pairs giving a bridge built-in's language server (e.g. gopls=/opt/go/bin/gopls); unlisted ones are searched on PATH, then where scripts/langservers installs them")
	fs.StringVar(&c.PluginCacheDir, "plugin-cache-dir", "", "`dir`ectory plugins may write, one subdirectory each (default: <data-dir>/plugin-cache)")
}

// knownSettings lists every setting name any command accepts, so a config
// file shared by all commands is checked against all of them.
func knownSettings() []string {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	registerFlags(fs, &config{}, scopeServe)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// parseSettings parses args into fs, then fills each setting not given on the
// command line from the environment, then from the config file.
func parseSettings(fs *flag.FlagSet, c *config, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	path, explicit := c.ConfigFile, c.ConfigFile != ""
	if !explicit {
		path, explicit = getenv(envName("config")), getenv(envName("config")) != ""
	}
	if !explicit {
		path = defaultConfigFile()
	}
	file, err := readConfigFile(path, explicit)
	if err != nil {
		return err
	}
	c.ConfigFile = path

	var errs []error
	known := knownSettings()
	fs.VisitAll(func(f *flag.Flag) {
		// A command's own flags (gathering user add --email, say) are
		// arguments, not settings: never read from the environment or file.
		if set[f.Name] || f.Name == "config" || !slices.Contains(known, f.Name) {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(f.Name), err))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if list, ok := v.([]any); ok { // a TOML array for a list setting
				items := make([]string, len(list))
				for i, item := range list {
					items[i] = fmt.Sprint(item)
				}
				v = strings.Join(items, ",")
			}
			if err := fs.Set(f.Name, fmt.Sprint(v)); err != nil {
				errs = append(errs, fmt.Errorf("%s: setting %q: %w", path, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// readConfigFile reads the TOML settings file. A missing default file is no
// error; a missing file the user named is.
func readConfigFile(path string, explicit bool) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("config %s is over 1 MiB", path)
	}
	m := map[string]any{}
	if _, err := toml.Decode(string(data), &m); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	known := knownSettings()
	for k := range m {
		if !slices.Contains(known, k) || k == "config" {
			return nil, fmt.Errorf("config %s: unknown setting %q", path, k)
		}
	}
	return m, nil
}

func defaultConfigFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return filepath.Join(".", "gathering.toml")
	}
	return filepath.Join(dir, "gathering", "config.toml")
}

func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "gathering")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "gathering")
	}
	return filepath.Join(home, ".local", "share", "gathering")
}

// databaseURL returns the store to open: the configured one, or the SQLite
// file in the data directory.
func (c *config) databaseURL() string {
	if c.Database != "" {
		return c.Database
	}
	return filepath.Join(c.DataDir, "gathering.db")
}

// usage prints a command's settings with their environment variables.
func usage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "%s\n\nSettings (flag, then environment, then config file key):\n", synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		name, text := flag.UnquoteUsage(f)
		arg := "--" + f.Name
		if name != "" {
			arg += " " + name
		}
		fmt.Fprintf(w, "  %s\n      %s\n      env %s", arg, text, envName(f.Name))
		if f.Name != "config" {
			fmt.Fprintf(w, ", file key %q", f.Name)
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(w, ", default %s", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// newFlagSet returns a command's flag set, printing synopsis and every
// setting for --help.
func newFlagSet(name string, c *config, scope string, stderr io.Writer, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	registerFlags(fs, c, scope)
	fs.Usage = func() { usage(fs.Output(), fs, synopsis) }
	return fs
}
