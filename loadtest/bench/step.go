package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/numbers-app/numbers/loadtest/measure"
)

// The criterion a rate "holds" by (issue 15).
const (
	holdShare = 0.999                  // of requests answered 2xx
	holdP99   = 100 * time.Millisecond // latency p99 of all requests
)

// step is one constant-rate attack on one target and what it cost.
type step struct {
	Target  string  `json:"target"`
	Rate    int     `json:"rate"`
	Seconds float64 `json:"seconds"` // the attack's wall time
	// Answers.
	Sent         int `json:"sent"`
	OK           int `json:"ok"` // 2xx: 202 (numbers, floor), 201 (sync), 200 (original)
	Status503    int `json:"status_503"`
	RetryAfter   int `json:"status_503_with_retry_after"`
	OtherStatus  int `json:"other_status"`
	Timeouts     int `json:"timeouts"`
	ConnErrors   int `json:"connection_errors"`
	WithinSecond int `json:"answered_within_1s"`
	// Errors counts the client's errors (timeouts and connection errors)
	// by their message, the address parts left out: what failed, not where.
	Errors map[string]int `json:"errors,omitempty"`
	// Latency of every request (errors included), ms.
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	// Storage, after the drain (targets that store).
	Stored        int     `json:"stored"`
	Lost          int     `json:"lost"`
	Duplicates    int     `json:"duplicates"`
	StoredWithout int     `json:"stored_without_2xx"`
	DrainSeconds  float64 `json:"drain_seconds"`
	// CPU: µs per write of each of the target's processes (the worker's per
	// message stored), and cores used during the attack by every process
	// that shares the machine.
	PerWrite map[string]float64 `json:"cpu_us_per_write"`
	// MessagesPerCall is how full the calls were: events (an aggregated
	// message counts its events) per SendMessageBatch ("send"), per
	// ReceiveMessage ("receive") and per batch the worker persisted, one
	// INSERT each ("persist"). The JSON name is kept from before
	// aggregation, for runs on record.
	MessagesPerCall map[string]float64 `json:"sqs_messages_per_call,omitempty"`
	Cores           map[string]float64 `json:"cores"`
	Holds           bool               `json:"holds"`
	Why             string             `json:"why,omitempty"`
}

func (s step) share() float64 {
	if s.Sent == 0 {
		return 0
	}
	return float64(s.OK) / float64(s.Sent)
}

// judge applies the holding criterion.
func (s *step) judge(mustStore bool) {
	var why []string
	if s.share() < holdShare {
		why = append(why, fmt.Sprintf("%.2f%% answered 2xx", 100*s.share()))
	}
	if s.P99 >= measure.Ms(holdP99) {
		why = append(why, fmt.Sprintf("p99 %.0f ms", s.P99))
	}
	if mustStore && (s.Lost > 0 || s.Duplicates > 0) {
		why = append(why, fmt.Sprintf("%d lost, %d duplicated", s.Lost, s.Duplicates))
	}
	s.Holds, s.Why = len(why) == 0, strings.Join(why, "; ")
}

// runner runs steps on one environment; each step posts its own range of
// values (under 2^31: the original stores 32-bit integers).
type runner struct {
	c    config
	e    *env
	next int64
	log  io.Writer
	// maxWorkers caps the attack's workers (0: no cap).
	maxWorkers uint64
}

const valuesPerStep = 1 << 22

// sampler reads the CPU time of the processes that matter in a step.
type sampler struct {
	pids map[string]int
	tree map[string]bool
}

func (r *runner) sampler(t target) sampler {
	s := sampler{pids: map[string]int{
		"sqs": r.e.sqsPID, "postgres": r.e.pgPID, "loadgen": os.Getpid(),
	}, tree: map[string]bool{"postgres": true}}
	for _, p := range t.procs {
		s.pids[p.name] = p.pid()
	}
	return s
}

func (s sampler) read() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pid := range s.pids {
		if d, err := measure.CPUTime(pid, s.tree[name]); err == nil {
			out[name] = d
		}
	}
	return out
}

