// Command bench is `make bench`: it measures numbers, the original app it
// replaces, the synchronous baseline and a bare net/http floor side by side
// in one run, on one fresh local stack per repetition, and prints the ratios
// against the goals of issue 15 in one summary table. See docs/benchmarks.md.
//
//	go run ./loadtest/bench -runs 3 -out build/bench   (loadtest/bench.sh builds what it needs)
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/numbers-app/numbers/loadtest/measure"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is the command's flags.
type config struct {
	root, out, bin string
	originalApp    string // shared/original-app
	originalDir    string // the scratch install
	runs           int
	stepFor        time.Duration
	ladder         []int
	cpuRates       []int
	p99Rate        int
	overload       float64
	overloadFor    time.Duration
	warmupFor      time.Duration
	warmupRate     int
	drain          time.Duration
	profileFor     time.Duration
	rawBenchtime   string
	workers        uint64
	timeout        time.Duration
	skipRaw        bool
	sides          []string // the sides measured (all four by default)
	ladderSides    []string // the sides whose ladder is climbed
	overloadRate   int      // the overload round's rate; 0: overload × numbers' holding rate
	overloadConns  uint64   // the overload round's cap on client connections (0: none)
	// floorWait and floorCall make the floor one that waits like the proxy
	// (loadtest/floor -wait, -call); a floorWait of 0 is the plain floor.
	floorWait, floorCall time.Duration
	// floorServer is the floor's HTTP server (loadtest/floor -server):
	// net/http, the floor, or fasthttp, the proxy's.
	floorServer string
	// procs is the GOMAXPROCS of every Go server (proxy, worker, the
	// synchronous baseline, the floor); 0 leaves Go's default.
	procs int
}

// defaultProcs (1) runs the Go servers at one P, as infra/ runs a task of
// up to 1 vCPU (prod's are 0.5: infra/ sets GOMAXPROCS to the task's vCPU
// rounded up, where Go's own default would round it up to 2), and the floor
// at the same, so that the ratios compare the servers' work, not the
// runtime's setting (docs/benchmarks.md, "GOMAXPROCS").
const defaultProcs = 1

// floorLabel names the floor side as it ran: the plain floor, or one that
// waits like the proxy (-floor-wait), which the summary must not pass off
// as the plain one.
func (c config) floorLabel() string {
	if c.floorWait > 0 {
		on := ""
		if c.floorServerName() != "net/http" {
			on = ", on " + c.floorServerName()
		}
		return fmt.Sprintf("floor that waits like the proxy (-floor-wait %s, -floor-call %s%s%s)", c.floorWait, c.floorCall, on, c.procsLabel())
	}
	return "floor (bare " + c.floorServerName() + ", fixed 202" + c.procsLabel() + ")"
}

// otherFloor says whether the floor is not the issue's, a bare net/http
// server that answers at once: then the summary says so.
func (c config) otherFloor() bool { return c.floorWait > 0 || c.floorServerName() != "net/http" }

// floorServerName is floorServer, net/http when unset.
func (c config) floorServerName() string { return cmp.Or(c.floorServer, "net/http") }

// procsLabel is how the floor's label says its GOMAXPROCS, when set.
func (c config) procsLabel() string {
	if c.procs == 0 {
		return ""
	}
	return fmt.Sprintf(", GOMAXPROCS=%d", c.procs)
}

