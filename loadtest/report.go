package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// Percentiles in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) float64 {
		i := int(q*float64(len(ds))+0.5) - 1
		i = max(0, min(i, len(ds)-1))
		return float64(ds[i].Microseconds()) / 1000
	}
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: float64(ds[len(ds)-1].Microseconds()) / 1000}
}

// Report is the JSON report.
type Report struct {
	Target          string         `json:"target"`
	Rate            int            `json:"rate"`
	Duration        string         `json:"duration"`
	StartedAt       time.Time      `json:"started_at"`
	Source          string         `json:"source"`
	Requested       int            `json:"requested"`
	Accepted        int            `json:"accepted"`
	Rejected        int            `json:"rejected"`
	Errors          int            `json:"errors"`
	StatusCodes     map[string]int `json:"status_codes"`
	ErrorSamples    []string       `json:"error_samples,omitempty"`
	Stored          int            `json:"stored"`
	Lost            int            `json:"lost"`
	Duplicates      int            `json:"duplicates"`
	StoredWithout   int            `json:"stored_without_202"`
	AchievedRate    float64        `json:"achieved_rate"`
	AcceptedRate    float64        `json:"accepted_rate"`
	StoredRate      float64        `json:"stored_rate"`
	DrainSeconds    float64        `json:"drain_seconds"`
	AcceptLatencyMS Percentiles    `json:"accept_latency_ms"`
	E2ELagMS        Percentiles    `json:"e2e_lag_ms"`
}

func buildReport(o Options, res *attackResult, rows []row, drain time.Duration) Report {
	attackSecs := res.Ended.Sub(res.Started).Seconds()
	duration := o.Duration.String()
	if o.Count > 0 {
		duration = res.Ended.Sub(res.Started).Round(time.Millisecond).String()
	}
	rep := Report{
		Target: o.Target, Rate: o.Rate, Duration: duration, StartedAt: res.Started.UTC(),
		Source: "api", Requested: res.Requested, Accepted: len(res.Accepted), Errors: res.Errors,
		StatusCodes: map[string]int{}, ErrorSamples: res.ErrorSamples, DrainSeconds: drain.Seconds(),
	}
	if o.DatabaseURL != "" {
		rep.Source = "postgres"
	}
	for code, n := range res.Statuses {
		rep.StatusCodes[fmt.Sprint(code)] = n
		if code != 202 && code != 201 {
			rep.Rejected += n
		}
	}
	rowsByValue := map[int64]int{}
	stored := map[int64]bool{}
	var lags []time.Duration
	var lastStored time.Time
	for _, r := range rows {
		rowsByValue[r.Value]++
		a, ok := res.Accepted[r.Value]
		if !ok || a.ID != r.ID {
			if !ok {
				// A request that timed out or failed after SQS had it.
				rep.StoredWithout++
			}
			continue
		}
		if !stored[r.Value] {
			stored[r.Value] = true
			lags = append(lags, r.StoredAt.Sub(r.AcceptedAt))
			if r.StoredAt.After(lastStored) {
				lastStored = r.StoredAt
			}
		}
	}
	for _, n := range rowsByValue {
		if n > 1 {
			rep.Duplicates += n - 1
		}
	}
	rep.Stored = len(stored)
	rep.Lost = rep.Accepted - rep.Stored
	lat := make([]time.Duration, 0, len(res.Accepted))
	for _, a := range res.Accepted {
		lat = append(lat, a.Latency)
	}
	rep.AcceptLatencyMS = percentiles(lat)
	rep.E2ELagMS = percentiles(lags)
	if attackSecs > 0 {
		rep.AchievedRate = float64(rep.Requested) / attackSecs
		rep.AcceptedRate = float64(rep.Accepted) / attackSecs
	}
	if window := attackSecs + drain.Seconds(); window > 0 && rep.Stored > 0 {
		rep.StoredRate = float64(rep.Stored) / window
	}
	return rep
}

func (r Report) print(w io.Writer) {
	fmt.Fprintf(w, `
target      %s  (results read from %s)
attack      %d/s for %s: %d requested, %.0f/s achieved
accepted    %d (202)   rejected %d   errors %d   status codes %v
stored      %d   lost %d   duplicates %d   stored without a 202 %d
accept      p50 %.1f ms   p90 %.1f ms   p99 %.1f ms   max %.1f ms
end to end  p50 %.1f ms   p90 %.1f ms   p99 %.1f ms   max %.1f ms   (stored_at - accepted_at)
drain       %.1f s after the attack; accepted-and-stored %.0f/s over attack + drain
`, r.Target, r.Source, r.Rate, r.Duration, r.Requested, r.AchievedRate,
		r.Accepted, r.Rejected, r.Errors, r.StatusCodes,
		r.Stored, r.Lost, r.Duplicates, r.StoredWithout,
		r.AcceptLatencyMS.P50, r.AcceptLatencyMS.P90, r.AcceptLatencyMS.P99, r.AcceptLatencyMS.Max,
		r.E2ELagMS.P50, r.E2ELagMS.P90, r.E2ELagMS.P99, r.E2ELagMS.Max,
		r.DrainSeconds, r.StoredRate)
	for _, s := range r.ErrorSamples {
		fmt.Fprintln(w, "error sample:", s)
	}
}

func (r Report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
