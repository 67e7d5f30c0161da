package store

import (
	"regexp"
	"strings"
	"sync"
)

// redacted replaces every password [RedactDSN] finds.
const redacted = "xxxxx"

// kvPassword matches a password in the libpq key=value form, quoted or not.
// An unterminated quote runs to the end of the string, so it is redacted too.
// Both patterns are compiled on first use: every process of the gathering
// binary, the sandboxed plugins included, would otherwise compile them at
// init.
var kvPassword = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b((?:ssl)?password)\s*=\s*(?:'(?:[^'\\]|\\.)*(?:'|\\?$)|[^\s']\S*|$)`)
})

// queryPassword matches a password parameter in the query of a URL.
var queryPassword = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)([?&](?:ssl)?password=)[^&#]*`)
})

// RedactDSN returns dsn with every password replaced by "xxxxx", for log
// lines and error messages that name a connection string. It understands the
// URL form (postgres://user:secret@host/db?sslpassword=secret) and the libpq
// key=value form (host=h password='sec ret'), and leaves everything else as
// it was. On malformed input it errs towards hiding too much: in a URL,
// everything between the user name and the last "@" is hidden.
func RedactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return kvPassword().ReplaceAllString(dsn, "${1}="+redacted)
	}
	// The user information ends at the last "@", so an unescaped "@", "/" or
	// "?" in a password still counts as part of it.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if colon := strings.Index(rest[:at], ":"); colon >= 0 {
			rest = rest[:colon+1] + redacted + rest[at:]
		}
	}
	rest = queryPassword().ReplaceAllString(rest, "${1}"+redacted)
	return scheme + "://" + rest
}
