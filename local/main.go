// Command local runs numbers on this machine.
//
//	go run ./local run            # `make run`: Postgres, local SQS, proxy, worker
//	go run ./local test -- CMD... # `make test`: private Postgres + SQS around CMD
//	go run ./local clean          # `make clean`: remove the local state (stack stopped)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/numbers-app/numbers/local/stack"
	"github.com/numbers-app/numbers/shared/command"
)

func main() {
	command.MainCode("local", func(ctx context.Context) (int, error) {
		return run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	})
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		args = []string{"run"}
	}
	root, err := os.Getwd()
	if err != nil {
		return 1, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return 1, errors.New("run me from the repository root (where go.mod is), e.g. with `make run`")
	}
	switch args[0] {
	case "run":
		return 0, runStack(ctx, root, args[1:], getenv, stdout)
	case "test":
		return runTests(ctx, root, args[1:], stdout, stderr)
	case "clean":
		if err := clean(root, getenv, stdout); err != nil {
			return 1, err
		}
		removeShared(root, stdout)
		return 0, nil
	default:
		return 2, fmt.Errorf("unknown command %q: want run, test or clean", args[0])
	}
}

// portFromEnv returns the port in variable, or def (with fallback allowed)
// when it is unset.
func portFromEnv(getenv func(string) string, variable string, def int) (int, error) {
	if v := getenv(variable); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return 0, fmt.Errorf("%s=%q is not a port", variable, v)
		}
		return stack.PickPort(p, variable, false)
	}
	return stack.PickPort(def, variable, true)
}

// addrFromEnv returns the listen address in variable, checked free when it
// is set (a taken one is an error), else 127.0.0.1 with port def or any
// free port when def is taken.
func addrFromEnv(getenv func(string) string, variable string, def int) (string, error) {
	if v := getenv(variable); v != "" {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return "", fmt.Errorf("%s=%q is not a listen address (like 127.0.0.1:8080): %w", variable, v, err)
		}
		ln, err := net.Listen("tcp", v)
		if err != nil {
			return "", fmt.Errorf("%s=%s cannot be used (%w): stop what uses it or set %s to a free address", variable, v, err, variable)
		}
		ln.Close()
		return v, nil
	}
	p, err := stack.PickPort(def, variable, true)
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

// errAlreadyRunning says that this state directory's stack runs already.
var errAlreadyRunning = errors.New("already running")

// lockState takes the state directory for this run: it fails with
// errAlreadyRunning, naming the running stack, when another `run` holds it.
// The lock ends with the process, however it ends: a run.lock left by a
// crash holds nothing. unlockState removes the file on a clean stop.
func lockState(state string) (*os.File, error) {
	for {
		f, err := lockFile(state)
		if f != nil || err != nil {
			return f, err
		}
	}
}

// lockFile is one attempt of lockState: nil and no error when the file it
// locked was removed by a run that stopped meanwhile (then a new file
// at the path is the lock).
func lockFile(state string) (*os.File, error) {
	path := filepath.Join(state, "run.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		pid, _ := os.ReadFile(f.Name())
		where := ""
		if env, err := os.ReadFile(filepath.Join(state, "stack.env")); err == nil {
			for _, line := range strings.Split(string(env), "\n") {
				if addr, ok := strings.CutPrefix(line, "HTTP_ADDR="); ok {
					where = " at http://" + addr
				}
			}
		}
		return nil, fmt.Errorf("this clone's stack is %w%s (pid %s, state in %s): use it, or stop it first "+
			"(Ctrl-C in its terminal, or kill -INT %s); to run a second stack, set LOCAL_STATE_DIR to another directory",
			errAlreadyRunning, where, strings.TrimSpace(string(pid)), state, strings.TrimSpace(string(pid)))
	}
	held, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if now, err := os.Stat(path); err != nil || !os.SameFile(held, now) {
		f.Close()
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, nil
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// unlockState removes the lock file, then releases the lock (in this
// order, so a run that opened the file meanwhile sees it was removed).
func unlockState(lock *os.File) {
	_ = os.Remove(lock.Name())
	_ = lock.Close()
}

// postmasterAlive reports the pid of a Postgres that still runs on the
// cluster in dataDir (left over from a run that was killed), or 0.
func postmasterAlive(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return 0
	}
	if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
		return pid
	}
	return 0
}