// goEnv is env, a fresh slice, with the GOMAXPROCS every Go server runs
// at: -procs, or none (Go's default) even when the bench's own environment
// has one, so that the summary's note is true.
func (c config) goEnv(env ...[]string) []string {
	out := slices.DeleteFunc(slices.Concat(env...), func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") })
	if c.procs > 0 {
		out = append(out, fmt.Sprintf("GOMAXPROCS=%d", c.procs))
	}
	return out
}

// allSides are the servers a run measures, in the order they run.
var allSides = []string{"floor", "original", "sync", "numbers"}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ladder, cpuRates string
	fs.StringVar(&c.root, "root", ".", "the repository root")
	fs.StringVar(&c.out, "out", "build/bench", "where results, logs and profiles go")
	fs.StringVar(&c.bin, "bin", "build/bench/bin", "directory with proxy, worker, floor, sqsbench.test and pgbench.test")
	fs.StringVar(&c.originalApp, "original", "", "the original app (default: ../shared/original-app beside the repository)")
	fs.IntVar(&c.runs, "runs", 3, "repetitions, each on a fresh stack; figures are medians")
	fs.DurationVar(&c.stepFor, "step", 10*time.Second, "length of each constant-rate step")
	// Steps of 400/s up to 4,000 and 800/s above: the holding rate's goals
	// are ratios (2.5× the original's, 80% of the local SQS's raw rate), and
	// steps of a third (4,800 to 6,400) could not tell 66% from 87% of that
	// raw rate.
	fs.StringVar(&ladder, "ladder", "400,800,1200,1600,2000,2400,2800,3200,3600,4000,4800,5600,6400,7200,8000,8800,9600,10400,11200,12000", "rates of the ladder, ascending (posts/s)")
	fs.StringVar(&cpuRates, "cpu-rates", "1200,2400", "rates at which CPU per write is compared")
	fs.IntVar(&c.p99Rate, "p99-rate", 800, "rate at which accept p99 is compared")
	fs.Float64Var(&c.overload, "overload", 3, "overload round: this multiple of numbers' holding rate")
	fs.DurationVar(&c.overloadFor, "overload-for", 15*time.Second, "length of the overload round")
	fs.DurationVar(&c.warmupFor, "warmup", 10*time.Second, "warm-up of each server before measuring")
	fs.IntVar(&c.warmupRate, "warmup-rate", 400, "warm-up rate")
	fs.DurationVar(&c.drain, "drain", time.Minute, "how long accepted writes may take to be stored after a step")
	fs.DurationVar(&c.profileFor, "profile", 10*time.Second, "CPU profile of proxy and worker during one step of the first run (0: none)")
	fs.StringVar(&c.rawBenchtime, "raw-benchtime", "3s", "-test.benchtime of the raw SQS and Postgres benchmarks")
	fs.Uint64Var(&c.workers, "workers", 256, "initial vegeta workers (it adds more to hold the rate)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.BoolVar(&c.skipRaw, "skip-raw", false, "skip the raw SQS and Postgres limits")
	sides := fs.String("sides", strings.Join(allSides, ","), "the sides to measure, for a quicker look at some (the summary then lacks the others)")
	ladderSides := fs.String("ladder-sides", "original,numbers", "the sides whose rate ladder is climbed (empty: none)")
	// Uncapped, vegeta opens a connection per request it cannot place on
	// a free one: on two shared cores it spends them on connects and its
	// own goroutines (1.6 cores, 10,000+ connections) and times out on its
	// own schedule. The cap is the proxy's default HTTP_MAX_CONNS.
	fs.Uint64Var(&c.overloadConns, "overload-conns", 1024, "cap on the load tool's connections (workers) in the overload round; 0: none")
	fs.IntVar(&c.overloadRate, "overload-rate", 0, "the overload round's rate instead of -overload × numbers' holding rate")
	fs.DurationVar(&c.floorWait, "floor-wait", 0, "make the floor hold each POST for a batch that lingers this long, like the proxy (loadtest/floor -wait; 0: the plain floor)")
	fs.StringVar(&c.floorServer, "floor-server", "net/http", "the floor's HTTP server (loadtest/floor -server): net/http, the issue's floor, or fasthttp, the proxy's")
	fs.DurationVar(&c.floorCall, "floor-call", time.Millisecond, "with -floor-wait: how long the floor's batch call takes (loadtest/floor -call)")
	fs.IntVar(&c.procs, "procs", defaultProcs, "GOMAXPROCS of the proxy, the worker, the sync baseline and the floor alike: 1 as infra/ runs a task of up to 1 vCPU (prod's); 0: Go's default (the CPUs, or a container's CPU limit rounded up, at least 2)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.sides, err = sideList(*sides); err != nil {
		return c, fmt.Errorf("-sides: %w", err)
	}
	if c.ladderSides, err = sideList(*ladderSides); err != nil {
		return c, fmt.Errorf("-ladder-sides: %w", err)
	}
	if c.ladder, err = rates(ladder); err != nil {
		return c, fmt.Errorf("-ladder: %w", err)
	}
	if c.cpuRates, err = rates(cpuRates); err != nil {
		return c, fmt.Errorf("-cpu-rates: %w", err)
	}
	if c.runs < 1 || c.p99Rate < 1 || c.stepFor < time.Second || c.overload <= 0 || c.procs < 0 {
		return c, errors.New("-runs, -p99-rate, -overload must be positive, -procs not negative and -step at least 1s")
	}
	if c.floorServer != "net/http" && c.floorServer != "fasthttp" {
		return c, fmt.Errorf("-floor-server must be net/http or fasthttp, got %q", c.floorServer)
	}
	if c.originalApp == "" {
		c.originalApp = filepath.Join(c.root, "..", "shared", "original-app")
	}
	for _, p := range []*string{&c.root, &c.out, &c.bin, &c.originalApp} {
		if *p, err = filepath.Abs(*p); err != nil {
			return c, err
		}
	}
	c.originalDir = filepath.Join(c.out, "original-app")
	return c, nil
}

// procsNote says at what GOMAXPROCS the Go servers ran.
func (c config) procsNote() string {
	switch c.procs {
	case 0:
		return "The Go servers (proxy, worker, sync baseline, floor) ran at Go's default GOMAXPROCS (the machine's CPUs), not as infra/ runs them (the task's vCPU rounded up: 1 for prod's 0.5 vCPU tasks)."
	case 1:
		return "The Go servers (proxy, worker, sync baseline, floor) ran at GOMAXPROCS=1, as infra/ runs a task of up to 1 vCPU (prod's are 0.5)."
	}
	return fmt.Sprintf("The Go servers (proxy, worker, sync baseline, floor) ran at GOMAXPROCS=%d (-procs), as infra/ runs a task of more than %d and up to %d vCPU.", c.procs, c.procs-1, c.procs)
}

// sideList parses a comma-separated list of sides, kept in run order.
func sideList(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(allSides, f) {
			return nil, fmt.Errorf("%q is not one of %v", f, allSides)
		}
		out = append(out, f)
	}
	return slices.DeleteFunc(slices.Clone(allSides), func(n string) bool { return !slices.Contains(out, n) }), nil
}

