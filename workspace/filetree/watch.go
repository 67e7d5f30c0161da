package filetree

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watcher keeps a loaded tree current: file-system events for the
// directories it watches, and a poll of the rest.
type watcher struct {
	t       *Tree
	fsw     *fsnotify.Watcher // nil when the platform or the limits refuse
	watches int
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// startWatching starts watching the loaded tree: the root, .git (so that
// commits and staging made outside gathering are seen), and as many
// directories as [Config.MaxWatches] allows, shallowest first. Called with
// t.mu held.
func (t *Tree) startWatching() *watcher {
	w := &watcher{t: t, done: make(chan struct{})}
	if t.cfg.MaxWatches > 0 {
		fsw, err := fsnotify.NewBufferedWatcher(4096)
		if err != nil {
			t.log.Warn("file watching unavailable; polling instead", slog.String("root", t.dir), slog.Any("error", err))
		} else {
			w.fsw = fsw
			if err := fsw.Add(filepath.Join(t.dir, ".git")); err == nil {
				w.watches++
			}
		}
	}
	t.w = w
	dirs := make([]string, 0, len(t.dirs))
	for d := range t.dirs {
		dirs = append(dirs, d)
	}
	t.watchLocked(dirs)
	if w.fsw != nil {
		w.wg.Go(w.events)
	}
	w.wg.Go(w.poll)
	return w
}

// watchLocked adds watches for dirs, shallowest first, while the budget
// lasts; the others are left to the poll.
func (t *Tree) watchLocked(dirs []string) {
	w := t.w
	if w == nil || w.fsw == nil {
		return
	}
	slices.SortFunc(dirs, func(a, b string) int {
		if c := depth(a) - depth(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, d := range dirs {
		node := t.dirs[d]
		if node == nil || node.watched {
			continue
		}
		if w.watches >= t.cfg.MaxWatches {
			return
		}
		if err := w.fsw.Add(t.abs(d)); err != nil {
			// Out of inotify watches, most likely: poll the rest.
			t.log.Warn("watch refused; polling the rest", slog.String("dir", d), slog.Any("error", err))
			w.watches = t.cfg.MaxWatches
			return
		}
		node.watched = true
		w.watches++
	}
}

func depth(p string) int {
	if p == "." {
		return 0
	}
	return strings.Count(p, "/") + 1
}

func (t *Tree) abs(rel string) string {
	if rel == "." {
		return t.dir
	}
	return filepath.Join(t.dir, filepath.FromSlash(rel))
}

// remove drops the watch on dir, if any. Called with t.mu held.
func (w *watcher) remove(dir string) {
	if w.fsw != nil {
		// An error means the kernel dropped the watch with the directory;
		// either way it no longer counts.
		w.fsw.Remove(w.t.abs(dir))
		w.watches--
	}
}

// events turns file-system events into rescans: each marks the directory
// it happened in, which the next read rescans.
func (w *watcher) events() {
	t := w.t
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			rel, ok := t.rel(ev.Name)
			if !ok {
				continue
			}
			t.mu.Lock()
			if t.w == w && rel != ".git" && !strings.HasPrefix(rel, ".git/") {
				t.markLocked(rel)
			}
			t.gen.Add(1) // under t.mu: see Tree.Generation
			t.mu.Unlock()
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				t.log.Warn("file events overflowed; reading the tree again", slog.String("root", t.dir))
				t.mu.Lock()
				if t.w == w {
					t.reload = true
				}
				t.gen.Add(1) // under t.mu: see Tree.Generation
				t.mu.Unlock()
			}
		}
	}
}

// rel maps an event's absolute name to a path relative to the root.
func (t *Tree) rel(name string) (string, bool) {
	if name == t.dir {
		return ".", true
	}
	rel, ok := strings.CutPrefix(name, t.dir+string(filepath.Separator))
	return filepath.ToSlash(rel), ok
}

// poll rescans the directories that are not watched, every PollInterval.
func (w *watcher) poll() {
	t := w.t
	tick := time.NewTicker(t.cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		if t.w != w {
			t.mu.Unlock()
			return
		}
		var unwatched []string
		for d, n := range t.dirs {
			if !n.watched {
				unwatched = append(unwatched, d)
			}
		}
		changed := false
		var added []string
		for _, d := range unwatched {
			c, a, err := t.rescanLocked(context.Background(), d)
			if err != nil {
				t.reload = true
				changed = true
				break
			}
			changed = changed || c
			added = append(added, a...)
		}
		t.watchLocked(added)
		if changed && t.flat == nil {
			t.flatten()
		}
		if changed {
			t.gen.Add(1) // under t.mu: see Tree.Generation
		}
		t.mu.Unlock()
	}
}

// stop ends the watcher's goroutines and waits for them. It must be called
// without t.mu held.
func (w *watcher) stop() {
	w.once.Do(func() {
		close(w.done)
		if w.fsw != nil {
			w.fsw.Close()
		}
		w.wg.Wait()
	})
}
