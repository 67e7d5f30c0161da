//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// findProcess returns the host pids whose command line is exactly argv.
func findProcess(t *testing.T, argv ...string) []string {
	t.Helper()
	want := []byte(strings.Join(argv, "\x00") + "\x00")
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Equal(b, want) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// startPlugin starts spec and returns the command and its first stdout line.
func startPlugin(t *testing.T, spec Spec) (*exec.Cmd, *bufio.Reader, string) {
	t.Helper()
	cmd, _, err := Command(spec)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no output from the plugin: %v; stderr: %s", err, stderr.Bytes())
	}
	return cmd, r, strings.TrimSpace(line)
}

// TestKillLeavesNoOrphans kills the sandboxed plugin while its child, a
// sleep, runs: with the PID namespace the sleep dies with it. Without
// namespaces (the control) the sleep survives, which shows the check can fail.
func TestKillLeavesNoOrphans(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	sleep, _ = filepath.EvalSymlinks(sleep)
	bothWays(t, func(t *testing.T, e *testEnv) {
		for _, namespaces := range []bool{true, false} {
			t.Run(fmt.Sprintf("namespaces=%v", namespaces), func(t *testing.T) {
				secs := fmt.Sprintf("%d.%d", 600+rand.IntN(1000), rand.IntN(1000))
				spec := e.spec("grandchild:"+sleep+":"+secs, "wait")
				spec.Exec = []string{sleep} // Command adds sleep's loader
				spec.DisableNamespaces = !namespaces
				cmd, _, line := startPlugin(t, spec)
				if !strings.Contains(line, "\tok ") {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("grandchild: %s", line)
				}
				// Start returns once execve is past the point of no return,
				// a moment before the new command line is in place.
				pids := findProcess(t, sleep, secs)
				for deadline := time.Now().Add(2 * time.Second); len(pids) == 0 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
					pids = findProcess(t, sleep, secs)
				}
				if len(pids) != 1 {
					t.Fatalf("sleep %s running as %v, want one process", secs, pids)
				}
				start := time.Now()
				cmd.Process.Kill()
				cmd.Wait()
				wait := 2 * time.Second
				if !namespaces {
					wait = 300 * time.Millisecond // the control: it is not expected to go
				}
				deadline := time.Now().Add(wait)
				for len(findProcess(t, sleep, secs)) > 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				left := findProcess(t, sleep, secs)
				switch {
				case namespaces && len(left) > 0:
					t.Errorf("sleep %v outlived the killed plugin", left)
				case namespaces:
					t.Logf("grandchild gone %v after the kill", time.Since(start).Round(time.Millisecond))
				case len(left) == 0:
					t.Errorf("without a PID namespace the sleep died too: the orphan check cannot fail")
				default:
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its process group
				}
			})
		}
	})
}

