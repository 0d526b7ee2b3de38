package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAStepHoldsOnlyWithEnoughSuccessesALowP99AndEveryWriteStored(t *testing.T) {
	base := step{Sent: 10000, OK: 10000, P99: 40}
	cases := []struct {
		name      string
		change    func(*step)
		mustStore bool
		holds     bool
	}{
		{"all answered fast and stored", func(*step) {}, true, true},
		{"one in a thousand failed is still enough", func(s *step) { s.OK = 9990 }, true, true},
		{"more than one in a thousand failed", func(s *step) { s.OK = 9989 }, true, false},
		{"p99 of 100 ms is too slow", func(s *step) { s.P99 = 100 }, true, false},
		{"a lost write fails a side that must store", func(s *step) { s.Lost = 1 }, true, false},
		{"a duplicate fails a side that must store", func(s *step) { s.Duplicates = 1 }, true, false},
		{"the original promises nothing about storage", func(s *step) { s.Lost = 5 }, false, true},
		{"nothing sent does not hold", func(s *step) { s.Sent, s.OK = 0, 0 }, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.change(&s)
			s.judge(tc.mustStore)
			assert.Equal(t, tc.holds, s.Holds, s.Why)
		})
	}
}

func TestTheRawLimitsAreReadFromTheBenchmarkOutput(t *testing.T) {
	out := `goos: linux
BenchmarkRawSendMessageBatch-2   	     242	   2694315 ns/op	      3697 msg/s
BenchmarkRawReceiveDelete-2      	     122	   2718410 ns/op	      3678.5 msg/s
BenchmarkRawInsert1-2     	     264	   1267539 ns/op	       788.8 rows/s
PASS`
	assert.Equal(t, map[string]float64{"RawSendMessageBatch": 3697, "RawReceiveDelete": 3678.5, "RawInsert1": 788.8}, parseRaw(out))
}

func TestRatesMustBeAscendingPositiveNumbers(t *testing.T) {
	got, err := rates("400, 800,1200")
	require.NoError(t, err)
	assert.Equal(t, []int{400, 800, 1200}, got)
	for _, bad := range []string{"800,400", "0", "x", ""} {
		_, err := rates(bad)
		assert.Error(t, err, bad)
	}
}

