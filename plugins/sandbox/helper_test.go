//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gathering-dev/gathering/plugins/manifest"
	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/psx"
)

// helperEnv makes the test binary act as the launcher (argv[1] ==
// "plugin-exec"), which runs the probe in its own process when it is the
// sealed image ([Spec].SelfImage), or as the probe plugin (argv[0] ==
// "probe").
const helperEnv = "GATHERING_SANDBOX_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		if len(os.Args) > 1 && os.Args[1] == LauncherCommand {
			holdBeforeConfining(os.Getenv(holdEnv))
			os.Exit(LauncherMainWith(os.Args[2:], runProbe))
		}
		if os.Args[0] == "probe" {
			os.Exit(probeMain(os.Args[1:]))
		}
		if len(os.Args) > 1 && os.Args[1] == "host" {
			os.Exit(hostMain(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

// holdEnv, "fd:PATH" or "map:PATH", makes the launcher open PATH, or map
// it and close it, before it confines itself, as a package's init might.
const holdEnv = "GATHERING_SANDBOX_TEST_HOLD"

func holdBeforeConfining(what string) {
	how, path, _ := strings.Cut(what, ":")
	if path == "" {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	if how == "map" {
		if _, err := unix.Mmap(int(f.Fd()), 0, 4, unix.PROT_READ, unix.MAP_SHARED); err != nil {
			panic(err)
		}
		f.Close()
		return
	}
	heldFiles = append(heldFiles, f)
}

// heldFiles keeps what holdBeforeConfining opened from the collector.
var heldFiles []*os.File

// runProbe is the probe's main for a launcher that runs it in process.
func runProbe(argv []string) int {
	if argv[0] != "probe" {
		fmt.Fprintf(os.Stderr, "not the probe: %q\n", argv)
		return 2
	}
	return probeMain(argv[1:])
}

// probeMain is the plugin the tests run in the sandbox: each argument is an
// operation, and it prints one line "OP\tRESULT" per operation, RESULT
// being "ok", "ok VALUE" or the errno name of the failure ("EACCES").
func probeMain(ops []string) int {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for _, op := range ops {
		fmt.Fprintf(out, "%s\t%s\n", op, runOp(op))
		out.Flush()
	}
	return 0
}

func result(v string, err error) string {
	if err != nil {
		return errName(err)
	}
	if v == "" {
		return "ok"
	}
	return "ok " + v
}

func errName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return "error " + err.Error()
}

func runOp(op string) string {
	name, arg, _ := strings.Cut(op, ":")
	switch name {
	case "hello":
		return "ok"
	case "read":
		_, err := os.ReadFile(arg)
		return result("", err)
	case "write":
		return result("", os.WriteFile(arg, []byte("x"), 0o644))
	case "connect":
		c, err := net.DialTimeout("tcp", arg, 2*time.Second)
		if err == nil {
			c.Close()
		}
		return result("", err)
	case "dialunix":
		c, err := net.DialTimeout("unix", arg, 2*time.Second)
		if err == nil {
			c.Close()
		}
		return result("", err)
	case "loopback":
		// Listen and connect to ourselves on 127.0.0.1.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return result("", err)
		}
		defer l.Close()
		c, err := net.DialTimeout("tcp", l.Addr().String(), 2*time.Second)
		if err == nil {
			c.Close()
		}
		return result("", err)
	case "stdin":
		var st, null unix.Stat_t
		if err := unix.Fstat(0, &st); err != nil {
			return result("", err)
		}
		if err := unix.Stat("/dev/null", &null); err != nil {
			return result("", err)
		}
		n, err := os.Stdin.Read(make([]byte, 1))
		if st.Rdev == null.Rdev && st.Mode&unix.S_IFMT == unix.S_IFCHR && n == 0 && err == io.EOF {
			return "ok devnull"
		}
		return fmt.Sprintf("not /dev/null: rdev %d, read %d %v", st.Rdev, n, err)
	case "emfile":
		n, _ := strconv.Atoi(arg)
		var files []*os.File
		defer func() {
			for _, f := range files {
				f.Close()
			}
		}()
		for range n {
			f, err := os.Open("/dev/null")
			if err != nil {
				return result("", err)
			}
			files = append(files, f)
		}
		return "ok"
	case "efbig": // efbig:PATH:BYTES
		path, size, _ := strings.Cut(arg, ":")
		n, _ := strconv.Atoi(size)
		return result("", os.WriteFile(path, make([]byte, n), 0o644))
	case "keyctl":
		// KEYCTL_GET_KEYRING_ID of the session keyring, without creating it.
		_, _, errno := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffd), 0)
		if errno != 0 && errno != unix.ENOKEY {
			return result("", errno)
		}
		return "ok"
	case "clone-newuser", "unshare-newuser":
		attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
		if name == "unshare-newuser" {
			attr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWUSER}
		}
		pid, err := syscall.ForkExec("/proc/self/exe", []string{"probe", "hello"}, &syscall.ProcAttr{Env: os.Environ(), Sys: attr})
		if err == nil {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
		return result("", err)
	case "ptrace":
		child := exec.Command("/proc/self/exe", "wait")
		child.Args[0] = "probe"
		if err := child.Start(); err != nil {
			return "start child: " + errName(err)
		}
		defer func() { child.Process.Kill(); child.Wait() }()
		return result("", syscall.PtraceAttach(child.Process.Pid))
	case "run": // runs the JSON argv in $PROBE_RUN, answers its output
		var argv []string
		if err := json.Unmarshal([]byte(os.Getenv("PROBE_RUN")), &argv); err != nil || len(argv) == 0 {
			return "bad PROBE_RUN"
		}
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		text := strings.Join(strings.Fields(string(out)), " ")
		if err != nil {
			return fmt.Sprintf("failed %v: %s", err, text)
		}
		return "ok " + text
	case "wait":
		for { // not select{}: without cgo the runtime calls that a deadlock and exits
			time.Sleep(time.Hour)
		}
	case "grandchild": // grandchild:SLEEP:SECONDS starts SLEEP SECONDS and returns its pid
		bin, secs, _ := strings.Cut(arg, ":")
		c := exec.Command(bin, secs)
		if err := c.Start(); err != nil {
			return result("", err)
		}
		return result(strconv.Itoa(c.Process.Pid), nil)
	case "status": // the sandbox bits of every thread's status, when alike
		return threadStatus()
	case "inprocess": // whether the launcher ran the probe in its own process
		if len(os.Args) > 1 && os.Args[1] == LauncherCommand {
			return "ok yes"
		}
		return "ok no"
	case "fds": // the descriptors above fd 3, but the runtime's
		fds, err := descriptors()
		if err != nil {
			return result("", err)
		}
		var open []string
		for _, fd := range fds {
			if target, ok := runtimeFD(fd); !ok {
				open = append(open, fmt.Sprintf("%d=%s", fd, target))
			}
		}
		return result(strings.Join(open, " "), nil)
	case "open-all-threads": // opens arg on every thread at once; any thread that differs kills the probe
		atFDCWD := unix.AT_FDCWD
		p, err := unix.BytePtrFromString(arg)
		if err != nil {
			return result("", err)
		}
		fd, _, errno := psx.Syscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
		if errno != 0 {
			return result("", errno)
		}
		return "opened as fd " + strconv.Itoa(int(fd)) // on one thread only: an fd number is never the same twice
	case "procs": // how many processes /proc shows
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return result("", err)
		}
		n := 0
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				n++
			}
		}
		return result(strconv.Itoa(n), nil)
	case "serve": // serve:SOCKET listens on a Unix socket, answers one "hi"
		l, err := net.Listen("unix", arg)
		if err != nil {
			return result("", err)
		}
		fmt.Println("listening")
		c, err := l.Accept()
		if err != nil {
			return result("", err)
		}
		_, err = c.Write([]byte("hi"))
		c.Close()
		return result("", err)
	}
	return "unknown op"
}

