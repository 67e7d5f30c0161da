package launch_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// children lists the processes whose parent is pid, from /proc.
func children(pid int) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, e.Name()+" "+s[:i+1]+" "+f[0])
		}
	}
	return out
}

// assertNoChildren fails if this test process still has children (plugin
// processes, zombies included) a moment after everything was closed.
func assertNoChildren(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		c := children(os.Getpid())
		if len(c) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left behind: %v", c)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processesWithEnv lists the live processes whose argv[0] has base name
// argv0 and whose environment holds kv, from /proc.
func processesWithEnv(argv0, kv string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmd) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		if filepath.Base(args[0]) != argv0 {
			continue
		}
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if slices.Contains(strings.Split(string(env), "\x00"), kv) {
			out = append(out, e.Name()+" "+strings.Join(args, " "))
		}
	}
	return out
}

// alive reports whether pid runs (a zombie counts as dead).
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// When the host dies without closing anything (kill -9), its plugins die
// too: Pdeathsig from the thread that started them, and the SDK's parent
// watchdog; with a PID namespace everything they started goes with them.
func TestHostKilled(t *testing.T) {
	for _, mode := range []string{"ns", "nons"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], hostCommand, t.TempDir(), mode)
			cmd.Stderr = testWriter{t}
			// A killed host cannot remove its plugins' socket directories.
			cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("host: %v", err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(line))
			if pid == 0 || !alive(pid) {
				t.Fatalf("host printed %q", line)
			}
			cmd.Process.Kill()
			cmd.Wait()
			deadline := time.Now().Add(3 * time.Second)
			for alive(pid) {
				if time.Now().After(deadline) {
					t.Fatalf("plugin %d outlived its host", pid)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
