package document

import (
	"math"
	"math/rand/v2"
	"strings"
)

// node is one line of a Text, kept in an implicit treap: the tree is ordered
// by line number (which is never stored, only counted) and heap-ordered by
// prio, so its shape is that of a random binary search tree and its depth is
// O(log n) with high probability.
//
// A node is never modified once another node or a Text points at it; every
// change copies the path from the root to the node it changes. The nil *node
// is the empty tree.
type node struct {
	left, right *node
	line        string // the line with its terminator; only the last line of a text lacks one
	prio        uint32 // no child has a higher prio than its parent
	lines       int    // lines in this subtree
	bytes       int    // bytes in this subtree
}

func (n *node) lineCount() int {
	if n == nil {
		return 0
	}
	return n.lines
}

func (n *node) byteCount() int {
	if n == nil {
		return 0
	}
	return n.bytes
}

// mk returns a new node with the given children and fills in its counts.
func mk(left *node, line string, prio uint32, right *node) *node {
	return &node{
		left:  left,
		right: right,
		line:  line,
		prio:  prio,
		lines: left.lineCount() + 1 + right.lineCount(),
		bytes: left.byteCount() + len(line) + right.byteCount(),
	}
}

// split returns the first k lines of n and the rest.
func split(n *node, k int) (*node, *node) {
	if n == nil {
		return nil, nil
	}
	left := n.left.lineCount()
	if k <= left {
		a, b := split(n.left, k)
		return a, mk(b, n.line, n.prio, n.right)
	}
	a, b := split(n.right, k-left-1)
	return mk(n.left, n.line, n.prio, a), b
}

// merge returns the lines of a followed by the lines of b.
func merge(a, b *node) *node {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio >= b.prio:
		return mk(a.left, a.line, a.prio, merge(a.right, b))
	default:
		return mk(merge(a, b.left), b.line, b.prio, b.right)
	}
}

// setLine returns n with line i, which must exist, replaced by line. It
// copies one path and keeps every priority, so the shape of the tree does
// not change.
func setLine(n *node, i int, line string) *node {
	old, _ := lineAt(n, i)
	return setLineDelta(n, i, line, len(line)-len(old))
}

// setLineDelta is setLine given how much longer line is than the line it
// replaces. Each copy adjusts its byte count by delta rather than adding up
// its children, so the only nodes it reads are those on the path: in a large
// text each of the others would be a cache miss.
func setLineDelta(n *node, i int, line string, delta int) *node {
	c := *n
	c.bytes += delta
	switch left := n.left.lineCount(); {
	case i < left:
		c.left = setLineDelta(n.left, i, line, delta)
	case i == left:
		c.line = line
	default:
		c.right = setLineDelta(n.right, i-left-1, line, delta)
	}
	return &c
}

// insert returns n with line inserted so that it becomes line i. Like
// setLine it copies one path without reading the nodes beside it, plus the
// part below the new node that split cuts, which a random priority keeps to
// O(1) nodes in expectation.
func insert(n *node, i int, line string, prio uint32) *node {
	if n == nil {
		return mk(nil, line, prio, nil)
	}
	if prio > n.prio {
		a, b := split(n, i)
		return mk(a, line, prio, b)
	}
	c := *n
	c.lines++
	c.bytes += len(line)
	if left := n.left.lineCount(); i <= left {
		c.left = insert(n.left, i, line, prio)
	} else {
		c.right = insert(n.right, i-left-1, line, prio)
	}
	return &c
}

// remove returns n without line i, which must exist, and the length of the
// line it removed. It copies one path and merges the removed node's
// children, which takes O(1) nodes in expectation.
func remove(n *node, i int) (*node, int) {
	left := n.left.lineCount()
	if i == left {
		return merge(n.left, n.right), len(n.line)
	}
	c := *n
	var gone int
	if i < left {
		c.left, gone = remove(n.left, i)
	} else {
		c.right, gone = remove(n.right, i-left-1)
	}
	c.lines--
	c.bytes -= gone
	return &c, gone
}

// lineAt returns line i of n, which must exist, and the offset of its first
// byte.
func lineAt(n *node, i int) (line string, start int) {
	for {
		left := n.left.lineCount()
		switch {
		case i < left:
			n = n.left
		case i == left:
			return n.line, start + n.left.byteCount()
		default:
			i -= left + 1
			start += n.left.byteCount() + len(n.line)
			n = n.right
		}
	}
}

