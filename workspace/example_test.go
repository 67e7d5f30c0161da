package workspace_test

import (
	"errors"
	"fmt"

	"github.com/gathering-dev/gathering/workspace"
)

func ExampleCleanPath() {
	for _, p := range []string{"src//main.go", "docs/../README.md", "../etc/passwd", "%2e%2e/etc/passwd", `src\main.go`} {
		clean, err := workspace.CleanPath(p)
		switch {
		case errors.Is(err, workspace.ErrPathEscapes):
			fmt.Printf("%-20q escapes\n", p)
		case errors.Is(err, workspace.ErrInvalidPath):
			fmt.Printf("%-20q invalid\n", p)
		default:
			fmt.Printf("%-20q %s\n", p, clean)
		}
	}
	// Output:
	// "src//main.go"       src/main.go
	// "docs/../README.md"  README.md
	// "../etc/passwd"      escapes
	// "%2e%2e/etc/passwd"  escapes
	// "src\\main.go"       invalid
}