func TestTheLadderClimbsUntilARateFailsTwice(t *testing.T) {
	// Which attempts hold, in order: 100 holds, 200 fails then holds on
	// the retry, 300 fails twice: the ladder stops and 200 is the answer.
	outcomes := []bool{true, false, true, false, false}
	var tried []int
	l, err := climb([]int{100, 200, 300, 400}, func(rate int) (step, error) {
		tried = append(tried, rate)
		return step{Rate: rate, Holds: outcomes[len(tried)-1]}, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 200, l.Holding)
	assert.Equal(t, []int{100, 200, 200, 300, 300}, tried)
}

func TestTheSummaryJudgesEachGoalOnTheRatiosOfARun(t *testing.T) {
	c := config{cpuRates: []int{1200}, p99Rate: 800, ladder: []int{1000, 2500, 5000}, overload: 3}
	cpu := func(side string, perWrite map[string]float64, p99 float64) step {
		return step{Target: side, Rate: 1200, PerWrite: perWrite, P99: p99, Holds: true}
	}
	good := runResult{
		Run: 1,
		Fixed: []step{
			cpu("floor", map[string]float64{"floor": 100}, 1),
			cpu("original", map[string]float64{"original": 600}, 1),
			cpu("sync", map[string]float64{"sync-proxy": 300}, 1),
			cpu("numbers", map[string]float64{"proxy": 150, "worker": 90}, 1),
			{Target: "original", Rate: 800, P99: 60},
			{Target: "numbers", Rate: 800, P99: 50},
		},
		Ladders:  map[string]ladder{"original": {Holding: 1000}, "numbers": {Holding: 2500}},
		Overload: overloadResult{step: step{Target: "numbers", Sent: 100, OK: 80, Status503: 20, RetryAfter: 20, WithinSecond: 100}, ProxyPeakMB: 40, WorkerPeakMB: 30},
		Raw:      map[string]float64{"SQSCombined": 10000},
	}
	// says summarizes r and checks that the summary has every line.
	says := func(r runResult, lines ...string) string {
		t.Helper()
		var out strings.Builder
		summarize(&out, c, []runResult{r})
		for _, line := range lines {
			assert.Contains(t, out.String(), line)
		}
		return out.String()
	}
	summary := says(good,
		"pass  proxy + worker CPU per write ≤ 0.5× the original's at 1200/s: 0.40×",
		"pass  proxy ≤ 1.5× the floor at 1200/s: 1.50×",
		"pass  worker ≤ 1.0× the floor at 1200/s: 0.90×",
		"pass  highest rate that holds ≥ 2.5× the original's (2.50×)",
		"pass  accept p99 at 800/s no worse than the original's: 0.83× the original's (the median of the runs' ratios; medians 50.0 ms vs 60.0 ms)",
		"pass  overload: proxy and worker under 100 MB RSS",
		"pass  overload: every request answered within 1 s",
		"pass  overload: no connection errors",
		"pass  nothing lost or duplicated",
	)
	assert.NotContains(t, summary, "FAIL")

	bad := good
	bad.Fixed = append([]step{}, good.Fixed...)
	bad.Fixed[3] = cpu("numbers", map[string]float64{"proxy": 400, "worker": 200}, 1)
	bad.Fixed = append(bad.Fixed, step{Target: "numbers", Rate: 400, Lost: 1})
	bad.Overload.ConnErrors, bad.Overload.Status503, bad.Overload.RetryAfter = 3, 20, 19
	says(bad,
		"FAIL  proxy + worker CPU per write ≤ 0.5× the original's at 1200/s: 1.00×",
		"FAIL  proxy ≤ 1.5× the floor at 1200/s: 4.00×",
		"FAIL  worker ≤ 1.0× the floor at 1200/s: 2.00×",
		"FAIL  overload: every request answered within 1 s with 202 or 503 + Retry-After",
		"FAIL  overload: no connection errors: 3",
		"FAIL  nothing lost or duplicated in any round of any run (overload included): 1 lost",
	)

	// The overload round's bounds hold in every run: one run's connection
	// reset fails the line though the median run had none.
	var three strings.Builder
	reset := good
	reset.Overload.ConnErrors = 1
	summarize(&three, c, []runResult{good, reset, good})
	assert.Contains(t, three.String(), "FAIL  overload: no connection errors: 1, and no timeouts: 0 at worst")
	assert.Contains(t, three.String(), "pass  overload: every request answered within 1 s")
	reset.Overload.WithinSecond = 99
	three.Reset()
	summarize(&three, c, []runResult{good, reset, good})
	assert.Contains(t, three.String(), "FAIL  overload: every request answered within 1 s with 202 or 503 + Retry-After: 99.00% within 1 s (1 not)")

	// The accept p99 is judged run by run, as the other ratios are: a
	// make bench at 209ed52 had the original at 5.7, 5.9, 8.4 ms and numbers
	// at 5.2, 6.8, 7.2: ahead in two runs, behind by the medians (6.8 vs 5.9).
	p99s := func(original, numbers float64) runResult {
		r := good
		r.Fixed = append([]step{}, good.Fixed...)
		r.Fixed[4] = step{Target: "original", Rate: 800, P99: original}
		r.Fixed[5] = step{Target: "numbers", Rate: 800, P99: numbers}
		return r
	}
	three.Reset()
	summarize(&three, c, []runResult{p99s(5.7, 5.2), p99s(5.9, 6.8), p99s(8.4, 7.2)})
	assert.Contains(t, three.String(), "pass  accept p99 at 800/s no worse than the original's: 0.91× the original's (the median of the runs' ratios; medians 6.8 ms vs 5.9 ms)")
	three.Reset()
	summarize(&three, c, []runResult{p99s(5.7, 6.2), p99s(5.9, 6.8), p99s(8.4, 7.2)})
	assert.Contains(t, three.String(), "FAIL  accept p99 at 800/s no worse than the original's: 1.09× the original's")
	// A run without the original's step has no ratio: the others decide,
	// and with none the line fails, with dashes for what is missing.
	noOriginal := p99s(0, 4)
	noOriginal.Fixed = append(noOriginal.Fixed[:4:4], noOriginal.Fixed[5])
	three.Reset()
	summarize(&three, c, []runResult{p99s(5.7, 5.2), noOriginal, p99s(8.4, 7.2)})
	assert.Contains(t, three.String(), "pass  accept p99 at 800/s no worse than the original's: 0.88× the original's")
	three.Reset()
	summarize(&three, c, []runResult{noOriginal})
	assert.Contains(t, three.String(), "FAIL  accept p99 at 800/s no worse than the original's: – the original's (the median of the runs' ratios; medians 4.0 ms vs – ms)")

	// A ladder that ends before numbers does decides nothing about its limit.
	topped := good
	topped.Ladders = map[string]ladder{"original": {Holding: 5000}, "numbers": {Holding: 5000}}
	summary = says(topped, "open  highest rate that holds ≥ 2.5× the original's (1.00×)",
		"undecided, numbers held the top of the ladder (5000/s); extend -ladder")
	assert.NotContains(t, summary, "FAIL  highest rate")
}

func TestASummaryOfAFloorThatWaitedSaysSo(t *testing.T) {
	r := runResult{Run: 1, Fixed: []step{{Target: "floor", Rate: 1200, PerWrite: map[string]float64{"floor": 100}, Holds: true}}}
	c := config{cpuRates: []int{1200}, p99Rate: 800, ladder: []int{1000}, overload: 3, floorServer: "net/http"}
	var plain strings.Builder
	summarize(&plain, c, []runResult{r})
	assert.Contains(t, plain.String(), "| floor (bare net/http, fixed 202) | 100 |")

	c.floorWait, c.floorCall = 20*time.Millisecond, time.Millisecond
	var waited strings.Builder
	summarize(&waited, c, []runResult{r})
	assert.Contains(t, waited.String(), "| floor that waits like the proxy (-floor-wait 20ms, -floor-call 1ms) | 100 |")
	assert.NotContains(t, waited.String(), "bare net/http")

	c.floorWait, c.procs = 0, 1
	var one strings.Builder
	summarize(&one, c, []runResult{r})
	assert.Contains(t, one.String(), "| floor (bare net/http, fixed 202, GOMAXPROCS=1) | 100 |")
	assert.False(t, c.otherFloor(), "a bare net/http floor at one P is the issue's")

	c.floorServer = "fasthttp"
	var fast strings.Builder
	summarize(&fast, c, []runResult{r})
	assert.Contains(t, fast.String(), "| floor (bare fasthttp, fixed 202, GOMAXPROCS=1) | 100 |")
	assert.True(t, c.otherFloor(), "a fasthttp floor is not the issue's")
	_, err := parse([]string{"-floor-server", "nginx"}, &strings.Builder{})
	assert.ErrorContains(t, err, "-floor-server must be net/http or fasthttp")
}

// The Go servers run at one P, as infra/ runs prod's 0.5 vCPU tasks, the
// floor too, unless -procs sets another (0: Go's default, not even the
// bench's own GOMAXPROCS); each gets its own copy of the environment, and
// the summary says which.
func TestTheGoServersShareOneGOMAXPROCSTheFloorToo(t *testing.T) {
	base := make([]string, 2, 8)
	base[0], base[1] = "A=1", "GOMAXPROCS=7"

	c, err := parse([]string{"-procs", "0"}, &strings.Builder{})
	require.NoError(t, err)
	assert.Equal(t, []string{"A=1", "B=2"}, c.goEnv(base, []string{"B=2"}), "Go's default: no GOMAXPROCS, not even the bench's own")
	assert.Contains(t, c.procsNote(), "Go's default GOMAXPROCS (the machine's CPUs), not as infra/ runs them")
	assert.Equal(t, "floor (bare net/http, fixed 202)", c.floorLabel())

	c, err = parse([]string{"-procs", "2"}, &strings.Builder{})
	require.NoError(t, err)
	assert.Equal(t, []string{"A=1", "B=2", "GOMAXPROCS=2"}, c.goEnv(base, []string{"B=2"}))
	assert.Contains(t, c.procsNote(), "GOMAXPROCS=2 (-procs), as infra/ runs a task of more than 1 and up to 2 vCPU")

	c, err = parse(nil, &strings.Builder{})
	require.NoError(t, err)
	env := c.goEnv(base, []string{"B=2"})
	assert.Equal(t, []string{"A=1", "B=2", "GOMAXPROCS=1"}, env, "the default: one P, as infra/ runs prod's 0.5 vCPU tasks")
	env[0] = "changed"
	assert.Equal(t, "A=1", base[0], "a fresh slice, never the caller's array")
	assert.Contains(t, c.procsNote(), "GOMAXPROCS=1, as infra/ runs a task of up to 1 vCPU")
	assert.Equal(t, "floor (bare net/http, fixed 202, GOMAXPROCS=1)", c.floorLabel())

	_, err = parse([]string{"-procs", "-1"}, &strings.Builder{})
	assert.Error(t, err)

	// Every Go server of a run gets it; each keeps its own settings.
	envs := c.serverEnvs([]string{"A=1"}, []string{"SQS_QUEUE_URL=q"}, []string{"SQS_QUEUE_URL=s"}, "m", "wp", "pp")
	for name, env := range map[string][]string{"worker": envs.worker, "proxy": envs.proxy, "sync": envs.sync, "floor": envs.floor} {
		assert.Equal(t, "GOMAXPROCS=1", env[len(env)-1], name)
		assert.Contains(t, env, "A=1", name)
	}
	assert.Equal(t, []string{"A=1", "SQS_QUEUE_URL=q", "METRICS_ADDR=m", "PPROF_ADDR=wp", "GOMAXPROCS=1"}, envs.worker)
	assert.Equal(t, []string{"A=1", "SQS_QUEUE_URL=q", "METRICS_ADDR=m", "PPROF_ADDR=pp", "GOMAXPROCS=1"}, envs.proxy)
	assert.Equal(t, []string{"A=1", "SQS_QUEUE_URL=s", "WRITE_MODE=sync", "GOMAXPROCS=1"}, envs.sync)
}

func TestTheCostByRateTakesTheMediansOfEveryHeldStepOfNumbers(t *testing.T) {
	at := func(rate int, proxy, worker, send float64, holds bool) step {
		return step{Target: "numbers", Rate: rate, Holds: holds, P99: 5,
			PerWrite:        map[string]float64{"proxy": proxy, "worker": worker},
			MessagesPerCall: map[string]float64{"send": send, "receive": 9, "persist": 60},
			Cores:           map[string]float64{"proxy": 0.2, "worker": 0.1, "sqs": 0.15, "postgres": 0.03}}
	}
	runs := []runResult{
		{Run: 1, Fixed: []step{at(1200, 100, 50, 9, true), {Target: "floor", Rate: 1200, Holds: true, PerWrite: map[string]float64{"floor": 70}}},
			Ladders: map[string]ladder{"numbers": {Steps: []step{at(1200, 200, 70, 8, true), at(2400, 90, 40, 10, true), at(4800, 999, 999, 1, false)}}}},
		{Run: 2, Fixed: []step{at(1200, 150, 60, 10, true)}},
	}
	var out strings.Builder
	byRate(&out, runs)
	got := out.String()
	// 1,200/s: three steps (two fixed, one of the ladder), medians 150 µs,
	// 60 µs and 9.0 messages a send; the floor's step is not numbers'.
	assert.Contains(t, got, "| 1200 | 3 | 150 | 9.0 | 0.20 | 60 | 9.0 | 60 | 0.10 | 0.15 | 0.03 | 5.0 |")
	assert.Contains(t, got, "| 2400 | 1 | 90 | 10.0 |")
	assert.NotContains(t, got, "| 4800 |", "a step that did not hold says nothing about a task's cost")
}

func TestMessagesPerCallAreReadFromTheServicesHistograms(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "numbers_sqs_send_batch_size", Buckets: []float64{1, 10}})
	reg.MustRegister(h)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	figs := []batchFigure{{"send", srv.URL, "numbers_sqs_send_batch_size"}, {"receive", srv.URL, "numbers_absent"}}

	h.Observe(1)
	before := readBatches(context.Background(), figs)
	for _, n := range []float64{10, 10, 4} {
		h.Observe(n)
	}
	calls := perCall(before, readBatches(context.Background(), figs))
	assert.Equal(t, map[string]float64{"send": 8}, calls, "(10+10+4)/3 between the readings; an absent figure is left out")
}

func TestTheFloorWaitsOnlyWhenAskedTo(t *testing.T) {
	c, err := parse([]string{"-floor-wait", "20ms"}, &strings.Builder{})
	require.NoError(t, err)
	assert.Equal(t, 20*time.Millisecond, c.floorWait)
	assert.Equal(t, time.Millisecond, c.floorCall, "a call of a millisecond by default, about the local SQS's")
	c, err = parse(nil, &strings.Builder{})
	require.NoError(t, err)
	assert.Zero(t, c.floorWait, "the plain floor by default")
}
