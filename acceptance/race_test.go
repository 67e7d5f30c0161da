//go:build race

package acceptance

// raceEnabled reports whether the tests run with -race; the server under
// test is then built with it too.
const raceEnabled = true
