package main

import (
	"fmt"
	"io"
	"maps"
	"reflect"
	"text/tabwriter"

	"github.com/caarlos0/env/v11"

	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/worker/service"
)

// usage prints how to run the worker, its subcommands and the environment
// variables it reads, listed from service.Config's env tags and defaults
// (envDefault, else the value WithDefaults gives) so the list cannot drift
// from the code.
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
	defaults := fieldDefaults(reflect.ValueOf(service.Config{}.WithDefaults()))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range params {
		def := ""
		if p.HasDefaultValue {
			def = "[" + p.DefaultValue + "]"
		} else if d, ok := defaults[p.Key]; ok {
			def = "[" + d + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", p.Key, def)
	}
	return tw.Flush()
}

// fieldDefaults maps the env tag of each non-zero field of a config struct
// (embedded structs included) to its value as the README writes it
// (durations without zero units: 24h, 1m, 10ms).
func fieldDefaults(v reflect.Value) map[string]string {
	out := map[string]string{}
	for i := 0; i < v.NumField(); i++ {
		f, fv := v.Type().Field(i), v.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, fieldDefaults(fv))
			continue
		}
		key, ok := f.Tag.Lookup("env")
		if !ok || fv.IsZero() {
			continue
		}
		out[key] = config.FormatDefault(fv.Interface())
	}
	return out
}
