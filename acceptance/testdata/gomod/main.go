// Command hello prints greetings.
package main

import (
	"fmt"

	"example.com/hello/greet"
)

func main() {
	fmt.Println(greet.Hello("world", false))
	fmt.Println(greet.Hello("gophers", true))
	g := greet.Greeter{Prefix: "> "}
	fmt.Println(g.Greet("you"), greet.Version)
}