// shortPath writes p relative to root when it is inside it.
func shortPath(root, p string) string {
	if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

// stateDir is where `run` keeps its state.
func stateDir(root string, getenv func(string) string) string {
	if dir := getenv("LOCAL_STATE_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(root, ".local")
}

// movedClusterDir is where pgcluster puts the cluster of dataDir when it
// runs as root and the postgres user cannot reach dataDir (the same rule as
// pgcluster.Start's).
func movedClusterDir(dataDir string) string {
	sum := 0
	for _, b := range []byte(dataDir) {
		sum = sum*31 + int(b)
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("numbers-pg-%x", uint32(sum)))
}

// clean removes what `run` left in the state directory (binaries, the
// Postgres cluster and its data, the log). It refuses while this clone's stack runs, and removes only the
// entries `run` makes, so a mistyped LOCAL_STATE_DIR cannot wipe a folder.
func clean(root string, getenv func(string) string, out io.Writer) error {
	// bin/ and the local SQS's node_modules serve every stack of this clone,
	// whatever its LOCAL_STATE_DIR: none may be running.
	if pids := runningStacks(root); len(pids) > 0 {
		return fmt.Errorf("not cleaning: a stack of this clone is running (pid %d, perhaps with another LOCAL_STATE_DIR): "+
			"stop it first (Ctrl-C in its terminal, or kill -INT %d)", pids[0], pids[0])
	}
	state := stateDir(root, getenv)
	if _, err := os.Stat(state); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(out, "clean: no local state to remove ("+state+" does not exist)")
		return nil
	}
	lock, err := lockState(state)
	if err != nil {
		if errors.Is(err, errAlreadyRunning) {
			return fmt.Errorf("not cleaning: %w", err)
		}
		return err
	}
	defer lock.Close()
	pgDirs := []string{filepath.Join(state, "pg"), movedClusterDir(filepath.Join(state, "pg"))}
	for _, dir := range pgDirs {
		if pid := postmasterAlive(dir); pid != 0 {
			return fmt.Errorf("not cleaning: a Postgres still runs on %s (pid %d): stop it with `kill -INT %d`", dir, pid, pid)
		}
	}
	for _, dir := range pgDirs[1:] {
		if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			fmt.Fprintln(out, "clean: removed the Postgres cluster in "+dir)
		}
	}
	for _, name := range []string{"bin", "pg", "services.log", "stack.env"} {
		p := filepath.Join(state, name)
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		fmt.Fprintln(out, "clean: removed "+p)
	}
	_ = os.Remove(filepath.Join(state, "run.lock"))
	_ = os.Remove(state) // only when nothing else is in it
	return nil
}