// run attacks t at rate for d, waits for what was accepted to be stored,
// and reports.
func (r *runner) run(ctx context.Context, t target, rate int, d time.Duration) (step, error) {
	r.next++
	lo := r.next * valuesPerStep
	if int64(rate)*int64(d/time.Second+1) >= valuesPerStep || lo+valuesPerStep >= 1<<31 {
		return step{}, errors.New("too many posts for one step's range of values")
	}
	s := step{Target: t.name, Rate: rate, PerWrite: map[string]float64{}, Cores: map[string]float64{}}
	smp := r.sampler(t)
	hist0 := readBatches(ctx, t.batches)
	cpu0 := smp.read()
	begin := time.Now()
	okValues, err := r.attack(ctx, t.url, rate, d, lo, &s)
	if err != nil {
		return s, err
	}
	attackEnd := time.Now()
	s.Seconds = attackEnd.Sub(begin).Seconds()
	cpu1 := smp.read()
	if t.stored != nil {
		if err := r.drain(ctx, t, lo, okValues, &s, attackEnd); err != nil {
			return s, err
		}
	}
	cpu2 := smp.read()
	s.MessagesPerCall = perCall(hist0, readBatches(ctx, t.batches))
	for name := range smp.pids {
		s.Cores[name] = (cpu1[name] - cpu0[name]).Seconds() / s.Seconds
	}
	for _, p := range t.procs {
		writes := s.OK
		if p.name == "worker" {
			writes = s.Stored + s.StoredWithout
		}
		if writes > 0 {
			s.PerWrite[p.name] = float64((cpu2[p.name] - cpu0[p.name]).Microseconds()) / float64(writes)
		}
	}
	s.judge(t.mustStore)
	calls := ""
	if len(s.MessagesPerCall) > 0 {
		calls = fmt.Sprintf("  events/call send %.1f, receive %.1f, insert %.1f", s.MessagesPerCall["send"], s.MessagesPerCall["receive"], s.MessagesPerCall["persist"])
	}
	fmt.Fprintf(r.log, "  %-8s %5d/s: sent %6d  2xx %6d  503 %5d  errors %4d  p99 %7.1f ms  stored %6d lost %d dup %d  µs/write %s%s  %s\n",
		t.name, rate, s.Sent, s.OK, s.Status503, s.Timeouts+s.ConnErrors, s.P99, s.Stored, s.Lost, s.Duplicates, fmtMap(s.PerWrite), calls, verdict(s))
	return s, nil
}

func verdict(s step) string {
	if s.Holds {
		return "holds"
	}
	return "fails: " + s.Why
}

