package golang

import (
	"context"
	"encoding/json"
	"errors"
	"go/scanner"
	"go/token"
	"go/types"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// diagnosticsDelay is how long the plugin waits after the last change before
// it checks the open packages and publishes their diagnostics.
const diagnosticsDelay = 100 * time.Millisecond

// diagnose asks the diagnostics loop for a pass, starting the loop on the
// first call. It never blocks.
func (s *session) diagnose(n notifier) {
	s.diagOnce.Do(func() {
		s.wg.Add(1)
		go s.diagnosticsLoop(n)
	})
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// diagnosticsLoop publishes diagnostics diagnosticsDelay after the last of a
// burst of changes, until shutdown.
func (s *session) diagnosticsLoop(n notifier) {
	defer s.wg.Done()
	ctx := context.Background()
	for {
		select {
		case <-s.done:
			return
		case <-s.kick:
		}
		timer := time.NewTimer(diagnosticsDelay)
		for waiting := true; waiting; {
			select {
			case <-s.done:
				timer.Stop()
				return
			case <-s.kick:
				timer.Reset(diagnosticsDelay)
			case <-timer.C:
				waiting = false
			}
		}
		s.publishAll(ctx, n)
	}
}

// publishAll checks the package of every open document and sends each
// document's diagnostics when they differ from what was last sent.
func (s *session) publishAll(ctx context.Context, n notifier) {
	for _, doc := range s.docs.all() {
		diags := s.diagnosticsOf(doc.path)
		if s.docs.get(doc.path) == nil {
			continue // closed meanwhile; didClose cleared it
		}
		params := publishDiagnosticsParams{URI: doc.uri, Diagnostics: diags}
		b, _ := json.Marshal(diags)
		s.pubMu.Lock()
		same := s.published[doc.uri] == string(b)
		s.published[doc.uri] = string(b)
		s.pubMu.Unlock()
		if !same {
			_ = n.Notify(ctx, "textDocument/publishDiagnostics", params)
		}
	}
}

// diagnosticsOf returns the syntax and type errors of the file at path in
// its package; a package that cannot be loaded at all is one diagnostic at
// the top of the file.
func (s *session) diagnosticsOf(path string) []diagnostic {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	diags := []diagnostic{}
	t, err := s.targetOf(path)
	if err != nil {
		return append(diags, diagnostic{Severity: 1, Source: "go", Message: err.Error()})
	}
	enc := s.encoding()
	// primary is the index in diags of the last type error reported in
	// this file, or -1: go/types reports the other places an error
	// involves ("\tother declaration of main") as errors of their own
	// right after it, which belong to it as related information.
	primary := -1
	add := func(pos token.Position, start, end int, msg, source string) {
		if pos.Filename != path {
			primary = -1
			return
		}
		primary = len(diags)
		diags = append(diags, diagnostic{Range: t.index.rangeOf(start, end, enc), Severity: 1, Source: source, Message: msg})
	}
	related := func(pos token.Position, start, end int, msg string) {
		if primary < 0 {
			return
		}
		loc := location{URI: pathToURI(pos.Filename)}
		if pos.Filename == path {
			loc.Range = t.index.rangeOf(start, end, enc)
		} else {
			// Another file: its line is exact; its column is not counted
			// in this client's encoding, so the range starts the line.
			line := uint32(max(pos.Line-1, 0))
			loc.Range.Start.Line, loc.Range.End.Line = line, line
		}
		d := &diags[primary]
		d.RelatedInformation = append(d.RelatedInformation, relatedInformation{Location: loc, Message: strings.TrimSpace(msg)})
	}
	for _, err := range t.c.errs {
		var list scanner.ErrorList
		var te types.Error
		switch {
		case errors.As(err, &list):
			for _, e := range list {
				add(e.Pos, e.Pos.Offset, tokenEnd(t.index.text, e.Pos.Offset), e.Msg, "syntax")
			}
		case errors.As(err, &te):
			pos := te.Fset.PositionFor(te.Pos, false)
			start, end := pos.Offset, tokenEnd(t.index.text, pos.Offset)
			if s, e, ok := typeErrorSpan(te); ok && te.Fset.File(s) == t.tf && e > s {
				start, end = t.offset(s), t.offset(e)
			}
			if strings.HasPrefix(te.Msg, "\t") {
				related(pos, start, end, te.Msg)
				continue
			}
			add(pos, start, end, te.Msg, "compiler")
		}
	}
	return diags
}

// typeErrorSpan reads the start and end of the expression a type error is
// about. go/types keeps them in unexported fields (as gopls reads them too);
// if they are renamed, ok is false and the caller falls back to the token at
// the error's position.
func typeErrorSpan(e types.Error) (start, end token.Pos, ok bool) {
	v := reflect.ValueOf(e)
	fs, fe := v.FieldByName("go116start"), v.FieldByName("go116end")
	if !fs.IsValid() || !fe.IsValid() || !fs.CanInt() || !fe.CanInt() {
		return 0, 0, false
	}
	start, end = token.Pos(fs.Int()), token.Pos(fe.Int())
	return start, end, start.IsValid() && end.IsValid()
}

// tokenEnd returns the end of the token at off: an identifier or number runs
// to its end, anything else is one character, and an error at a line's end
// is empty.
func tokenEnd(text string, off int) int {
	if off >= len(text) {
		return len(text)
	}
	end := off
	for end < len(text) {
		r, size := utf8.DecodeRuneInString(text[end:])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		end += size
	}
	if end > off {
		return end
	}
	if text[off] == '\n' || text[off] == '\r' {
		return off
	}
	_, size := utf8.DecodeRuneInString(text[off:])
	return off + size
}