func runStack(ctx context.Context, root string, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	state := stateDir(root, getenv)
	if err := os.MkdirAll(filepath.Join(state, "bin"), 0o755); err != nil {
		return err
	}
	// Before anything is built, started or written: a running stack of this
	// clone keeps its binaries, its log and its stack.env.
	lock, err := lockState(state)
	if err != nil {
		return err
	}
	defer unlockState(lock)
	for _, dir := range []string{filepath.Join(state, "pg"), movedClusterDir(filepath.Join(state, "pg"))} {
		if pid := postmasterAlive(dir); pid != 0 {
			return fmt.Errorf("a Postgres of an earlier run of this clone still runs (pid %d, cluster %s): stop it with `kill -INT %d`",
				pid, dir, pid)
		}
	}
	pgPort, err := portFromEnv(getenv, "LOCAL_PG_PORT", 54329)
	if err != nil {
		return err
	}
	sqsPort, err := portFromEnv(getenv, "LOCAL_SQS_PORT", 9324)
	if err != nil {
		return err
	}
	maxReceives, visibility, err := queuePolicyFromEnv(getenv)
	if err != nil {
		return err
	}
	httpAddr, err := addrFromEnv(getenv, "HTTP_ADDR", 8080)
	if err != nil {
		return err
	}
	metricsAddr, err := addrFromEnv(getenv, "METRICS_ADDR", 9090)
	if err != nil {
		return err
	}
	serviceLogPath := filepath.Join(state, "services.log")
	serviceLog, err := os.OpenFile(serviceLogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer serviceLog.Close()
	// The terminal and the log get the same lines (Postgres and the local
	// SQS only the log: they are chatty).
	both := io.MultiWriter(out, serviceLog)

	fmt.Fprintln(out, "building proxy and worker...")
	for _, name := range []string{"proxy", "worker"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(state, "bin", name), "./"+name)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", name, err)
		}
	}
	fmt.Fprintln(out, "starting Postgres and the local SQS...")
	deps, err := stack.Up(ctx, stack.Options{
		Root: root, StateDir: state, PGPort: pgPort, SQSPort: sqsPort, Queues: true, Log: out, ServiceLog: serviceLog,
		MaxReceiveCount: maxReceives, VisibilityTimeout: visibility,
	})
	if err != nil {
		return err
	}
	defer deps.Down()

	stackVars := append(deps.Env(httpAddr), "METRICS_ADDR="+metricsAddr)
	if getenv("METRICS_ADDR") == "" {
		// Our choice, not the user's: if another process takes the port
		// before the worker binds it, the worker runs without metrics and
		// says so, rather than exiting (and being restarted) over it.
		stackVars = append(stackVars, "METRICS_ADDR_OPTIONAL=true")
	}
	env := append(os.Environ(), stackVars...)
	if getenv("LOG_FORMAT") == "" {
		env = append(env, "LOG_FORMAT=console")
	}
	// Operator tools (`worker dlq ...`, the load test) read this file to find
	// the running stack when their environment does not say.
	envFile := filepath.Join(state, "stack.env")
	if err := os.WriteFile(envFile, []byte(strings.Join(stackVars, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(envFile)
	procs := []*stack.Process{
		{Name: "proxy", Path: filepath.Join(state, "bin", "proxy"), Env: env, Out: both, Log: both},
		{Name: "worker", Path: filepath.Join(state, "bin", "worker"), Env: env, Out: both, Log: both},
	}
	fmt.Fprintf(both, `
numbers is running (Ctrl-C stops everything):
  web page      http://%[1]s/
  API           http://%[1]s/api/values
  metrics       http://%[1]s/metrics (proxy), http://%[2]s/metrics (worker)
  DATABASE_URL  %[3]s
  SQS endpoint  %[4]s   (where SQS API calls go)
  queue         %[5]s
  dead letters  %[6]s
                (queue URLs name the queues in SQS calls; they are not web addresses)
  logs          %[7]s (every service, as shown here)
  tools' env    %[8]s (read by bin/worker dlq and the load test)
  try:          curl -s -H 'Content-Type: application/json' -d '{"value": 42}' http://%[1]s/api/values

`, httpAddr, metricsAddr, deps.PG.URL(), deps.SQS.Endpoint(), deps.QueueURL, deps.DLQURL, shortPath(root, serviceLogPath), shortPath(root, envFile))
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Run(ctx)
		}()
	}
	// The local SQS is supervised: it keeps messages in memory, so a restart
	// brings back empty queues (the supervisor says so).
	wg.Add(1)
	go func() {
		defer wg.Done()
		deps.SuperviseSQS(ctx, both)
	}()
	// Postgres is supervised too, as RDS restarts a failed instance: a fast
	// restart by hand (`pkill -INT -f 'postgres -D .*/.local/pg'`) brings it back.
	go deps.SupervisePG(ctx, both, serviceLogPath)
	<-ctx.Done()
	fmt.Fprintln(both, "\nstopping proxy and worker...")
	wg.Wait()
	fmt.Fprintln(both, "stopping the local SQS and Postgres...")
	return nil
}