func fmtMap(m map[string]float64) string {
	var parts []string
	for _, k := range []string{"floor", "original", "sync-proxy", "proxy", "worker"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

const requestIDPrefix = "bench-"

// attack is an open-model vegeta attack, as the project's loadtest makes.
// It returns the values answered 2xx whose request id came back (numbers
// and the sync baseline echo it; the original does not).
func (r *runner) attack(ctx context.Context, url string, rate int, d time.Duration, lo int64, s *step) (map[int64]bool, error) {
	var seq atomic.Int64
	targeter := func(t *vegeta.Target) error {
		v := lo + seq.Add(1)
		t.Method, t.URL = http.MethodPost, url
		t.Header = http.Header{
			"Content-Type": []string{"application/json"},
			"X-Request-Id": []string{requestIDPrefix + strconv.FormatInt(v, 10)},
		}
		t.Body = []byte(`{"value": ` + strconv.FormatInt(v, 10) + `}`)
		return nil
	}
	atk, release := measure.NewAttacker(r.c.workers, r.maxWorkers, r.c.timeout)
	defer release()
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var lat []time.Duration
	ok := map[int64]bool{}
	for res := range atk.Attack(vegeta.Targeter(targeter), vegeta.Rate{Freq: rate, Per: time.Second}, d, "bench") {
		s.Sent++
		lat = append(lat, res.Latency)
		switch {
		case res.Code == 0 && isTimeout(res.Error):
			s.Timeouts++
			s.countError(res.Error)
			continue
		case res.Code == 0:
			s.ConnErrors++
			s.countError(res.Error)
			continue
		case res.Latency <= time.Second:
			s.WithinSecond++
		}
		switch {
		case res.Code >= 200 && res.Code < 300:
			s.OK++
			if id := res.Headers.Get("X-Request-Id"); strings.HasPrefix(id, requestIDPrefix) {
				if v, err := strconv.ParseInt(id[len(requestIDPrefix):], 10, 64); err == nil {
					ok[v] = true
				}
			}
		case res.Code == http.StatusServiceUnavailable:
			s.Status503++
			if res.Headers.Get("Retry-After") != "" {
				s.RetryAfter++
			}
		default:
			s.OtherStatus++
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	s.P50 = measure.Ms(measure.Percentile(lat, 0.50))
	s.P99 = measure.Ms(measure.Percentile(lat, 0.99))
	s.Max = measure.Ms(measure.Percentile(lat, 1))
	return ok, nil
}

// addrPart matches the addresses and ports in an error message.
var addrPart = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+|"[^"]*"`)

func (s *step) countError(msg string) {
	if s.Errors == nil {
		s.Errors = map[string]int{}
	}
	s.Errors[addrPart.ReplaceAllString(msg, "…")]++
}

// topErrors is the n most frequent error messages with their counts.
func (s step) topErrors(n int) string {
	type kv struct {
		msg   string
		count int
	}
	var all []kv
	for m, c := range s.Errors {
		all = append(all, kv{m, c})
	}
	slices.SortFunc(all, func(a, b kv) int { return cmp.Compare(b.count, a.count) })
	var parts []string
	for _, e := range all[:min(n, len(all))] {
		parts = append(parts, fmt.Sprintf("%d × %s", e.count, e.msg))
	}
	return strings.Join(parts, "; ")
}

func isTimeout(msg string) bool {
	return strings.Contains(msg, "Timeout") || strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded")
}

// drain waits until every 2xx of the step is stored (or, for the original,
// until its row count stops growing), then counts lost and duplicated rows.
func (r *runner) drain(ctx context.Context, t target, lo int64, okValues map[int64]bool, s *step, attackEnd time.Time) error {
	hi := lo + valuesPerStep - 1
	deadline := attackEnd.Add(r.c.drain)
	last, stableSince := -1, time.Now()
	for {
		rows, distinct, err := t.stored(ctx, lo, hi)
		if err != nil {
			return fmt.Errorf("count %s's rows: %w", t.name, err)
		}
		if distinct != last {
			last, stableSince = distinct, time.Now()
		}
		done := distinct >= s.OK || (!t.mustStore && time.Since(stableSince) > time.Second)
		if done || time.Now().After(deadline) {
			s.DrainSeconds = time.Since(attackEnd).Seconds()
			s.Duplicates = rows - distinct
			if !t.mustStore || len(okValues) < s.OK {
				// No ids echoed (the original): count.
				s.Stored = min(distinct, s.OK)
				s.Lost = s.OK - s.Stored
				s.StoredWithout = distinct - s.Stored
				return nil
			}
			if err := r.match(ctx, t, lo, hi, okValues, s); err != nil {
				return err
			}
			// Values stored without a 2xx can make the count look complete
			// early: go on until the accepted ones are all there.
			if s.Lost == 0 || time.Now().After(deadline) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// match compares the stored values with the values answered 2xx, one by one.
func (r *runner) match(ctx context.Context, t target, lo, hi int64, okValues map[int64]bool, s *step) error {
	rows, err := r.e.db.QueryContext(ctx, `SELECT value FROM numbers WHERE value BETWEEN $1 AND $2`, lo, hi)
	if err != nil {
		return fmt.Errorf("list %s's rows: %w", t.name, err)
	}
	defer rows.Close()
	seen := map[int64]int{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return err
		}
		seen[v]++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.Stored, s.StoredWithout, s.Duplicates = 0, 0, 0
	for v, n := range seen {
		s.Duplicates += n - 1
		if okValues[v] {
			s.Stored++
		} else {
			s.StoredWithout++ // a request that timed out after it was accepted
		}
	}
	s.Lost = len(okValues) - s.Stored
	return nil
}
