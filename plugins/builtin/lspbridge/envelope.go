package lspbridge

// envelope is what the bridge learns about a JSON-RPC message without
// decoding it: whether it has a method, whether it carries a result or an
// error, and the raw bytes of its id. It is filled by an envelopeScanner so
// that a frame too big to keep can be inspected while it is discarded.
type envelope struct {
	hasMethod bool
	hasResult bool // "result" or "error" at the top level
	id        []byte
	method    []byte // the method name, when short, without quotes
}

// isRequest reports whether the message expects an answer.
func (e *envelope) isRequest() bool { return e.hasMethod && len(e.id) > 0 }

// isResponse reports whether the message answers a request.
func (e *envelope) isResponse() bool { return !e.hasMethod && e.hasResult && len(e.id) > 0 }

// maxIDBytes bounds a captured id; longer ids are not answered for.
const maxIDBytes = 256 // also bounds a kept method name

// envelopeScanner reads a JSON object's top-level keys in a single pass over
// chunks of its bytes, tracking nesting and strings, and keeps only what
// envelope needs. It does not validate JSON: on garbage it learns less.
type envelopeScanner struct {
	env       envelope
	depth     int
	topObject bool
	inString  bool
	escaped   bool
	expectKey bool // at depth 1, the next string is a key
	inKey     bool
	key       []byte
	value     string // the top-level key whose value is being read
	capture   *[]byte
	overflow  bool
}

// write feeds the next chunk of the message.
func (s *envelopeScanner) write(p []byte) {
	for _, c := range p {
		s.byte(c)
	}
}

func (s *envelopeScanner) byte(c byte) {
	if s.inString {
		if s.capture != nil {
			s.keep(c)
		}
		switch {
		case s.escaped:
			s.escaped = false
		case c == '\\':
			s.escaped = true
		case c == '"':
			s.inString = false
			if s.inKey {
				s.inKey = false
				s.value = string(s.key)
			}
			return
		}
		if s.inKey && len(s.key) < 16 {
			s.key = append(s.key, c)
		}
		return
	}
	switch c {
	case '"':
		s.inString = true
		if s.depth == 1 && s.topObject && s.expectKey {
			s.inKey, s.expectKey, s.key = true, false, s.key[:0]
		} else if s.capture != nil {
			s.keep(c)
		}
	case '{', '[':
		if s.capture != nil {
			s.keep(c)
		}
		s.depth++
		if s.depth == 1 {
			s.topObject = c == '{'
			s.expectKey = s.topObject
		}
	case '}', ']':
		s.depth--
		if s.depth <= 0 {
			s.capture = nil
		} else if s.capture != nil {
			s.keep(c)
		}
	case ':':
		if s.depth == 1 && s.topObject {
			s.capture = nil
			switch s.value {
			case "id":
				s.env.id = s.env.id[:0]
				s.capture = &s.env.id
			case "method":
				s.env.hasMethod = true
				s.env.method = s.env.method[:0]
				s.capture = &s.env.method
			case "result", "error":
				s.env.hasResult = true
			}
		} else if s.capture != nil {
			s.keep(c)
		}
	case ',':
		if s.depth == 1 && s.topObject {
			s.capture, s.expectKey = nil, true
		} else if s.capture != nil {
			s.keep(c)
		}
	case ' ', '\t', '\r', '\n':
	default:
		if s.capture != nil {
			s.keep(c)
		}
	}
}

func (s *envelopeScanner) keep(c byte) {
	if len(*s.capture) >= maxIDBytes {
		if s.capture == &s.env.id {
			s.overflow = true
		}
		return
	}
	*s.capture = append(*s.capture, c)
}

// result returns what the scan found. An id that did not fit is dropped.
func (s *envelopeScanner) result() envelope {
	env := s.env
	if s.overflow {
		env.id = nil
	}
	if n := len(env.method); n >= 2 && env.method[0] == '"' && env.method[n-1] == '"' {
		env.method = env.method[1 : n-1]
	} else {
		env.method = nil // too long to keep, or not a string
	}
	return env
}

// scanEnvelope inspects a whole message held in memory.
func scanEnvelope(msg []byte) envelope {
	var s envelopeScanner
	s.write(msg)
	return s.result()
}
