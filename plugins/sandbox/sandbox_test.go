//go:build linux

package sandbox

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// hostListener is a TCP listener on the host's 127.0.0.1, accepting and
// closing connections, so that a refused connect means the sandbox refused.
func hostListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go acceptAndClose(l)
	return l.Addr().String()
}

// acceptAndClose accepts l's connections and closes each at once, until l
// is closed.
func acceptAndClose(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func TestSandboxConfines(t *testing.T) {
	bothWays(t, func(t *testing.T, e *testEnv) {
		addr := hostListener(t)
		ops := map[string]string{
			"read:" + filepath.Join(e.workspace, "main.go"):  "ok",
			"write:" + filepath.Join(e.workspace, "main.go"): "EACCES",
			"write:" + filepath.Join(e.workspace, "new.go"):  "EACCES",
			"read:" + filepath.Join(e.secret, "token"):       "ENOENT", // under /tmp, masked
			"write:" + filepath.Join(e.secret, "new"):        "ENOENT",
			"write:/tmp/gathering-sandbox-escape":            "EROFS",
			"write:/var/tmp/gathering-sandbox-escape":        "EROFS",
			"write:/etc/gathering-sandbox-escape":            "EACCES", // Landlock
			"read:/etc/shadow":                               "EACCES",
			"write:" + filepath.Join(e.cache, "index"):       "ok",
			"connect:" + addr:                                "EACCES", // Landlock answers before the empty netns would
			"stdin":                                          "ok devnull",
			"keyctl":                                         "EPERM",
			"clone-newuser":                                  "EPERM",
			"unshare-newuser":                                "EPERM",
			"ptrace":                                         "EPERM",
			"status":                                         "ok CapInh=0000000000000000 CapPrm=0000000000000000 CapEff=0000000000000000 CapBnd=0000000000000000 CapAmb=0000000000000000 NoNewPrivs=1 Seccomp=2",
			"procs":                                          "ok 1",   // a /proc of its own PID namespace: only itself
			"fds":                                            "ok",     // nothing open above the image but the runtime's poller
			"open-all-threads:/etc/shadow":                   "EACCES", // Landlock holds on every thread alike
		}
		var list []string
		for op := range ops {
			list = append(list, op)
		}
		got, lvl := e.run(e.spec(list...))
		e.expect(got, ops)
		if lvl.LandlockABI == 0 || !lvl.Seccomp || len(lvl.Namespaces) != 6 || !lvl.FreshProc || lvl.NetworkEnforcement != "netns,landlock-tcp" {
			t.Errorf("Level = %s, want everything on", lvl)
		}
		t.Logf("level: %s", lvl)
	})
}

// TestInheritedDescriptorsClosed: a descriptor the host leaked into the
// launcher (no close-on-exec) does not reach the plugin, executed or run in
// the launcher's process.
func TestInheritedDescriptorsClosed(t *testing.T) {
	bothWays(t, func(t *testing.T, e *testEnv) {
		secret, err := os.Open(filepath.Join(e.secret, "token"))
		if err != nil {
			t.Fatal(err)
		}
		defer secret.Close()
		spec := e.spec("fds", "status")
		cmd, _, err := Command(spec)
		if err != nil {
			t.Fatal(err)
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, secret) // fd 4 in the launcher
		cmd.Args = append(cmd.Args, "inprocess")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("plugin failed: %v: %s", err, out)
		}
		want := map[bool]string{true: "yes", false: "no"}[e.inProcess]
		if got := string(out); !strings.Contains(got, "fds\tok\n") || !strings.Contains(got, "inprocess\tok "+want+"\n") {
			t.Errorf("plugin answered %q; want no descriptor above 3 and inprocess %s", got, want)
		}
	})
}

