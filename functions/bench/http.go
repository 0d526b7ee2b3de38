package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/numbers-app/numbers/loadtest/measure"
)

// httpPart measures, per run and HTTP-side process, the time from process
// start to the first 202 and the warm POST latency.
func (b *bench) httpPart(ctx context.Context, out io.Writer) error {
	// 1. Start to first response and warm latency, HTTP side.
	start := map[string]*stats{}
	lat := map[string]map[string]*stats{}
	mem := map[string]*stats{}
	rieMem := &stats{}
	reported := &stats{}
	httpNames := []string{"proxy", "proxy-linger-off", "lambda-http"}
	for run := 0; run < b.o.runs; run++ {
		for _, name := range httpNames {
			t, err := b.newTarget(ctx, name)
			if err != nil {
				return err
			}
			if err := t.start(); err != nil {
				t.stop()
				return err
			}
			d, err := t.untilUp(func() error { return b.post(t) })
			if err != nil {
				t.stop()
				return err
			}
			get(start, name).add(ms(d))
			var took []time.Duration
			for i := 0; i < b.o.requests; i++ {
				begin := time.Now()
				if err := b.post(t); err != nil {
					t.stop()
					return err
				}
				took = append(took, time.Since(begin))
			}
			if lat[name] == nil {
				lat[name] = map[string]*stats{}
			}
			for _, p := range []float64{0.5, 0.9, 0.99} {
				get(lat[name], fmt.Sprint(p)).add(measure.Ms(measure.Percentile(took, p)))
			}
			if t.isRIE() {
				// The emulator prints REPORT after it answers: read it now.
				reported.add(t.reportedInit())
			}
			w, e := t.memory()
			get(mem, name).add(float64(w) / (1 << 20))
			if e > 0 {
				rieMem.add(float64(e) / (1 << 20))
			}
			t.stop()
		}
	}
	fmt.Fprintln(out, "\n## HTTP: process start to first 202, then warm POST latency (ms; medians of runs, each run's values in brackets)")
	fmt.Fprintln(out, "| process | start → first 202 | warm p50 | warm p90 | warm p99 | peak RSS MiB |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	for _, n := range httpNames {
		fmt.Fprintf(out, "| %s | %.1f [%s] | %.2f [%s] | %.2f | %.2f | %.1f |\n", n, start[n].median(), start[n],
			lat[n]["0.5"].median(), lat[n]["0.5"], lat[n]["0.9"].median(), lat[n]["0.99"].median(), mem[n].median())
	}
	fmt.Fprintf(out, "emulator-reported Duration of the first invoke (bootstrap INIT + handler, ms): median %.1f [%s]; emulator's own peak RSS MiB: median %.1f\n",
		reported.median(), reported, rieMem.median())

	return nil
}