// TestHostDeathLeavesNoOrphans: when the host process exits, its plugin
// gets SIGKILL (Pdeathsig) and, being the init of its PID namespace, takes
// its children along.
func TestHostDeathLeavesNoOrphans(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	sleep, _ = filepath.EvalSymlinks(sleep)
	for _, way := range []string{"exec", "in-process"} {
		t.Run(way, func(t *testing.T) {
			secs := fmt.Sprintf("%d.%d", 600+rand.IntN(1000), rand.IntN(1000))
			host := exec.Command(os.Args[0], "host", t.TempDir(), sleep, secs, way)
			host.Env = []string{helperEnv + "=1", "GORACE=atexit_sleep_ms=0"}
			out, err := host.Output()
			if err != nil || !strings.HasPrefix(string(out), "ready grandchild:") || !strings.Contains(string(out), "\tok ") {
				t.Fatalf("host: %v: %s", err, out)
			}
			if !strings.Contains(string(out), "ns:user,pid,") {
				t.Fatalf("the host (started with an empty environment) used no PID namespace: %s", out)
			}
			deadline := time.Now().Add(2 * time.Second)
			for len(findProcess(t, sleep, secs)) > 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if left := findProcess(t, sleep, secs); len(left) > 0 {
				syscall.Kill(mustAtoi(t, left[0]), syscall.SIGKILL)
				t.Errorf("sleep %v outlived its host", left)
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHostConnectsToPluginSocket: the plugin listens on a path-based Unix
// socket in its socket dir, from inside its own network namespace, and
// the host connects to it, as go-plugin does.
func TestHostConnectsToPluginSocket(t *testing.T) {
	bothWays(t, func(t *testing.T, e *testEnv) {
		sock := filepath.Join(e.socket, "plugin.sock")
		cmd, r, line := startPlugin(t, e.spec("serve:"+sock))
		defer cmd.Wait()
		if line != "listening" {
			cmd.Process.Kill()
			t.Fatalf("plugin said %q", line)
		}
		c, err := net.Dial("unix", sock)
		if err != nil {
			cmd.Process.Kill()
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		c.Close()
		if string(got) != "hi" || err != nil {
			t.Errorf("read %q, %v from the plugin's socket", got, err)
		}
		if rest, _ := io.ReadAll(r); !strings.Contains(string(rest), "serve:"+sock+"\tok") {
			t.Errorf("plugin reported %q", rest)
		}
	})
}

// TestEnvironment: the plugin sees the allowlist and what the caller adds,
// nothing else of the host's.
func TestEnvironment(t *testing.T) {
	t.Setenv("GATHERING_TEST_SECRET", "s3cret")
	t.Setenv("GATHERING_TEST_ALLOWED", "yes")
	e := newTestEnv(t)
	spec := e.spec()
	spec.EnvAllow = []string{"GATHERING_TEST_ALLOWED"}
	spec.Env = append(spec.Env, "PLUGIN_MIN_PORT=1")
	env := environment(spec)
	for _, want := range []string{"GATHERING_TEST_ALLOWED=yes", "HOME=" + e.cache, "TMPDIR=" + e.cache, "PLUGIN_UNIX_SOCKET_DIR=" + e.socket, "PLUGIN_MIN_PORT=1", helperEnv + "=1"} {
		if !slices.Contains(env, want) {
			t.Errorf("env lacks %s: %q", want, env)
		}
	}
	for _, kv := range env {
		if strings.Contains(kv, "s3cret") {
			t.Errorf("host variable leaked: %s", kv)
		}
	}
	cmd, _, err := Command(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cmd.Env, env) || cmd.Stdin != nil || cmd.Dir != e.cache || len(cmd.ExtraFiles) != 1 || cmd.ExtraFiles[0] != e.binary {
		t.Errorf("Cmd = env %q, stdin %v, dir %q, extra files %v", cmd.Env, cmd.Stdin, cmd.Dir, cmd.ExtraFiles)
	}
	if cmd.SysProcAttr.Pdeathsig != syscall.SIGKILL || !cmd.SysProcAttr.Setpgid {
		t.Errorf("SysProcAttr = %+v", cmd.SysProcAttr)
	}
}

// runLauncher runs the launcher with fd 3 = extra and returns its exit
// code and stderr. It runs in throwaway user and mount namespaces, so that
// a launcher bug cannot change the host's mounts.
func runLauncher(t *testing.T, extra *os.File, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{LauncherCommand}, args...)...)
	cmd.Env = []string{helperEnv + "=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}},
	}
	cmd.ExtraFiles = []*os.File{extra}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// TestLauncherReportsFailures: every refusal names its step and exits 126.
func TestLauncherReportsFailures(t *testing.T) {
	e := newTestEnv(t)
	cmd, _, err := Command(e.spec("hello"))
	if err != nil {
		t.Fatal(err)
	}
	good := cmd.Args[2]
	plain, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	p, err := decodePolicy(good)
	if err != nil {
		t.Fatal(err)
	}
	if !p.MountProc {
		t.Fatalf("policy %s does not ask for a fresh /proc", good)
	}
	procOutsidePidNS := good
	p.MountProc, p.LoopbackUp = false, false
	p.LandlockABI = 99
	future, _ := p.encode()
	fd, err := memfdUnsealed()
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()

	for _, c := range []struct {
		name  string
		extra *os.File
		args  []string
		want  string
	}{
		{"no argv", e.binary, []string{good}, "plugin-exec: args: "},
		{"bad policy", e.binary, []string{"{", "probe"}, "plugin-exec: policy: "},
		{"future policy", e.binary, []string{`{"v":99}`, "probe"}, "plugin-exec: policy: policy version 99"},
		{"unknown restriction", e.binary, []string{strings.Replace(good, `{"v":2,`, `{"v":2,"seal_the_moon":true,`, 1), "probe"}, `plugin-exec: policy: decode policy: json: unknown field "seal_the_moon"`},
		{"plain file", plain, []string{good, "probe"}, "plugin-exec: memfd: fd 3 is not a memfd"},
		{"unsealed memfd", fd, []string{good, "probe"}, "plugin-exec: memfd: fd 3 is not sealed"},
		{"fresh /proc outside a PID namespace", e.binary, []string{procOutsidePidNS, "probe"}, "plugin-exec: mount-proc: not the init of a new PID namespace"},
		{"landlock promised beyond reach", e.binary, []string{future, "probe"}, "plugin-exec: landlock: the host promised Landlock ABI 99"},
	} {
		code, stderr := runLauncher(t, c.extra, c.args...)
		if code != 126 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 126 and %q", c.name, code, stderr, c.want)
		}
	}
}

// memfdUnsealed is a memfd like SealedCopy's, minus the seals.
func memfdUnsealed() (*os.File, error) {
	fd, err := unix.MemfdCreate("unsealed", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "memfd:unsealed"), nil
}

// TestMemfdExecUnderLandlock measures what Landlock needs to execute the
// memfd: nothing for the memfd itself (a static Go binary runs with no
// Execute right anywhere), and Execute on the ELF interpreter for a
// dynamically linked one, which Command therefore grants.
func TestMemfdExecUnderLandlock(t *testing.T) {
	e := newTestEnv(t)
	gofmt := filepath.Join(runtime.GOROOT(), "bin", "gofmt")
	gf, err := os.Open(gofmt)
	if err != nil {
		t.Skip("no gofmt to use as a static binary")
	}
	static, err := SealedCopy("gofmt", func(w io.Writer) (int64, error) { return io.Copy(w, gf) })
	gf.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer static.Close()
	if interp, _ := elfInterpreter(static); interp != "" {
		t.Skipf("gofmt is dynamically linked (%s)", interp)
	}
	spec := e.spec()
	spec.Binary = static
	okGo := filepath.Join(e.workspace, "ok.go")
	if err := os.WriteFile(okGo, []byte("package ok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.Args = []string{"gofmt", "-l", okGo}
	cmd, lvl, err := Command(spec)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := decodePolicy(cmd.Args[2]); len(p.Exec) != 0 || lvl.LandlockABI == 0 {
		t.Fatalf("static binary: exec grants %q, level %s; want none, with landlock", p.Exec, lvl)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("static memfd under Landlock without any Execute right: %v: %s", err, out)
	}

	// A dynamically linked program (sleep), its loader's grant removed.
	sleepPath, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	interp, err := ELFInterpreter(sleepPath)
	if err != nil || interp == "" {
		t.Skipf("sleep is not dynamically linked (%q, %v)", interp, err)
	}
	sf, err := os.Open(sleepPath)
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err := SealedCopy("sleep", func(w io.Writer) (int64, error) { return io.Copy(w, sf) })
	sf.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer dynamic.Close()
	spec = e.spec()
	spec.Binary = dynamic
	spec.Args = []string{"sleep", "0"}
	cmd, _, err = Command(spec)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dynamic memfd with its loader granted: %v: %s", err, out)
	}
	cmd, _, err = Command(spec)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := decodePolicy(cmd.Args[2])
	if !slices.Contains(p.Exec, interp) {
		t.Fatalf("Command did not grant the interpreter %s: %q", interp, p.Exec)
	}
	p.Exec = slices.DeleteFunc(p.Exec, func(s string) bool { return s == interp })
	cmd.Args[2], _ = p.encode()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "plugin-exec: exec: /proc/self/fd/3 (sleep): permission denied") {
		t.Errorf("dynamic memfd without Execute on %s: %v: %s; want the exec step refused", interp, err, out)
	}
}
