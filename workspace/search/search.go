// Package search finds text in a project's files: a literal string or a Go
// regular expression (RE2 syntax: linear time, no backreferences), case
// sensitive or not, over a list of files read through an [os.Root], bounded
// in matches, bytes read and time, with results streamed as they are found.
package search

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Defaults and limits for [Options].
const (
	DefaultMaxMatches   = 1000
	DefaultMaxBytes     = 1 << 30
	DefaultMaxFileBytes = 4 << 20
	DefaultTimeout      = 10 * time.Second
	// MaxQueryBytes bounds the query.
	MaxQueryBytes = 1024
	// maxLineBytes cuts the text of a matching line.
	maxLineBytes = 400
	// binarySniff is how much of a file is checked for a NUL byte, as git
	// does, to call it binary.
	binarySniff = 8000
)

// ErrInvalid means the query cannot be searched for: empty, too long, or a
// regular expression that does not compile.
var ErrInvalid = errors.New("invalid search")

// Options describe a search.
type Options struct {
	Query string
	// Regex reads Query as a Go regular expression (RE2 syntax), with ^ and
	// $ matching at line boundaries; otherwise Query is literal text.
	Regex         bool
	CaseSensitive bool
	// MaxMatches stops the search after this many matches (default 1000).
	// Directories are searched in parallel, so which matches a bounded
	// search keeps depends on scheduling.
	MaxMatches int
	// MaxBytes stops the search after reading this many bytes (default
	// 1 GiB).
	MaxBytes int64
	// MaxFileBytes skips files larger than this (default 4 MiB).
	MaxFileBytes int64
	// Timeout stops the search after this long (default 10 s).
	Timeout time.Duration
	// Progress, when set, receives matches as they are found, in batches,
	// from one goroutine at a time; the Result then holds them too.
	Progress func([]Match)
}

// Match is one occurrence of the query.
type Match struct {
	Path string
	// Line is 1-based; Column is the 0-based byte offset in the line, and
	// Length the match's length in bytes.
	Line, Column, Length int
	// Text is the line, cut to 400 bytes, with invalid UTF-8 replaced.
	Text string
}

// Result is what a search found.
type Result struct {
	// Matches are in the order of the files given, then by position.
	Matches       []Match
	FilesSearched int
	BytesSearched int64
	// Stopped says why the search ended early: "matches", "bytes" or
	// "time"; "" when every file was searched.
	Stopped string
}

// matcher finds matches in one file's contents.
type matcher interface {
	// find returns the [start, end) byte ranges of up to max matches.
	find(data []byte, max int) [][2]int
}

