package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/caarlos0/env/v11"

	"github.com/numbers-app/numbers/worker/service"
)

// usage prints how to run the worker, its subcommands and the environment
// variables it reads, listed from service.Config's env tags so the list
// cannot drift from the code.
func usage(w io.Writer) error {
	params, err := env.GetFieldParams(&service.Config{})
	if err != nil {
		return err
	}
	fmt.Fprint(w, `Usage:
  worker              consume the queue: store numbers in Postgres, dead-letter poison
  worker dlq ...      inspect and replay the dead-letter queue (worker dlq --help)
  worker help         this text

Environment (default in brackets):
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range params {
		def := ""
		if p.HasDefaultValue {
			def = "[" + p.DefaultValue + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", p.Key, def)
	}
	return tw.Flush()
}