// threadStatus answers the sandbox bits of /proc/self/task/*/status when
// every thread has the same, and names the threads otherwise.
func threadStatus() string {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return result("", err)
	}
	byThread := map[string]string{}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "status"))
		if err != nil {
			continue // the thread ended meanwhile
		}
		var keep []string
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			switch k {
			case "NoNewPrivs", "Seccomp", "CapInh", "CapEff", "CapPrm", "CapBnd", "CapAmb":
				keep = append(keep, k+"="+strings.TrimSpace(v))
			}
		}
		byThread[task.Name()] = strings.Join(keep, " ")
	}
	var first string
	for _, st := range byThread {
		first = st
		break
	}
	for _, st := range byThread {
		if st != first {
			return fmt.Sprintf("threads differ: %v", byThread)
		}
	}
	if len(byThread) < 2 {
		return fmt.Sprintf("only %d thread to compare", len(byThread))
	}
	return "ok " + first
}

// testEnv is one sandboxed plugin's world: a workspace it may read, a
// secret dir it may not, its cache and socket dirs.
type testEnv struct {
	t                                *testing.T
	binary                           *os.File
	workspace, secret, cache, socket string
	// inProcess makes spec ask for the built-ins' way ([Spec].SelfImage):
	// the launcher runs the probe in its own process. run checks it did.
	inProcess bool
}

