package document_test

import (
	"fmt"

	"github.com/gathering-dev/gathering/workspace/document"
)

func ExampleText_Replace() {
	text := document.NewText("héllo 😀\nworld\n")
	// In UTF-16 "é" is one unit and "😀" two, so the end of line 0 is at
	// character 8.
	end := document.Position{Line: 0, Character: 8}
	edited := text.Replace(document.UTF16, document.Range{Start: end, End: end}, "!")
	fmt.Printf("%q\n", edited.String())
	fmt.Printf("%q\n", text.String()) // the original is unchanged
	// Output:
	// "héllo 😀!\nworld\n"
	// "héllo 😀\nworld\n"
}

func ExampleText_Position() {
	text := document.NewText("a😀b")
	off := text.Offset(document.UTF16, document.Position{Character: 3}) // after the emoji
	for _, enc := range []document.Encoding{document.UTF8, document.UTF16, document.UTF32} {
		fmt.Println(enc, text.Position(enc, off).Character)
	}
	// Output:
	// utf-8 5
	// utf-16 3
	// utf-32 2
}

func ExampleStore() {
	store := document.NewStore(&document.Config{MaxBytes: 16})
	if _, err := store.Open("file:///a.txt", "plaintext", 1, "hello\n"); err != nil {
		panic(err)
	}
	snap := store.Snapshot()

	u, err := store.Change("file:///a.txt", 2, document.UTF16, []document.Change{
		{Range: &document.Range{Start: document.Position{Line: 1}, End: document.Position{Line: 1}}, Text: "a longer second line"},
	})
	if err != nil {
		panic(err)
	}
	if u.BecameOversize {
		fmt.Println("tell the client once: file:///a.txt is too large for plugins")
	}
	before, _ := snap.Get("file:///a.txt")
	fmt.Printf("snapshot: %q, now: %d lines\n", before.Text.String(), u.Text.LineCount())
	// Output:
	// tell the client once: file:///a.txt is too large for plugins
	// snapshot: "hello\n", now: 2 lines
}