// TestHeldBeforeConfiningFallsBackToExec: a launcher that opened or mapped
// a file before confining itself, which the plugin may not read, executes
// the plugin instead of running it in its own process, so the plugin never
// holds it.
func TestHeldBeforeConfiningFallsBackToExec(t *testing.T) {
	for _, how := range []string{"fd", "map"} {
		t.Run(how, func(t *testing.T) {
			e := newTestEnv(t)
			e.inProcess = true
			secret := filepath.Join(e.secret, "token")
			spec := e.spec("fds", "read:"+secret)
			spec.Env = append(spec.Env, holdEnv+"="+how+":"+secret)
			spec.DisableNamespaces = true // the secret stays where Landlock alone refuses it
			cmd, _, err := Command(spec)
			if err != nil {
				t.Fatal(err)
			}
			cmd.Args = append(cmd.Args, "inprocess")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("plugin failed: %v: %s", err, stderr.String())
			}
			want := "fds\tok\nread:" + secret + "\tEACCES\ninprocess\tok no\n"
			if string(out) != want || !strings.Contains(stderr.String(), "was open before confining; executing the plugin") {
				t.Errorf("plugin answered %q, stderr %q; want %q and the fallback said", out, stderr.String(), want)
			}
		})
	}
}

// TestMaskKeepsGrants: a grant that is a symlink into a masked directory
// (as /etc/resolv.conf → /run/…) is bound back where it resolves, so it
// stays readable; its neighbours do not.
func TestMaskKeepsGrants(t *testing.T) {
	bothWays(t, func(t *testing.T, e *testEnv) {
		target := filepath.Join(e.workspace, "main.go") // under /tmp, masked, not granted itself
		link := filepath.Join(e.cache, "link")          // visible: the cache dir is bound back
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		neighbour := filepath.Join(e.secret, "token")
		spec := e.spec("read:"+link, "read:"+target, "read:"+neighbour)
		spec.Read = []string{link}
		got, lvl := e.run(spec)
		e.expect(got, map[string]string{"read:" + link: "ok", "read:" + target: "ok", "read:" + neighbour: "ENOENT"})
		if !strings.Contains(lvl.String(), "masked:/tmp,") {
			t.Errorf("Level = %s, want /tmp masked", lvl)
		}
	})
}

// TestLandlockAloneConfinesFiles runs without namespaces, so nothing is
// masked: Landlock alone refuses what was not granted.
func TestLandlockAloneConfinesFiles(t *testing.T) {
	bothWays(t, func(t *testing.T, e *testEnv) {
		spec := e.spec("read:"+filepath.Join(e.workspace, "main.go"), "write:"+filepath.Join(e.workspace, "main.go"),
			"read:"+filepath.Join(e.secret, "token"), "write:"+filepath.Join(e.secret, "new"),
			"write:/tmp/gathering-sandbox-escape", "write:"+filepath.Join(e.cache, "index"))
		spec.DisableNamespaces = true
		got, _ := e.run(spec)
		e.expect(got, map[string]string{
			"read:" + filepath.Join(e.workspace, "main.go"):  "ok",
			"write:" + filepath.Join(e.workspace, "main.go"): "EACCES",
			"read:" + filepath.Join(e.secret, "token"):       "EACCES",
			"write:" + filepath.Join(e.secret, "new"):        "EACCES",
			"write:/tmp/gathering-sandbox-escape":            "EACCES",
			"write:" + filepath.Join(e.cache, "index"):       "ok",
		})
	})
}

