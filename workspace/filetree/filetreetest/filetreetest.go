// Package filetreetest makes large project trees for tests and benchmarks:
// real files in a real git repository, made fast.
package filetreetest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Needle is a word that [Generate] puts in one file of every hundred.
const Needle = "needle_7f3a"

// Generate writes n text files beneath dir in directories of 100 (dNNN/sNN/
// fNNN.go), each a few lines long, with [Needle] in every hundredth file, a
// .gitignore that ignores *.log and build/ (and one file of each, which a
// listing must leave out), then makes dir a git repository with everything
// committed on branch main, using the git CLI with a fixed identity.
//
// The commit is made with git fast-import, fed while the files are being
// written, rather than git add, which writes one loose object per file and
// takes several times longer; git reset then builds the index from the
// files, so git sees a clean work tree.
func Generate(dir string, n int) error {
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(ignore), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "build"), 0o755); err != nil {
		return err
	}
	for _, p := range []string{"build/out.o", "debug.log"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("ignored\n"), 0o644); err != nil {
			return err
		}
	}
	if err := Git(dir, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	imp := gitCommand(dir, "fast-import", "--quiet")
	stream, err := imp.StdinPipe()
	if err != nil {
		return err
	}
	var impOut bytes.Buffer
	imp.Stdout, imp.Stderr = &impOut, &impOut
	if err := imp.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(stream, 1<<20)
	fmt.Fprintf(w, "commit refs/heads/main\ncommitter Gen <gen@example.com> 1700000000 +0000\ndata 9\ngenerated\n")
	fmt.Fprintf(w, "M 100644 inline .gitignore\ndata %d\n%s\n", len(ignore), ignore)

	const perDir = 100
	type file struct{ path, body string }
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		files = make(chan file, 256)
	)
	for range runtime.GOMAXPROCS(0) * 2 {
		wg.Go(func() {
			for f := range files {
				p := filepath.Join(dir, filepath.FromSlash(f.path))
				err := os.MkdirAll(filepath.Dir(p), 0o755)
				if err == nil {
					err = os.WriteFile(p, []byte(f.body), 0o644)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		d := i / perDir
		f := file{path: fmt.Sprintf("d%03d/s%02d/f%03d.go", d/100, d%100, i%perDir)}
		f.body = fmt.Sprintf("package p%d\n\n// F%d is file %d of the generated tree.\nfunc F%d() int { return %d }\n", d, i, i, i, i)
		if i%100 == 42 {
			f.body += "// " + Needle + "\n"
		}
		files <- f
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", f.path, len(f.body), f.body)
	}
	close(files)
	werr := w.Flush()
	stream.Close()
	ierr := imp.Wait()
	wg.Wait()
	if err := errors.Join(append(errs, werr)...); err != nil {
		return err
	}
	if ierr != nil {
		return fmt.Errorf("git fast-import: %w\n%s", ierr, impOut.Bytes())
	}
	return Git(dir, "reset", "-q")
}

const ignore = "*.log\nbuild/\n"

// Git runs the git CLI in dir with a fixed identity and no system or global
// configuration.
func Git(dir string, args ...string) error {
	cmd := gitCommand(dir, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %v: %w\n%s", args, err, out)
	}
	return nil
}

func gitCommand(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Gen", "GIT_AUTHOR_EMAIL=gen@example.com",
		"GIT_COMMITTER_NAME=Gen", "GIT_COMMITTER_EMAIL=gen@example.com", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	return cmd
}

// TempDir returns a new empty directory for a large generated tree, removed
// when the test ends: on tmpfs (/dev/shm) where there is one, since a disk
// can take tens of seconds to create 100,000 small files that tmpfs creates
// in under one, and under t.TempDir otherwise. tmpfs is a real file system
// to everything under test: os.Root, inotify and git behave as on disk.
func TempDir(t testing.TB) string {
	t.Helper()
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "gathering-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}
