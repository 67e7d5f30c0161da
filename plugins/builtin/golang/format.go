package golang

import (
	"context"
	"encoding/json"
	"fmt"
	"go/format"
	"strings"
)

func (s *session) formatting(ctx context.Context, raw json.RawMessage) (any, error) {
	path, src, err := s.documentSource("formatting", raw)
	if err != nil {
		return nil, err
	}
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, &requestError{codeRequestFailed, fmt.Sprintf("format %s: %v", path, err)}
	}
	return formatEdits(src, string(out), s.encoding()), nil
}

// formatEdits returns one edit that turns src into out, spanning only the
// lines between their common leading and trailing lines; none when equal.
func formatEdits(src, out string, enc posEncoding) []textEdit {
	if src == out {
		return []textEdit{}
	}
	a, b := strings.SplitAfter(src, "\n"), strings.SplitAfter(out, "\n")
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	start := len(strings.Join(a[:pre], ""))
	end := len(src) - len(strings.Join(a[len(a)-suf:], ""))
	newText := strings.Join(b[pre:len(b)-suf], "")
	index := newLineIndex(src)
	return []textEdit{{Range: index.rangeOf(start, end, enc), NewText: newText}}
}