// TestHostUnixSocketsHidden: a Unix socket the host listens on outside
// the grants (as Docker's, or another plugin's) is out of the plugin's
// sight. Without namespaces (the control) Landlock below ABI 9 lets the
// plugin connect: the gap the masking closes.
func TestHostUnixSocketsHidden(t *testing.T) {
	bothWays(t, func(t *testing.T, e *testEnv) {
		sock := filepath.Join(e.secret, "host.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go acceptAndClose(l)
		got, _ := e.run(e.spec("dialunix:" + sock))
		e.expect(got, map[string]string{"dialunix:" + sock: "ENOENT"})

		spec := e.spec("dialunix:" + sock)
		spec.DisableNamespaces = true
		got, lvl := e.run(spec)
		want := "ok"
		if lvl.LandlockABI >= 9 {
			want = "EACCES"
		}
		e.expect(got, map[string]string{"dialunix:" + sock: want})
		if !strings.Contains(lvl.String(), "Unix sockets in /tmp and /run stay reachable") {
			t.Errorf("Level = %s, want the socket exposure said", lvl)
		}
	})
}

// TestNetworkLayers proves each layer alone keeps the plugin off the
// host's loopback, and that the connect test can succeed.
func TestNetworkLayers(t *testing.T) {
	bothWays(t, func(t *testing.T, e *testEnv) {
		addr := hostListener(t)
		for _, c := range []struct {
			name   string
			modify func(*Spec)
			want   map[string]string
		}{
			{"netns only", func(s *Spec) { s.DisableLandlock = true }, map[string]string{"connect:" + addr: "ENETUNREACH", "loopback": "ENETUNREACH"}},
			{"landlock only", func(s *Spec) { s.DisableNamespaces = true }, map[string]string{"connect:" + addr: "EACCES"}},
			{"loopback", func(s *Spec) { s.Network = NetworkLoopback }, map[string]string{"connect:" + addr: "ECONNREFUSED", "loopback": "ok"}},
			{"any", func(s *Spec) { s.Network = NetworkAny }, map[string]string{"connect:" + addr: "ok", "loopback": "ok"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				spec := e.spec("connect:"+addr, "loopback")
				c.modify(&spec)
				got, lvl := e.run(spec)
				e.expect(got, c.want)
				t.Logf("level: %s", lvl)
			})
		}
	})
}

func TestSandboxLimits(t *testing.T) {
	bothWays(t, func(t *testing.T, e *testEnv) {
		spec := e.spec("emfile:100", "efbig:"+filepath.Join(e.cache, "big")+":2097152", "efbig:"+filepath.Join(e.cache, "small")+":1000000")
		spec.Limits.MaxOpenFiles = 64
		spec.Limits.MaxFileWriteMB = 1
		got, lvl := e.run(spec)
		e.expect(got, map[string]string{
			"emfile:100": "EMFILE",
			"efbig:" + filepath.Join(e.cache, "big") + ":2097152":   "EFBIG",
			"efbig:" + filepath.Join(e.cache, "small") + ":1000000": "ok",
		})
		if !strings.Contains(lvl.String(), "rlimit:nofile=64,fsize=1MiB,data=1024MiB,core=0") {
			t.Errorf("Level = %s, want the rlimits", lvl)
		}
	})
}

// TestSeccompOff is the positive control of the seccomp checks, and shows
// Level saying so.
func TestSeccompOff(t *testing.T) {
	bothWays(t, func(t *testing.T, e *testEnv) {
		spec := e.spec("keyctl", "clone-newuser", "status")
		spec.DisableSeccomp = true
		got, lvl := e.run(spec)
		e.expect(got, map[string]string{"keyctl": "ok", "clone-newuser": "ok", "status": "ok CapInh=0000000000000000 CapPrm=0000000000000000 CapEff=0000000000000000 CapBnd=0000000000000000 CapAmb=0000000000000000 NoNewPrivs=1 Seccomp=0"})
		if lvl.Seccomp || !strings.Contains(lvl.String(), "seccomp:off") || !strings.Contains(lvl.String(), "seccomp turned off") {
			t.Errorf("Level = %s, want seccomp off and degraded", lvl)
		}
	})
}

// TestLevelHonest turns layers off, by Spec and by pretending the kernel
// lacks them, and checks both what the plugin experiences and what Level says.
func TestLevelHonest(t *testing.T) {
	bothWays(t, func(t *testing.T, e *testEnv) {
		outside := filepath.Join(e.secret, "written")

		spec := e.spec("write:"+outside, "procs", "status")
		spec.DisableNamespaces = true
		spec.DisableLandlock = true
		spec.DisableSeccomp = true
		got, lvl := e.run(spec)
		if got["write:"+outside] != "ok" || got["procs"] == "ok 1" {
			t.Errorf("with landlock and namespaces off the plugin got %q", got)
		}
		// no_new_privs and capabilities do not ride on Landlock or seccomp
		// (the bounding set stays as it was for a process that held no
		// capability, as without namespaces and unprivileged).
		if st := got["status"]; !strings.HasPrefix(st, "ok CapInh=0000000000000000 CapPrm=0000000000000000 CapEff=0000000000000000 ") || !strings.HasSuffix(st, " CapAmb=0000000000000000 NoNewPrivs=1 Seccomp=0") {
			t.Errorf("status = %q, want no capability and no_new_privs on every thread", st)
		}
		s := lvl.String()
		for _, want := range []string{"landlock:off", "ns:none", "namespaces turned off", "landlock turned off", "net:none(none)", "network none not enforced", "cgroup:none"} {
			if !strings.Contains(s, want) {
				t.Errorf("Level = %s, missing %q", s, want)
			}
		}
		if !lvl.IsDegraded() || lvl.LandlockABI != 0 || len(lvl.Namespaces) != 0 || lvl.FreshProc {
			t.Errorf("Level = %+v", lvl)
		}

		// A kernel without Landlock or user namespaces, as the probe would say.
		caps := Probe()
		caps.LandlockABI, caps.LandlockError = 0, "ENOSYS"
		caps.Namespaces = map[string]bool{}
		caps.NamespaceErrors = map[string]string{"user": "EPERM", "pid": "EPERM", "net": "EPERM", "ipc": "EPERM", "uts": "EPERM"}
		spec = e.spec("write:" + outside)
		spec.Capabilities = &caps
		got, lvl = e.run(spec)
		if got["write:"+outside] != "ok" {
			t.Errorf("plugin without landlock: %q", got)
		}
		s = lvl.String()
		wants := []string{"landlock:off", "landlock unavailable (ENOSYS)", "ns:none", "network none not enforced"}
		if os.Getuid() == 0 {
			// Root may use the other kinds without a user namespace; here
			// none works either.
			wants = append(wants, "no user namespace (EPERM)", "no net namespace (EPERM)")
		} else {
			wants = append(wants, "no namespaces: user namespaces unavailable (EPERM)")
		}
		for _, want := range wants {
			if !strings.Contains(s, want) {
				t.Errorf("Level = %s, missing %q", s, want)
			}
		}

		// Everything on: only the cgroup is degraded.
		_, lvl = e.run(e.spec("hello"))
		if len(lvl.Degraded) != 1 || !strings.Contains(lvl.Degraded[0], "cgroup") {
			t.Errorf("full sandbox Level = %s, want only the cgroup degraded", lvl)
		}
	})
}

// TestUnprivileged runs every other test of this package again as uid
// 65534, where the launcher needs ambient capabilities inside its user
// namespace to mount /proc and bring lo up, and drops them before the plugin
// runs.
func TestUnprivileged(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to switch to uid 65534")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sandbox.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.count=1", "-test.v", "-test.skip=TestUnprivileged|TestLanguageServersRun")
	cmd.Dir = tmp
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + tmp}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tests as uid 65534: %v\n%s", err, out)
	}
	passed := strings.Count(string(out), "--- PASS: Test")
	// A test skipped for want of privilege is what this test is for; one
	// skipped for want of a kernel feature would skip as root too.
	skipped := strings.Count(string(out), "--- SKIP")
	if strings.Contains(string(out), noI386) && strings.Contains(string(out), "--- SKIP: TestSeccompBlocksForeignSyscallABI") {
		skipped--
	}
	if passed < 10 || skipped > 0 {
		t.Errorf("as uid 65534, %d tests passed:\n%s", passed, out)
	}
	t.Logf("as uid 65534: %d tests passed", passed)
}

// TestLimitsCappedAtHostHardLimit: asking for more open files than the
// host's hard limit (which the launcher could not raise) gets the hard
// limit, and Level says the number actually set.
func TestLimitsCappedAtHostHardLimit(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lowered := syscall.Rlimit{Cur: min(old.Cur, 1000), Max: 1000}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) // back up as root; stays lower otherwise

	bothWays(t, func(t *testing.T, e *testEnv) {
		spec := e.spec("emfile:1100")
		spec.Limits.MaxOpenFiles = 4096
		got, lvl := e.run(spec)
		e.expect(got, map[string]string{"emfile:1100": "EMFILE"})
		if lvl.NoFile != 1000 || !strings.Contains(lvl.String(), "nofile=1000,") {
			t.Errorf("Level = %s, want nofile=1000", lvl)
		}
	})
}