func rates(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a rate", f)
		}
		out = append(out, n)
	}
	if !slices.IsSorted(out) {
		return nil, errors.New("rates must be ascending")
	}
	return out, nil
}

// runResult is everything one repetition measured.
type runResult struct {
	Run      int                `json:"run"`
	Fixed    []step             `json:"fixed_rate_steps"`
	Ladders  map[string]ladder  `json:"ladders"`
	Overload overloadResult     `json:"overload"`
	Raw      map[string]float64 `json:"raw_limits"`
	Profiles []string           `json:"profiles,omitempty"`
	// RowBytes is the numbers table with its indexes and TOAST, per row,
	// after every step of the run (docs/capacity.md's s_row).
	RowBytes float64 `json:"row_bytes,omitempty"`
}

func run(ctx context.Context, args []string, out io.Writer) error {
	c, err := parse(args, os.Stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	if err := installOriginal(ctx, filepath.Join(c.originalApp, "server"), c.originalDir, out); err != nil {
		return err
	}
	started := time.Now()
	fmt.Fprintf(out, "bench: %d runs; steps of %s; ladder %v; CPU at %v/s; p99 at %d/s; overload %.0f× for %s; load average %s\n",
		c.runs, c.stepFor, c.ladder, c.cpuRates, c.p99Rate, c.overload, c.overloadFor, measure.LoadAvg())
	if c.otherFloor() {
		fmt.Fprintf(out, "bench: %s: its figures are not the plain floor's, nor the goals judged on them\n", c.floorLabel())
	}
	fmt.Fprintf(out, "bench: %s\n", c.procsNote())
	var results []runResult
	for i := 1; i <= c.runs; i++ {
		fmt.Fprintf(out, "== run %d of %d\n", i, c.runs)
		res, err := oneRun(ctx, c, i, out)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		results = append(results, res)
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(filepath.Join(c.out, fmt.Sprintf("run-%d.json", i)), b, 0o644); err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(c.out, "summary.md"))
	if err != nil {
		return err
	}
	defer f.Close()
	w := io.MultiWriter(out, f)
	fmt.Fprintf(w, "\nmake bench: %d runs in %s on %s; load average at the end %s\n\n", c.runs, time.Since(started).Round(time.Second), machine(), measure.LoadAvg())
	if c.otherFloor() {
		fmt.Fprintf(w, "The %s, not the plain one: the goals below are judged on it.\n\n", c.floorLabel())
	}
	fmt.Fprintf(w, "%s\n\n", c.procsNote())
	summarize(w, c, results)
	return nil
}

func oneRun(ctx context.Context, c config, n int, log io.Writer) (runResult, error) {
	res := runResult{Run: n, Ladders: map[string]ladder{}}
	dir := filepath.Join(c.out, fmt.Sprintf("run-%d", n))
	if err := os.RemoveAll(dir); err != nil {
		return res, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	e, err := up(ctx, c, dir, log)
	if err != nil {
		return res, err
	}
	defer func() {
		e.down()
		_ = os.RemoveAll(filepath.Join(dir, "stack")) // the Postgres data; logs stay
	}()
	r := &runner{c: c, e: e, log: log}
	ts := e.targets()
	sides := c.sides
	numbers := slices.Contains(sides, "numbers")

	fmt.Fprintf(log, "warm-up: %d/s for %s each\n", c.warmupRate, c.warmupFor)
	for _, name := range sides {
		if _, err := r.run(ctx, ts[name], c.warmupRate, c.warmupFor); err != nil {
			return res, err
		}
	}
	fixed := append([]int{c.p99Rate}, c.cpuRates...)
	slices.Sort(fixed)
	fixed = slices.Compact(fixed)
	fmt.Fprintf(log, "fixed rates %v: every side, %s each\n", fixed, c.stepFor)
	for _, rate := range fixed {
		for _, name := range sides {
			s, err := r.run(ctx, ts[name], rate, c.stepFor)
			if err != nil {
				return res, err
			}
			res.Fixed = append(res.Fixed, s)
		}
	}
	if n == 1 && c.profileFor > 0 && numbers {
		files, err := r.profile(ctx, ts["numbers"], c.cpuRates[0], c.profileFor)
		if err != nil {
			return res, err
		}
		res.Profiles = files
	}
	for _, name := range c.ladderSides {
		if name != "original" && name != "numbers" {
			continue
		}
		fmt.Fprintf(log, "ladder %s: %v/s, %s a step, a failing step retried once\n", name, c.ladder, c.stepFor)
		l, err := r.ladder(ctx, ts[name], c.ladder, c.stepFor)
		if err != nil {
			return res, err
		}
		res.Ladders[name] = l
	}
	if numbers {
		rate := c.overloadRate
		if rate == 0 {
			base := cmp.Or(res.Ladders["numbers"].Holding, c.ladder[0])
			rate = int(c.overload * float64(base))
			fmt.Fprintf(log, "overload: %.0f× %d/s for %s\n", c.overload, base, c.overloadFor)
		} else {
			fmt.Fprintf(log, "overload: %d/s for %s\n", rate, c.overloadFor)
		}
		if res.Overload, err = r.overloadRound(ctx, ts["numbers"], rate, c.overloadFor); err != nil {
			return res, err
		}
	}
	if err := e.db.QueryRowContext(ctx, `SELECT coalesce(pg_total_relation_size('numbers')::float8 / nullif(count(*), 0), 0) FROM numbers`).Scan(&res.RowBytes); err != nil {
		return res, fmt.Errorf("row size: %w", err)
	}
	if !c.skipRaw {
		if res.Raw, err = rawLimits(ctx, c, e, dir, log); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ladder is one side's rate ladder.
type ladder struct {
	Steps   []step `json:"steps"`
	Holding int    `json:"highest_rate_that_holds"`
}

// ladder climbs the rates until one fails twice in a row.
func (r *runner) ladder(ctx context.Context, t target, rates []int, d time.Duration) (ladder, error) {
	return climb(rates, func(rate int) (step, error) { return r.run(ctx, t, rate, d) })
}

// climb runs each rate, retrying a failing one once, and stops at the first
// rate that fails twice.
func climb(rates []int, try func(rate int) (step, error)) (ladder, error) {
	var l ladder
	for _, rate := range rates {
		held := false
		for attempt := 0; attempt < 2 && !held; attempt++ {
			s, err := try(rate)
			if err != nil {
				return l, err
			}
			l.Steps = append(l.Steps, s)
			held = s.Holds
		}
		if !held {
			break
		}
		l.Holding = rate
	}
	return l, nil
}

// overloadResult is the overload round. The peaks are the round's own;
// the Before peaks are those of the processes' lives up to the round (the
// ladder's failing steps included, where the client's connections are not
// capped). PeakOfRound is false when the peak could not be reset, and then
// the round's peaks are the lifetime ones.
type overloadResult struct {
	step
	ProxyPeakMB        float64 `json:"proxy_peak_rss_mb"`
	WorkerPeakMB       float64 `json:"worker_peak_rss_mb"`
	ProxyPeakBeforeMB  float64 `json:"proxy_peak_rss_before_mb"`
	WorkerPeakBeforeMB float64 `json:"worker_peak_rss_before_mb"`
	PeakOfRound        bool    `json:"peak_of_round"`
}

func (r *runner) overloadRound(ctx context.Context, t target, rate int, d time.Duration) (overloadResult, error) {
	var o overloadResult
	o.ProxyPeakBeforeMB, _ = peakMB(r.e.proxy)
	o.WorkerPeakBeforeMB, _ = peakMB(r.e.worker)
	o.PeakOfRound = true
	for _, p := range []*process{r.e.proxy, r.e.worker} {
		if err := measure.ResetPeakRSS(p.pid()); err != nil {
			o.PeakOfRound = false
			fmt.Fprintf(r.log, "  overload: %v; the peaks below are over the processes' lives\n", err)
		}
	}
	r.maxWorkers = r.c.overloadConns
	s, err := r.run(ctx, t, rate, d)
	r.maxWorkers = 0
	o.step = s
	if err != nil {
		return o, err
	}
	// VmHWM since the reset: the peak of this round.
	if b, err := peakMB(r.e.proxy); err == nil {
		o.ProxyPeakMB = b
	}
	if b, err := peakMB(r.e.worker); err == nil {
		o.WorkerPeakMB = b
	}
	fmt.Fprintf(r.log, "  overload: %d/s offered, %d sent: %d 2xx, %d 503 (%d with Retry-After), %d connection errors, %d timeouts, %.2f%% answered within 1 s; peak RSS proxy %.0f MB, worker %.0f MB (before the round: %.0f and %.0f)\n",
		rate, s.Sent, s.OK, s.Status503, s.RetryAfter, s.ConnErrors, s.Timeouts, 100*float64(s.WithinSecond)/float64(max(1, s.Sent)), o.ProxyPeakMB, o.WorkerPeakMB,
		o.ProxyPeakBeforeMB, o.WorkerPeakBeforeMB)
	if len(s.Errors) > 0 {
		fmt.Fprintf(r.log, "  overload errors: %s\n", s.topErrors(3))
	}
	return o, nil
}

func machine() string {
	cores := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cores = strings.Count(string(b), "\nprocessor")
		if strings.HasPrefix(string(b), "processor") {
			cores++
		}
	}
	return fmt.Sprintf("%d cores", cores)
}