// bothWays runs test with a plugin executed by the launcher and with one
// the launcher runs in its own process, each in a fresh testEnv: every
// confinement must hold either way. The environments' directories are
// t's, not the subtests' (whose longer names would push socket paths past
// the 108 bytes a Unix socket address holds).
func bothWays(t *testing.T, test func(t *testing.T, e *testEnv)) {
	for _, inProcess := range []bool{false, true} {
		name := "exec"
		if inProcess {
			name = "in-process"
		}
		e := newTestEnv(t)
		e.inProcess = inProcess
		t.Run(name, func(t *testing.T) {
			e.t = t
			test(t, e)
		})
	}
}

// sealedSelf is one sealed copy of this test binary, the probe plugin,
// shared by the tests: sealed, it cannot change under them.
var sealedSelf = sync.OnceValues(func() (*os.File, error) {
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	defer self.Close()
	return SealedCopy("probe", func(w io.Writer) (int64, error) { return io.Copy(w, self) })
})

func sealedTestBinary(t testing.TB) *os.File {
	t.Helper()
	f, err := sealedSelf()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	root := t.TempDir()
	e := &testEnv{t: t, binary: sealedTestBinary(t)}
	for _, d := range []*string{&e.workspace, &e.secret, &e.cache, &e.socket} {
		*d, _ = os.MkdirTemp(root, "")
	}
	for _, f := range []string{filepath.Join(e.workspace, "main.go"), filepath.Join(e.secret, "token")} {
		if err := os.WriteFile(f, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// spec is a full sandbox: read the workspace, nothing else granted.
func (e *testEnv) spec(ops ...string) Spec {
	return Spec{
		Launcher:  os.Args[0],
		Binary:    e.binary,
		Args:      append([]string{"probe"}, ops...),
		Env:       []string{helperEnv + "=1", "GORACE=atexit_sleep_ms=0"},
		Read:      []string{e.workspace},
		Network:   NetworkNone,
		Limits:    testLimits(),
		SocketDir: e.socket,
		CacheDir:  e.cache,
		SelfImage: e.inProcess,
	}
}

func testLimits() manifest.Limits {
	return manifest.Limits{MemoryMB: 1024, MaxOpenFiles: 256, MaxFileWriteMB: 16}
}

// run starts spec and returns each op's result, after checking the probe
// ran in process exactly when spec asked for it.
func (e *testEnv) run(spec Spec) (map[string]string, Level) {
	e.t.Helper()
	spec.Args = append(slices.Clone(spec.Args), "inprocess")
	cmd, lvl, err := Command(spec)
	if err != nil {
		e.t.Fatalf("Command: %v", err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		e.t.Fatalf("plugin failed: %v\nstderr: %s\nstdout: %s", err, stderr.Bytes(), out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		op, res, _ := strings.Cut(line, "\t")
		got[op] = res
	}
	if want := map[bool]string{true: "ok yes", false: "ok no"}[spec.SelfImage]; got["inprocess"] != want {
		e.t.Errorf("inprocess = %q, want %q (SelfImage %v)", got["inprocess"], want, spec.SelfImage)
	}
	return got, lvl
}

// expect checks op results; a want ending in "*" matches a prefix.
func (e *testEnv) expect(got map[string]string, want map[string]string) {
	e.t.Helper()
	for op, w := range want {
		g, ok := got[op]
		switch {
		case !ok:
			e.t.Errorf("%s: no result", op)
		case strings.HasSuffix(w, "*") && strings.HasPrefix(g, strings.TrimSuffix(w, "*")):
		case g != w:
			e.t.Errorf("%s = %q, want %q", op, g, w)
		}
	}
}

// hostMain is a short-lived host: it starts the sandboxed probe with
// ops "grandchild:SLEEP:SECS" and "wait", says "ready" once the grandchild
// runs, and exits, leaving the plugin to its parent-death signal.
// args: DIR SLEEP SECS WAY, WAY being exec or in-process (Spec.SelfImage).
func hostMain(args []string) int {
	dir, sleep, secs, inProcess := args[0], args[1], args[2], args[3] == "in-process"
	bin, _, err := SealedExecutable("probe")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	cmd, lvl, err := Command(Spec{Launcher: "/proc/self/exe", Binary: bin, Args: []string{"probe", "grandchild:" + sleep + ":" + secs, "wait"},
		Env: []string{helperEnv + "=1"}, Exec: []string{sleep}, SocketDir: dir, CacheDir: dir, SelfImage: inProcess})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Println(err)
		return 1
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	fmt.Printf("ready %s\n%s\n", strings.TrimSpace(line), lvl)
	return 0
}
