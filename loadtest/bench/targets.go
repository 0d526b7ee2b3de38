package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/numbers-app/numbers/loadtest/measure"
	"github.com/numbers-app/numbers/local/stack"
)

// The original app's dependencies, as its README says to install them.
var originalPackages = []string{"express@4.16.3", "pg@8.0.3", "cors@2.8.4", "body-parser@1.18.3"}

// originalPort makes the unchanged original app listen on 127.0.0.1:$PORT
// instead of its hard-coded :5000 (preloaded with node -r).
const originalPort = `// Written by make bench: listen on 127.0.0.1:$PORT instead of :5000.
const http = require("http");
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (port, ...rest) {
  if (port === 5000 && process.env.PORT) {
    return listen.call(this, Number(process.env.PORT), "127.0.0.1", ...rest.filter(a => typeof a === "function"));
  }
  return listen.call(this, port, ...rest);
};
`

// installOriginal copies the original app's server into dir and installs
// its dependencies there (once: a stamp file remembers).
func installOriginal(ctx context.Context, src, dir string, log io.Writer) error {
	if _, err := os.Stat(filepath.Join(src, "index.js")); err != nil {
		return fmt.Errorf("the original app is not at %s (shared/original-app/server beside the repository, "+
			"or set ORIGINAL_APP): %w", src, err)
	}
	stamp := filepath.Join(dir, ".installed")
	want := strings.Join(originalPackages, " ")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return os.WriteFile(filepath.Join(dir, "port.cjs"), []byte(originalPort), 0o644)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []string{"index.js", "keys.js", "package.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(log, "installing the original app into", dir, "(npm install", want+")")
	cmd := exec.CommandContext(ctx, "npm", append([]string{"install", "--no-audit", "--no-fund", "--loglevel=error", "--no-save"}, originalPackages...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install in %s: %w (is the npm registry reachable?)", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "port.cjs"), []byte(originalPort), 0o644); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(want), 0o644)
}

// env is one run's environment: a fresh Postgres and local SQS, and the
// servers measured on them.
type env struct {
	deps     *stack.Deps
	db       *sql.DB // the numbers database
	origDB   *sql.DB // the original app's database, same cluster
	floor    *process
	original *process
	sync     *process
	proxy    *process
	worker   *process
	// URLs the load is sent to.
	floorURL, originalURL, syncURL, numbersURL string
	proxyPprof, workerPprof                    string
	// Where the proxy's and the worker's Prometheus figures are served.
	proxyMetrics, workerMetrics string
	// The local SQS's and Postgres's processes (children of this one).
	sqsPID, pgPID int
}

// up starts the stack and every server of a run.
func up(ctx context.Context, c config, dir string, log io.Writer) (*env, error) {
	serviceLog, err := os.Create(filepath.Join(dir, "services.log"))
	if err != nil {
		return nil, err
	}
	// Made here, world-readable: the Postgres server runs as user postgres
	// when this runs as root, and must reach its data directory inside.
	if err := os.MkdirAll(filepath.Join(dir, "stack"), 0o755); err != nil {
		return nil, err
	}
	deps, err := stack.Up(ctx, stack.Options{Root: c.root, StateDir: filepath.Join(dir, "stack"), Queues: true, Log: log, ServiceLog: serviceLog})
	if err != nil {
		return nil, err
	}
	e := &env{deps: deps}
	ok := false
	defer func() {
		if !ok {
			e.down()
		}
	}()
	for _, ch := range measure.Children(os.Getpid()) {
		switch {
		case ch.Comm == "postgres":
			e.pgPID = ch.PID
		case strings.Contains(measure.Cmdline(ch.PID), "fauxqs") || strings.Contains(measure.Cmdline(ch.PID), "server.mjs"):
			e.sqsPID = ch.PID
		}
	}
	if e.pgPID == 0 || e.sqsPID == 0 {
		return nil, fmt.Errorf("cannot find the Postgres (%d) or local SQS (%d) process among this one's children", e.pgPID, e.sqsPID)
	}
	e.db = sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(deps.PG.URL())))
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(deps.PG.AdminURL())))
	_, err = admin.ExecContext(ctx, `CREATE DATABASE original`)
	admin.Close()
	if err != nil {
		return nil, fmt.Errorf("create the original app's database: %w", err)
	}
	u, _ := url.Parse(deps.PG.AdminURL())
	u.Path = "/original"
	e.origDB = sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(u.String())))
	// The statement the original runs on its first connection, run first
	// here so that its rows can be counted before it has connected.
	if _, err := e.origDB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS "values" (number INT)`); err != nil {
		return nil, fmt.Errorf("create the original app's table: %w", err)
	}

	addrs := make([]string, 7)
	for i := range addrs {
		if addrs[i], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	base := append(os.Environ(), "LOG_LEVEL=warn", "LOG_FORMAT=json")
	logOf := func(name string) string { return filepath.Join(dir, name+".log") }

	// numbers: the worker first (it migrates), then the proxy.
	e.workerPprof, e.proxyPprof = addrs[5], addrs[6]
	envs := c.serverEnvs(base, deps.Env(addrs[0]), deps.Env(addrs[1]), addrs[4], e.workerPprof, e.proxyPprof)
	if e.worker, err = start("worker", logOf("worker"), "", envs.worker, filepath.Join(c.bin, "worker")); err != nil {
		return nil, err
	}
	if err := e.worker.waitHTTP(ctx, "http://"+addrs[4]+"/healthz", time.Minute); err != nil {
		return nil, err
	}
	if e.proxy, err = start("proxy", logOf("proxy"), "", envs.proxy, filepath.Join(c.bin, "proxy")); err != nil {
		return nil, err
	}
	e.numbersURL = "http://" + addrs[0] + "/api/values"
	e.proxyMetrics, e.workerMetrics = "http://"+addrs[0]+"/metrics", "http://"+addrs[4]+"/metrics"
	if err := e.proxy.waitHTTP(ctx, "http://"+addrs[0]+"/healthz", time.Minute); err != nil {
		return nil, err
	}
	// The synchronous baseline: a second proxy inserting per request.
	if e.sync, err = start("sync-proxy", logOf("sync-proxy"), "", envs.sync, filepath.Join(c.bin, "proxy")); err != nil {
		return nil, err
	}
	e.syncURL = "http://" + addrs[1] + "/api/values"
	if err := e.sync.waitHTTP(ctx, "http://"+addrs[1]+"/healthz", time.Minute); err != nil {
		return nil, err
	}
	floorArgs := []string{"-addr", addrs[2], "-server", c.floorServerName()}
	if c.floorWait > 0 {
		floorArgs = append(floorArgs, "-wait", c.floorWait.String(), "-call", c.floorCall.String())
	}
	if e.floor, err = start("floor", logOf("floor"), "", envs.floor, filepath.Join(c.bin, "floor"), floorArgs...); err != nil {
		return nil, err
	}
	e.floorURL = "http://" + addrs[2] + "/api/values"
	if err := e.floor.waitHTTP(ctx, "http://"+addrs[2]+"/", 30*time.Second); err != nil {
		return nil, err
	}
	// The original, as nginx reached it: POST /values on its own port.
	origEnv := append(os.Environ(), "PORT="+strings.TrimPrefix(addrs[3], "127.0.0.1:"), "PG_HOST=127.0.0.1",
		"PG_PORT="+u.Port(), "PG_USER=postgres", "PG_PASSWORD=", "PG_DATABASE=original")
	if e.original, err = start("original", logOf("original"), c.originalDir, origEnv, "node", "-r", "./port.cjs", "index.js"); err != nil {
		return nil, err
	}
	e.originalURL = "http://" + addrs[3] + "/values"
	if err := e.original.waitHTTP(ctx, "http://"+addrs[3]+"/", 30*time.Second); err != nil {
		return nil, err
	}
	ok = true
	return e, nil
}

func (e *env) down() {
	for _, p := range []*process{e.original, e.floor, e.sync, e.proxy, e.worker} {
		p.stop()
	}
	if e.db != nil {
		e.db.Close()
	}
	if e.origDB != nil {
		e.origDB.Close()
	}
	e.deps.Down()
}

// target is one side of the comparison.
type target struct {
	name string
	url  string
	// procs are the processes whose CPU is charged to this side's writes.
	procs []*process
	// stored counts this side's rows with values in [lo, hi]: total rows and
	// distinct values (nil: nothing is stored, the floor).
	stored func(ctx context.Context, lo, hi int64) (rows, distinct int, err error)
	// mustStore: every 2xx must end as exactly one row for a step to hold
	// (numbers and the sync baseline; the original promises nothing).
	mustStore bool
	// batches are the histograms of messages per SQS call to read around a
	// step (numbers): a name for the figure, the metrics URL, the metric.
	batches []batchFigure
}

func (e *env) targets() map[string]target {
	numbersRows := func(ctx context.Context, lo, hi int64) (int, int, error) {
		var rows, distinct int
		err := e.db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT value) FROM numbers WHERE value BETWEEN $1 AND $2`, lo, hi).Scan(&rows, &distinct)
		return rows, distinct, err
	}
	originalRows := func(ctx context.Context, lo, hi int64) (int, int, error) {
		var rows, distinct int
		err := e.origDB.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT number) FROM "values" WHERE number BETWEEN $1 AND $2`, lo, hi).Scan(&rows, &distinct)
		return rows, distinct, err
	}
	return map[string]target{
		"floor":    {name: "floor", url: e.floorURL, procs: []*process{e.floor}},
		"original": {name: "original", url: e.originalURL, procs: []*process{e.original}, stored: originalRows},
		"sync":     {name: "sync", url: e.syncURL, procs: []*process{e.sync}, stored: numbersRows, mustStore: true},
		"numbers": {name: "numbers", url: e.numbersURL, procs: []*process{e.proxy, e.worker}, stored: numbersRows, mustStore: true,
			batches: []batchFigure{
				{"send", e.proxyMetrics, "numbers_sqs_send_batch_size"},
				{"receive", e.workerMetrics, "numbers_sqs_receive_batch_size"},
				{"persist", e.workerMetrics, "numbers_worker_batch_size"},
			}},
	}
}

// goServerEnvs are the environments of the Go servers of one run.
type goServerEnvs struct{ worker, proxy, sync, floor []string }

// serverEnvs builds them: base for all, numbers' dependencies (numDeps),
// metrics and pprof addresses for the worker and the proxy, the sync
// baseline's own (syncDeps), and every one at the GOMAXPROCS of -procs.
func (c config) serverEnvs(base, numDeps, syncDeps []string, metricsAddr, workerPprof, proxyPprof string) goServerEnvs {
	num := slices.Concat(numDeps, []string{"METRICS_ADDR=" + metricsAddr})
	return goServerEnvs{
		worker: c.goEnv(base, num, []string{"PPROF_ADDR=" + workerPprof}),
		proxy:  c.goEnv(base, num, []string{"PPROF_ADDR=" + proxyPprof}),
		sync:   c.goEnv(base, syncDeps, []string{"WRITE_MODE=sync"}),
		floor:  c.goEnv(base),
	}
}
