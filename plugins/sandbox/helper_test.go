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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/manifest"
	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary act as the launcher (argv[1] ==
// "plugin-exec") or as the probe plugin (argv[0] == "probe").
const helperEnv = "GATHERING_SANDBOX_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		if len(os.Args) > 1 && os.Args[1] == LauncherCommand {
			os.Exit(LauncherMain(os.Args[2:]))
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
	case "status": // the sandbox bits of /proc/self/status
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return result("", err)
		}
		var keep []string
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			switch k {
			case "NoNewPrivs", "Seccomp", "CapEff", "CapPrm", "CapBnd":
				keep = append(keep, k+"="+strings.TrimSpace(v))
			}
		}
		return "ok " + strings.Join(keep, " ")
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

// testEnv is one sandboxed plugin's world: a workspace it may read, a
// secret dir it may not, its cache and socket dirs.
type testEnv struct {
	t                                *testing.T
	binary                           *os.File
	workspace, secret, cache, socket string
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
	}
}

func testLimits() manifest.Limits {
	return manifest.Limits{MemoryMB: 1024, MaxOpenFiles: 256, MaxFileWriteMB: 16}
}

// run starts spec and returns each op's result.
func (e *testEnv) run(spec Spec) (map[string]string, Level) {
	e.t.Helper()
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
// args: DIR SLEEP SECS.
func hostMain(args []string) int {
	dir, sleep, secs := args[0], args[1], args[2]
	bin, _, err := SealedExecutable("probe")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	cmd, lvl, err := Command(Spec{Launcher: "/proc/self/exe", Binary: bin, Args: []string{"probe", "grandchild:" + sleep + ":" + secs, "wait"},
		Env: []string{helperEnv + "=1"}, Exec: []string{sleep}, SocketDir: dir, CacheDir: dir})
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
