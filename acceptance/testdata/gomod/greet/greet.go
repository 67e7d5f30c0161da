// Package greet builds greetings.
package greet

import "strings"

// Hello returns a greeting for name, shouted when loud is set.
func Hello(name string, loud bool) string {
	s := "Hello, " + name + "!"
	if loud {
		return strings.ToUpper(s)
	}
	return s
}

// Version is the version of the greeting format.
const Version = 2

// Greeter greets everyone with the same Prefix.
type Greeter struct {
	Prefix string
}

// Greet returns g's greeting for name.
func (g Greeter) Greet(name string) string {
	return g.Prefix + Hello(name, false)
}

// helper is unexported: completion in other packages must not offer it.
func helper() string { return "" }
