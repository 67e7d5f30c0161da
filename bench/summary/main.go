// Command summary prints the rows that rpcbench, editbench and startbench
// appended to a JSON-lines file as one table, and a line saying which
// targets were not met. It exits 0 whether or not they were: a missed
// target is a finding to read, not a failed build.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gathering-dev/gathering/bench/internal/report"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "summary:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: summary ROWS.jsonl")
	}
	rows, err := report.Load(args[0])
	if err != nil {
		return err
	}
	if err := report.Print(stdout, rows); err != nil {
		return err
	}
	var missed, met int
	for _, r := range rows {
		switch r.Status() {
		case "met":
			met++
		case "NOT MET":
			missed++
			fmt.Fprintf(stdout, "NOT MET: %s %s: %s, target %s\n", r.Bench, r.Metric, value(r), r.Target)
		}
	}
	fmt.Fprintf(stdout, "%d of %d targets met\n", met, met+missed)
	return nil
}

func value(r report.Row) string {
	if r.HasPeer {
		return fmt.Sprintf("%.2f %s (peer %.2f %s, %.2f×)", r.Ours, r.Unit, r.Peer, r.Unit, r.Ratio())
	}
	return fmt.Sprintf("%.2f %s", r.Ours, r.Unit)
}
