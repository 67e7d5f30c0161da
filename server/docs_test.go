package server

import (
	"os"
	"strings"
	"testing"
)

// TestEveryMethodIsDocumented keeps docs/protocol.md in step with the
// method table: each gathering/* method needs a section with an example.
func TestEveryMethodIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := strings.Split(string(doc), "\n### ")
	for name := range methodTable(true) {
		if !strings.HasPrefix(name, "gathering/") {
			continue
		}
		found := false
		for _, sec := range sections {
			if strings.HasPrefix(sec, name+"\n") {
				found = true
				if !strings.Contains(sec, `"method": "`+name+`"`) || !strings.Contains(sec, `"result"`) {
					t.Errorf("docs/protocol.md: %s has no example request and answer", name)
				}
			}
		}
		if !found {
			t.Errorf("docs/protocol.md has no section for %s", name)
		}
	}
}
