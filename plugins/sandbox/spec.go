//go:build linux

package sandbox

import (
	"os"

	"github.com/gathering-dev/gathering/plugins/manifest"
)

// LauncherCommand is the first argument of a launcher command line:
// cmd/gathering runs `gathering plugin-exec POLICY ARGV...` as
//
//	if len(os.Args) > 1 && os.Args[1] == sandbox.LauncherCommand {
//		os.Exit(sandbox.LauncherMain(os.Args[2:]))
//	}
//
// before any flag parsing.
const LauncherCommand = "plugin-exec"

// Network values, as a manifest's permissions.network spells them.
const (
	// NetworkNone: an empty network namespace (no interface is up) and,
	// with Landlock ABI 4+, TCP bind and connect refused.
	NetworkNone = "none"
	// NetworkLoopback: a private network namespace whose lo is up, so the
	// plugin and its children can talk to each other over 127.0.0.1, but
	// not to anything of the host's, loopback services included.
	NetworkLoopback = "loopback"
	// NetworkAny: the host's network, unrestricted; [Level] warns.
	NetworkAny = "any"
)

// Spec is everything [Command] needs to start one sandboxed plugin.
// Paths are absolute and already expanded by the host (no ${workspace}).
type Spec struct {
	// Launcher is the program that applies the sandbox from inside and then
	// executes the plugin: normally os.Executable(), which dispatches
	// [LauncherCommand] to [LauncherMain].
	Launcher string
	// Binary is the sealed memfd holding the plugin (see [SealedCopy]). It
	// becomes fd 3 of the launcher, which executes /proc/self/fd/3. Command
	// does not close it; the caller keeps it open while plugins start.
	Binary *os.File
	// SelfImage says Binary is a sealed copy of the launcher program itself
	// (the built-ins' image). The command then executes Binary as the
	// launcher (Launcher is only its argv[0]), so the launcher's bytes are
	// the sealed ones too; a launcher run through [LauncherMainWith] then
	// runs the plugin in its own process once every thread is confined,
	// which saves starting the same program twice.
	SelfImage bool
	// Args is the plugin's argv, argv[0] included; empty means {"plugin"}.
	Args []string
	// EnvAllow names host environment variables copied into the plugin's
	// environment when set (the manifest's permissions.env).
	EnvAllow []string
	// Env holds KEY=VALUE entries added last, overriding everything else
	// (go-plugin's magic cookie and protocol variables, for instance).
	Env []string

	// Read, Write and Exec are the granted paths (files or directories):
	// Read read-only, Write read-write, Exec read and execute. Paths that do
	// not exist when the plugin starts are skipped.
	Read, Write, Exec []string
	// Network is NetworkNone, NetworkLoopback or NetworkAny; empty means none.
	Network string
	// Limits are the manifest's limits after the host policy was applied:
	// MaxOpenFiles → RLIMIT_NOFILE, MaxFileWriteMB → RLIMIT_FSIZE,
	// MemoryMB → RLIMIT_DATA. Zero leaves a limit as inherited. CPUPercent
	// and MaxPids need cgroup v2 and are reported as not enforced.
	Limits manifest.Limits
	// SocketDir is where the plugin creates its go-plugin Unix socket
	// (PLUGIN_UNIX_SOCKET_DIR); read-write. The host connects to the socket
	// by path, which works across network namespaces.
	SocketDir string
	// CacheDir is the plugin's own read-write directory; it is also HOME,
	// TMPDIR, XDG_CACHE_HOME and the working directory unless Dir is set.
	CacheDir string
	// Dir is the working directory; empty means CacheDir.
	Dir string
	// StdinPipe says the caller sets the Cmd's Stdin to a pipe of the
	// host's own, which the plugin reads LSP messages from. Without it the
	// launcher makes stdin /dev/null whatever it was given, so that no
	// plugin ever reads the host's own stdin (an editor's pipe, in stdio
	// mode).
	StdinPipe bool

	// Capabilities is what the kernel allows; nil means [Probe], run once
	// per process and remembered.
	Capabilities *Capabilities
	// DisableNamespaces, DisableLandlock and DisableSeccomp turn a layer off
	// (for diagnosis, or where it breaks a plugin); [Level] then says so.
	DisableNamespaces bool
	DisableLandlock   bool
	DisableSeccomp    bool
}

// baseEnv are the host variables every plugin gets when they are set,
// before EnvAllow. HOME and TMPDIR are never copied: they point at the
// cache dir.
var baseEnv = []string{"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ"}

// SystemReadPaths are what the launcher grants read-only (never execute) to
// every plugin, so that dynamically linked programs such as node, gopls or
// pyright start: shared libraries and their loader's configuration, the few
// /etc files libc and TLS read, /proc, the /sys files runtimes size
// themselves with, and the random and zero devices. Paths missing on this
// machine are skipped. /etc as a whole is not granted: it holds secrets
// (shadow, ssh keys) a plugin running as the host's uid could read.
var SystemReadPaths = []string{
	"/usr", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/host.conf",
	"/etc/resolv.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols",
	"/etc/localtime", "/etc/timezone", "/etc/os-release", "/etc/mime.types",
	"/etc/ssl", "/etc/ca-certificates", "/etc/ca-certificates.conf", "/etc/pki",
	"/proc",
	"/sys/devices/system/cpu", "/sys/fs/cgroup", "/sys/kernel/mm/transparent_hugepage",
	"/dev/zero", "/dev/urandom", "/dev/random",
}

// SystemReadWritePaths are granted read-write to every plugin.
var SystemReadWritePaths = []string{"/dev/null", "/dev/full"}

// MaskedPaths get an empty, read-only tmpfs in the plugin's mount namespace
// (when it has one), with the granted paths beneath them bound back. They
// are where processes leave Unix sockets (Docker's, D-Bus's, ssh-agent's,
// other plugins'), which below Landlock ABI 9 a plugin could connect to
// whatever its grants: Landlock checks opening files, not connecting to
// sockets. Symlinks (such as /var/run → /run) and missing paths are skipped.
var MaskedPaths = []string{"/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm"}
