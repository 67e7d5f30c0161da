//go:build linux

// Package sandbox confines plugin processes with what the running kernel
// offers: namespaces, rlimits, no_new_privs, Landlock and seccomp, and runs
// them from sealed in-memory copies of their verified binaries.
//
// The host seals the plugin binary into a memfd ([SealedCopy], fed by
// manifest.Plugin.CopyBinary, which checks size and sha256 while copying;
// [SealedExecutable] for built-ins), then builds the command with
// [Command]. The command re-executes the gathering binary as
// `gathering plugin-exec POLICY ARGV...` ([LauncherMain]) inside new
// namespaces; the launcher confines itself and executes the memfd as
// /proc/self/fd/3, so the bytes hashed are the bytes run. [Level] says what
// each plugin got and what degraded.
//
// Built-ins run from a sealed copy of the gathering binary itself
// ([Spec].SelfImage): the host executes that memfd as the launcher, and the
// launcher ([LauncherMainWith]), being already the image, runs the plugin in
// its own process instead of executing the image a second time, which saves
// a process start (about 25 ms where a fresh page costs 18 µs). The
// confinement is the same, applied to every thread at once: no_new_privs,
// the capability sets and the bounding set through libpsx (or the runtime's
// AllThreadsSyscall without cgo), Landlock through go-landlock (libpsx, or
// TSYNC from ABI 8), seccomp with TSYNC; the descriptors the launcher
// inherited are closed, as the exec would have; and the plugin runs on the
// launcher's thread, which holds the parent-death signal, so a built-in that
// executes a program (a bridge, its language server) keeps it. If anything
// else is open or mapped (a file some package's init took before Landlock),
// the launcher executes the image after all. The tests run every confinement
// check both ways.
//
// Who applies what:
//
//   - host, at clone: user (the host's uid and gid mapped to themselves, so
//     files stay ours), pid, net (unless network is any), ipc, uts and
//     mount namespaces; Setpgid; Pdeathsig SIGKILL; the memfd as fd 3;
//     stdin /dev/null; an environment of allowlisted variables only.
//   - launcher, before exec: RLIMIT_CORE 0, NOFILE, FSIZE (SIGXFSZ ignored,
//     so writes fail with EFBIG), DATA (not AS, which breaks Go and V8);
//     empty read-only tmpfs over /tmp, /var/tmp, /run and /dev/shm with the
//     grants beneath them bound back ([MaskedPaths]); a fresh /proc for the
//     PID namespace; lo up for network loopback; fd 0
//     from /dev/null and close-on-exec above fd 3; no_new_privs; Landlock;
//     the seccomp deny-list; every capability dropped.
//
// Measured on Linux 6.18 (Landlock ABI 7): executing a memfd needs no
// Landlock right (it lives on the kernel's internal shmem mount, which
// Landlock always allows), but a dynamically linked one needs Execute on its
// ELF interpreter, which the kernel opens for execution; [Command] grants
// exactly that file. Go ≥1.24 listens with MPTCP, which Landlock's TCP rules
// miss, so network none relies on the empty network namespace first.
// Landlock below ABI 9 does not check connect(2) on pathname Unix sockets,
// hence the masked directories. go-seccomp-bpf lets syscalls of a foreign
// ABI (i386 int 0x80 on x86-64) through, hence a second filter refusing them.
//
// Known limits: Unix sockets outside the masked directories (in a home
// directory, say) stay connectable below Landlock ABI 9; no cgroup v2 (memory is capped by RLIMIT_DATA only; CPU
// and process count are not limited); Landlock's Execute right does not
// stop a plugin allowed to run its ELF loader from loading other readable
// binaries through it; the plugin is PID 1 of its namespace, so it reaps
// (or not) orphaned grandchildren itself, and getppid() returns 0 there.
package sandbox
