package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/numbers-app/numbers/loadtest/measure"
	"github.com/numbers-app/numbers/shared/testenv"
)

// rawLimits runs the raw SQS and Postgres benchmarks (shared/sqsqueue
// batch_bench_test.go and shared/pgstore pgstore_bench_test.go, compiled by
// bench.sh) on this run's servers,
// last, so that their leftovers cannot slow the product's figures.
func rawLimits(ctx context.Context, c config, e *env, dir string, log io.Writer) (map[string]float64, error) {
	out := map[string]float64{}
	for _, b := range []string{"sqsbench.test", "pgbench.test"} {
		cmd := exec.CommandContext(ctx, filepath.Join(c.bin, b), "-test.run", "^$", "-test.bench", "Raw", "-test.benchtime", c.rawBenchtime)
		cmd.Env = append(os.Environ(),
			testenv.EnvSQSEndpoint+"="+e.deps.SQS.Endpoint(),
			testenv.EnvDatabaseURL+"="+e.deps.PG.AdminURL(),
			testenv.EnvRoot+"="+c.root)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, log), log
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s: %w", b, err)
		}
		if err := os.WriteFile(filepath.Join(dir, b+".txt"), buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		for k, v := range parseRaw(buf.String()) {
			out[k] = v
		}
	}
	if s, r := out["RawSendMessageBatch"], out["RawReceiveDelete"]; s > 0 && r > 0 {
		// One send and one receive+delete per number on the same server.
		out["SQSCombined"] = 1 / (1/s + 1/r)
	}
	return out, nil
}

var rawLine = regexp.MustCompile(`(?m)^Benchmark(Raw\w+?)(?:-\d+)?\s+\d+\s+.*?([\d.]+) (?:msg|rows)/s`)

// parseRaw reads the msg/s or rows/s metric of each Raw benchmark.
func parseRaw(out string) map[string]float64 {
	m := map[string]float64{}
	for _, g := range rawLine.FindAllStringSubmatch(out, -1) {
		if v, err := strconv.ParseFloat(g[2], 64); err == nil {
			m[g[1]] = v
		}
	}
	return m
}

// profile takes a CPU profile of the proxy and the worker (their pprof
// listeners, PPROF_ADDR) during a step at rate, and writes `go tool pprof
// -top` of each beside the raw profile.
func (r *runner) profile(ctx context.Context, t target, rate int, d time.Duration) ([]string, error) {
	fmt.Fprintf(r.log, "profiles: proxy and worker during %s at %d/s\n", d, rate)
	type prof struct{ name, addr string }
	profs := []prof{{"proxy", r.e.proxyPprof}, {"worker", r.e.workerPprof}}
	var wg sync.WaitGroup
	errs := make([]error, len(profs))
	for i, p := range profs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fetchProfile(ctx, p.addr, d, filepath.Join(r.c.out, "profile-"+p.name+".pb.gz"))
		}()
	}
	time.Sleep(200 * time.Millisecond) // let the profilers start first
	if _, err := r.run(ctx, t, rate, d); err != nil {
		return nil, err
	}
	wg.Wait()
	var files []string
	for i, p := range profs {
		if errs[i] != nil {
			fmt.Fprintf(r.log, "  no %s profile: %v\n", p.name, errs[i])
			continue
		}
		raw := filepath.Join(r.c.out, "profile-"+p.name+".pb.gz")
		top := filepath.Join(r.c.out, "profile-"+p.name+".txt")
		cmd := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=40", filepath.Join(r.c.bin, p.name), raw)
		b, err := cmd.CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("go tool pprof %s: %w\n%s", raw, err, b)
		}
		if err := os.WriteFile(top, b, 0o644); err != nil {
			return nil, err
		}
		files = append(files, raw, top)
		fmt.Fprintf(r.log, "  %s\n", top)
	}
	return files, nil
}

func fetchProfile(ctx context.Context, addr string, d time.Duration, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: d + 30*time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return os.WriteFile(path, b, 0o644)
}

func peakMB(p *process) (float64, error) {
	b, err := measure.PeakRSS(p.pid())
	return float64(b) / (1 << 20), err
}
