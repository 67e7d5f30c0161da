package golang

import (
	"go/scanner"
	"go/token"
)

// blankFuncBodies returns src with the inside of every top-level function
// body replaced by spaces (newlines kept), so offsets and lines still match
// the file on disk. Packages outside the workspace are checked with
// IgnoreFuncBodies, so their bodies are never looked at; blanking them
// before parsing saves most of the parse time and memory of the standard
// library (gopls does the same with its PurgeFuncBodies). Composite
// literals of top-level variables are left alone: they can give a type its
// length ([...]T{…}).
func blankFuncBodies(src []byte) []byte {
	out := []byte(nil)
	file := token.NewFileSet().AddFile("", -1, len(src))
	var sc scanner.Scanner
	sc.Init(file, src, nil, 0)
	prev := token.SEMICOLON
	depth := 0
	inFunc := false      // a top-level func declaration's signature is being read
	var typeBraces []int // depths at which a struct/interface brace opened
	bodyStart := -1
	for {
		pos, tok, _ := sc.Scan()
		if tok == token.EOF {
			break
		}
		switch tok {
		case token.FUNC:
			if depth == 0 && prev == token.SEMICOLON {
				inFunc = true
			}
		case token.LBRACE, token.LPAREN, token.LBRACK:
			if tok == token.LBRACE && (prev == token.STRUCT || prev == token.INTERFACE) {
				typeBraces = append(typeBraces, depth)
			} else if tok == token.LBRACE && depth == 0 && inFunc {
				bodyStart = file.Offset(pos) + 1
				inFunc = false
			}
			depth++
		case token.RBRACE, token.RPAREN, token.RBRACK:
			depth--
			if n := len(typeBraces); n > 0 && typeBraces[n-1] == depth {
				typeBraces = typeBraces[:n-1]
			}
			if tok == token.RBRACE && depth == 0 && bodyStart >= 0 {
				end := file.Offset(pos)
				if out == nil {
					out = append([]byte(nil), src...)
				}
				for i := bodyStart; i < end; i++ {
					if out[i] != '\n' {
						out[i] = ' '
					}
				}
				bodyStart = -1
			}
		case token.SEMICOLON:
			if depth == 0 {
				inFunc = false
			}
		}
		prev = tok
	}
	if out == nil {
		return src
	}
	return out
}