// lineAtOffset returns the index of the line of n that holds byte off, the
// line, and the offset of its first byte. An off at or past the end of n
// belongs to the last line.
func lineAtOffset(n *node, off int) (i int, line string, start int) {
	if off >= n.bytes {
		line, start = lineAt(n, n.lines-1)
		return n.lines - 1, line, start
	}
	for {
		left := n.left.byteCount()
		switch {
		case off < left:
			n = n.left
		case off < left+len(n.line):
			return i + n.left.lineCount(), n.line, start + left
		default:
			off -= left + len(n.line)
			start += left + len(n.line)
			i += n.left.lineCount() + 1
			n = n.right
		}
	}
}

// writeBytes writes bytes [from, to) of n to b.
func writeBytes(b *strings.Builder, n *node, from, to int) {
	for n != nil && from < to {
		left := n.left.byteCount()
		if from < left {
			writeBytes(b, n.left, from, min(to, left))
		}
		end := left + len(n.line)
		if from < end && left < to {
			b.WriteString(n.line[max(from, left)-left : min(to, end)-left])
		}
		from = max(from-end, 0)
		to -= end
		n = n.right
	}
}

// walk calls yield for each line of n in order, numbering them from first,
// and reports whether yield always returned true.
func walk(n *node, first int, yield func(int, string) bool) bool {
	for n != nil {
		if !walk(n.left, first, yield) {
			return false
		}
		first += n.left.lineCount()
		if !yield(first, n.line) {
			return false
		}
		first++
		n = n.right
	}
	return true
}

// build returns a tree of the given lines. It lays them out as a complete
// binary tree in which node i of breadth-first order has children 2i+1 and
// 2i+2, and gives node i the i-th largest of len(lines) random priorities. The
// result is as balanced as a tree can be, yet its priorities are an honest
// random sample, so it merges with the rest of a treap as any random subtree
// would.
//
// All the nodes share one allocation, which stays alive while any of them
// does; that costs at most the size of the tree being built.
func build(lines []string) *node {
	switch len(lines) {
	case 0:
		return nil
	case 1:
		return mk(nil, lines[0], rand.Uint32(), nil)
	}
	b := builder{lines: lines, prios: descendingPriorities(len(lines)), nodes: make([]node, len(lines))}
	return b.fill(0)
}

type builder struct {
	lines []string // in order; fill consumes them from the front
	prios []uint32 // indexed by breadth-first position
	nodes []node   // indexed by breadth-first position
}

func (b *builder) fill(i int) *node {
	if i >= len(b.nodes) {
		return nil
	}
	n := &b.nodes[i]
	n.left = b.fill(2*i + 1)
	n.line, b.lines = b.lines[0], b.lines[1:]
	n.right = b.fill(2*i + 2)
	n.prio = b.prios[i]
	n.lines = n.left.lineCount() + 1 + n.right.lineCount()
	n.bytes = n.left.byteCount() + len(n.line) + n.right.byteCount()
	return n
}

// descendingPriorities returns k uniformly random priorities sorted from
// largest to smallest, in O(k) time: the running sums of k+1 exponential
// variables, divided by their total, are the order statistics of k uniform
// ones.
func descendingPriorities(k int) []uint32 {
	sums := make([]float64, k+1)
	total := 0.0
	for i := range sums {
		total += rand.ExpFloat64()
		sums[i] = total
	}
	prios := make([]uint32, k)
	for i := range prios {
		u := math.Ldexp(sums[k-1-i]/total, 32)
		prios[i] = uint32(min(u, math.MaxUint32))
	}
	return prios
}

// splitLines appends the lines of s to dst and returns the result. Every line
// but the last ends with its terminator; the last is whatever follows the
// final terminator, possibly "".
func splitLines(dst []string, s string) []string {
	// cr is the index of the next '\r' at or after start, or len(s); finding
	// it once per '\r' rather than once per line keeps this linear.
	cr := -1
	start := 0
	for start < len(s) {
		if cr < start {
			cr = strings.IndexByte(s[start:], '\r')
			if cr < 0 {
				cr = len(s)
			} else {
				cr += start
			}
		}
		lf := strings.IndexByte(s[start:min(cr, len(s))], '\n')
		var end int // one past the terminator
		switch {
		case lf >= 0:
			end = start + lf + 1
		case cr < len(s):
			end = cr + 1
			if end < len(s) && s[end] == '\n' {
				end++
			}
		default:
			return append(dst, s[start:])
		}
		dst = append(dst, s[start:end])
		start = end
	}
	return append(dst, "")
}

// content returns line without its terminator.
func content(line string) string {
	n := len(line)
	switch {
	case n >= 2 && line[n-2] == '\r' && line[n-1] == '\n':
		return line[:n-2]
	case n >= 1 && (line[n-1] == '\n' || line[n-1] == '\r'):
		return line[:n-1]
	}
	return line
}