// Search looks for opt.Query in files, paths relative to root. Files are
// searched concurrently, a directory at a time; binary files (a NUL byte in
// the first 8000 bytes) and files above opt.MaxFileBytes are skipped, and
// files that vanish or cannot be read are passed over. Hitting a bound is
// not an error: Result.Stopped says which one ended the search. Cancelling
// ctx returns ctx's error.
func Search(ctx context.Context, root *os.Root, files []string, opt Options) (*Result, error) {
	m, err := compile(opt)
	if err != nil {
		return nil, err
	}
	if opt.MaxMatches <= 0 {
		opt.MaxMatches = DefaultMaxMatches
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.MaxFileBytes <= 0 {
		opt.MaxFileBytes = DefaultMaxFileBytes
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()

	chunks := byDirectory(files)
	s := &searcher{root: root, m: m, opt: opt, ctx: tctx, results: make([][]Match, len(chunks))}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(chunks), 1)) {
		wg.Go(func() {
			buf := make([]byte, 0, 64<<10)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(chunks) || s.stopped() {
					return
				}
				buf = s.chunk(i, chunks[i], buf)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Result{FilesSearched: int(s.files.Load()), BytesSearched: s.bytes.Load()}
	for _, ms := range s.results {
		res.Matches = append(res.Matches, ms...)
	}
	if len(res.Matches) > opt.MaxMatches {
		res.Matches = res.Matches[:opt.MaxMatches]
	}
	switch {
	case s.matches.Load() >= int64(opt.MaxMatches):
		res.Stopped = "matches"
	case s.bytes.Load() >= opt.MaxBytes:
		res.Stopped = "bytes"
	case tctx.Err() != nil:
		res.Stopped = "time"
	}
	return res, nil
}

func compile(opt Options) (matcher, error) {
	q := opt.Query
	switch {
	case q == "":
		return nil, fmt.Errorf("%w: the query is empty", ErrInvalid)
	case len(q) > MaxQueryBytes:
		return nil, fmt.Errorf("%w: the query is %d bytes, longer than the limit of %d", ErrInvalid, len(q), MaxQueryBytes)
	case !utf8.ValidString(q):
		return nil, fmt.Errorf("%w: the query is not valid UTF-8", ErrInvalid)
	}
	if !opt.Regex {
		if opt.CaseSensitive {
			return literal([]byte(q)), nil
		}
		if isASCII(q) {
			return foldedLiteral(bytes.ToLower([]byte(q))), nil
		}
		q = regexp.QuoteMeta(q)
	}
	flags := "(?m)"
	if !opt.CaseSensitive {
		flags = "(?mi)"
	}
	re, err := regexp.Compile(flags + q)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return regex{re}, nil
}

type chunk struct {
	dir   string
	names []string
	first int // index in files of the first name, for ordering
}

// byDirectory groups files by directory, keeping their order.
func byDirectory(files []string) []chunk {
	var out []chunk
	for i, f := range files {
		dir, name := path.Split(f)
		dir = path.Clean(dir)
		if len(out) == 0 || out[len(out)-1].dir != dir {
			out = append(out, chunk{dir: dir, first: i})
		}
		c := &out[len(out)-1]
		c.names = append(c.names, name)
	}
	return out
}

type searcher struct {
	root    *os.Root
	m       matcher
	opt     Options
	ctx     context.Context
	results [][]Match

	files   atomic.Int64
	bytes   atomic.Int64
	matches atomic.Int64

	progressMu sync.Mutex
}

func (s *searcher) stopped() bool {
	return s.ctx.Err() != nil || s.matches.Load() >= int64(s.opt.MaxMatches) || s.bytes.Load() >= s.opt.MaxBytes
}

// chunk searches the files of one directory, opened once as a root so each
// file is reached by its name alone.
func (s *searcher) chunk(i int, c chunk, buf []byte) []byte {
	dir := s.root
	if c.dir != "." {
		sub, err := s.root.OpenRoot(c.dir)
		if err != nil {
			return buf
		}
		defer sub.Close()
		dir = sub
	}
	var found []Match
	for _, name := range c.names {
		if s.stopped() {
			break
		}
		var ok bool
		buf, ok = s.read(dir, name, buf)
		if !ok {
			continue
		}
		s.files.Add(1)
		s.bytes.Add(int64(len(buf)))
		left := s.opt.MaxMatches - int(s.matches.Load())
		if left <= 0 {
			break
		}
		ranges := s.m.find(buf, left)
		if len(ranges) == 0 {
			continue
		}
		s.matches.Add(int64(len(ranges)))
		p := name
		if c.dir != "." {
			p = c.dir + "/" + name
		}
		found = append(found, matches(p, buf, ranges)...)
	}
	s.results[i] = found
	if len(found) > 0 && s.opt.Progress != nil {
		s.progressMu.Lock()
		s.opt.Progress(found)
		s.progressMu.Unlock()
	}
	return buf
}

// read reads a regular, text file of at most MaxFileBytes into buf.
func (s *searcher) read(dir *os.Root, name string, buf []byte) ([]byte, bool) {
	f, err := dir.Open(name)
	if err != nil {
		return buf, false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Size() > s.opt.MaxFileBytes {
		return buf, false
	}
	need := int(info.Size()) + 1
	if cap(buf) < need {
		buf = make([]byte, 0, need+need/4)
	}
	buf = buf[:cap(buf)]
	n, err := io.ReadFull(f, buf[:min(len(buf), int(s.opt.MaxFileBytes)+1)])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return buf[:0], false
	}
	buf = buf[:n]
	if int64(n) > s.opt.MaxFileBytes || bytes.IndexByte(buf[:min(n, binarySniff)], 0) >= 0 {
		return buf[:0], false
	}
	return buf, true
}

// matches turns byte ranges in data into line-numbered matches.
func matches(p string, data []byte, ranges [][2]int) []Match {
	out := make([]Match, 0, len(ranges))
	line, lineStart, counted := 1, 0, 0
	for _, r := range ranges {
		line += bytes.Count(data[counted:r[0]], []byte{'\n'})
		counted = r[0]
		if nl := bytes.LastIndexByte(data[:r[0]], '\n'); nl >= 0 {
			lineStart = nl + 1
		} else {
			lineStart = 0
		}
		end := bytes.IndexByte(data[r[0]:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += r[0]
		}
		text := data[lineStart:end]
		text = bytes.TrimSuffix(text, []byte{'\r'})
		if len(text) > maxLineBytes {
			text = text[:maxLineBytes]
		}
		out = append(out, Match{
			Path: p, Line: line, Column: r[0] - lineStart, Length: r[1] - r[0],
			Text: string(bytes.ToValidUTF8(text, []byte("\uFFFD"))),
		})
	}
	return out
}

type literal []byte

func (l literal) find(data []byte, limit int) [][2]int {
	var out [][2]int
	for off := 0; len(out) < limit; {
		i := bytes.Index(data[off:], l)
		if i < 0 {
			break
		}
		out = append(out, [2]int{off + i, off + i + len(l)})
		off += i + max(len(l), 1)
	}
	return out
}

// foldedLiteral matches an ASCII query, lower-cased, against the data
// lower-cased a window at a time: much faster than a (?i) regular
// expression.
type foldedLiteral []byte

func (l foldedLiteral) find(data []byte, limit int) [][2]int {
	// Quick rejection: the query's first letter, in either case, must occur.
	c := l[0]
	upper := c
	if 'a' <= c && c <= 'z' {
		upper = c - 'a' + 'A'
	}
	if bytes.IndexByte(data, c) < 0 && bytes.IndexByte(data, upper) < 0 {
		return nil
	}
	lower := lowerASCII(data)
	return literal(l).find(lower, limit)
}

func lowerASCII(data []byte) []byte {
	out := make([]byte, len(data))
	for i, c := range data {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

type regex struct{ re *regexp.Regexp }

func (r regex) find(data []byte, limit int) [][2]int {
	locs := r.re.FindAllIndex(data, limit)
	out := make([][2]int, 0, len(locs))
	for _, l := range locs {
		if l[1] == l[0] && len(out) > 0 && out[len(out)-1][0] == l[0] {
			continue
		}
		out = append(out, [2]int{l[0], l[1]})
	}
	return out
}

func isASCII(s string) bool {
	return !slices.ContainsFunc([]byte(s), func(c byte) bool { return c >= utf8.RuneSelf })
}
