// Command gathering is an IDE backend: a language server for editors with
// gathering/* methods for pipelines, schedules and circles of agents.
//
//	gathering serve [--stdio] [settings]   serve editors (TCP by default)
//	gathering migrate [settings]           apply the store's migrations
//	gathering doctor [settings]            check the store and the sandbox
//	gathering user|token|audit ...         accounts, tokens, the audit log
//	gathering version                      print the version
//
// main is the only place that knows every part; it reads the settings, opens
// the store, and wires the server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gathering-dev/gathering/plugins/builtin"
	"github.com/gathering-dev/gathering/plugins/sandbox"
)

func main() {
	// The plugin launcher and the built-in plugins are this binary too,
	// executed inside the sandbox: they start before anything else. The
	// launcher runs a built-in in its own process when it is the sealed
	// copy of this binary the built-in would run from.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case sandbox.LauncherCommand:
			os.Exit(sandbox.LauncherMainWith(os.Args[2:], func(argv []string) int { return builtin.Main(argv) }))
		case builtin.RunCommand:
			os.Exit(builtin.Main(os.Args))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks an error already explained to the user by a usage message.
var errUsage = errors.New("usage")

// run runs one command and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		topUsage(stderr)
		return 2
	}
	var err error
	code := 0
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		code, err = serve(ctx, rest, stdin, stdout, stderr)
	case "migrate":
		err = migrate(ctx, rest, stdout, stderr)
	case "doctor":
		code, err = doctor(ctx, rest, stdout, stderr)
	case "user":
		err = userCmd(ctx, rest, stdin, stdout, stderr)
	case "token":
		err = tokenCmd(ctx, rest, stdout, stderr)
	case "audit":
		err = auditCmd(ctx, rest, stdout, stderr)
	case "plugin":
		code, err = pluginCmd(rest, stdout, stderr)
	case "version", "--version", "-version":
		err = printVersion(stdout)
	case "help", "--help", "-help", "-h":
		topUsage(stdout)
	default:
		fmt.Fprintf(stderr, "gathering: unknown command %q\n\n", cmd)
		topUsage(stderr)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "gathering %s: %v\n", args[0], err)
		return 1
	}
	return code
}

func topUsage(w io.Writer) {
	fmt.Fprint(w, `gathering — an IDE backend that speaks LSP

Usage:
  gathering serve [--stdio] [settings]   serve editors: TCP on 127.0.0.1:7998, or one editor on stdio
  gathering migrate [settings]           apply the store's migrations and print its schema version
  gathering doctor [settings]            check the store, its migrations, and the sandbox this kernel allows
  gathering user add|list|disable|set-role   manage the accounts TCP clients log in as
  gathering token create|list|revoke     issue and revoke access tokens
  gathering audit [filters]              read the audit log
  gathering plugin list|keygen|sign|verify  list plugins; make keys, sign and verify plugin manifests
  gathering version                      print the version

Run "gathering serve --help" for every setting.
`)
}