// runTests starts throwaway dependencies, runs the command after "--" with
// NUMBERS_TEST_DATABASE_URL and NUMBERS_TEST_SQS_ENDPOINT set, and tears
// everything down. It returns the command's exit code.
func runTests(ctx context.Context, root string, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return 2, errors.New("usage: local test -- COMMAND [ARGS...]")
	}
	tmp, err := os.MkdirTemp("", "numbers-test-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	serviceLog, err := os.Create(filepath.Join(tmp, "services.log"))
	if err != nil {
		return 1, err
	}
	defer serviceLog.Close()
	deps, err := stack.Up(ctx, stack.Options{Root: root, StateDir: tmp, Fast: true, Log: stderr, ServiceLog: serviceLog})
	if err != nil {
		return 1, err
	}
	defer func() {
		deps.Down()
		if deps.PG.DataDir() != filepath.Join(tmp, "pg") {
			_ = os.RemoveAll(deps.PG.DataDir())
		}
	}()
	fmt.Fprintf(stderr, "test dependencies: Postgres %s, local SQS %s\n", deps.PG.AdminURL(), deps.SQS.Endpoint())
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(os.Environ(),
		"NUMBERS_TEST_DATABASE_URL="+deps.PG.AdminURL(),
		"NUMBERS_TEST_SQS_ENDPOINT="+deps.SQS.Endpoint(),
		"NUMBERS_TEST_ROOT="+root,
	)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if ctx.Err() != nil {
				return 130, nil
			}
			return exit.ExitCode(), fmt.Errorf("%s failed", strings.Join(args, " "))
		}
		return 1, err
	}
	return 0, nil
}

// queuePolicyFromEnv reads LOCAL_SQS_MAX_RECEIVE_COUNT (1..1000) and
// LOCAL_SQS_VISIBILITY_TIMEOUT (a Go duration, whole seconds, 3s..12h): the
// main queue's redrive policy and visibility for `make run`. Unset gives 0,
// the stack's defaults (5 and 30s, as in infra/).
func queuePolicyFromEnv(getenv func(string) string) (int, time.Duration, error) {
	var n int
	var d time.Duration
	if v := getenv("LOCAL_SQS_MAX_RECEIVE_COUNT"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
			return 0, 0, fmt.Errorf("LOCAL_SQS_MAX_RECEIVE_COUNT=%q: want a whole number from 1 to 1000 (SQS's range)", v)
		}
	}
	if v := getenv("LOCAL_SQS_VISIBILITY_TIMEOUT"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < 3*time.Second || d > 12*time.Hour || d%time.Second != 0 {
			return 0, 0, fmt.Errorf("LOCAL_SQS_VISIBILITY_TIMEOUT=%q: want whole seconds from 3s to 12h, e.g. 10s", v)
		}
	}
	return n, d, nil
}

// removeShared removes what every stack of the clone at root shares: the
// binaries in bin/ and the installed local SQS (`make clean`, after clean
// found no stack of the clone running).
func removeShared(root string, out io.Writer) {
	for _, dir := range []string{filepath.Join(root, "bin"), filepath.Join(root, "local", "fauxqs", "node_modules")} {
		if _, err := os.Lstat(dir); err != nil {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(out, "clean:", err)
			continue
		}
		fmt.Fprintln(out, "clean: removed "+dir)
	}
}

// runningStacks returns the pids of `numbers-local run` processes (make run)
// whose working directory is root, found in /proc: a lock in one state
// directory cannot see a stack started with another LOCAL_STATE_DIR.
func runningStacks(root string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || cwd != root {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		for i := 0; i+1 < len(args); i++ {
			if filepath.Base(args[i]) == "numbers-local" && args[i+1] == "run" {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
