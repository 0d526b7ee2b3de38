// Command local runs numbers on this machine.
//
//	go run ./local run            # `make run`: Postgres, local SQS, proxy, worker
//	go run ./local test -- CMD... # `make test`: private Postgres + SQS around CMD
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/numbers-app/numbers/local/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
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
	default:
		return 2, fmt.Errorf("unknown command %q: want run or test", args[0])
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

func runStack(ctx context.Context, root string, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	state := filepath.Join(root, ".local")
	if dir := getenv("LOCAL_STATE_DIR"); dir != "" {
		state = dir
	}
	if err := os.MkdirAll(filepath.Join(state, "bin"), 0o755); err != nil {
		return err
	}
	pgPort, err := portFromEnv(getenv, "LOCAL_PG_PORT", 54329)
	if err != nil {
		return err
	}
	sqsPort, err := portFromEnv(getenv, "LOCAL_SQS_PORT", 9324)
	if err != nil {
		return err
	}
	httpAddr := getenv("HTTP_ADDR")
	if httpAddr == "" {
		p, err := stack.PickPort(8080, "HTTP_ADDR", true)
		if err != nil {
			return err
		}
		httpAddr = "127.0.0.1:" + strconv.Itoa(p)
	}
	serviceLog, err := os.OpenFile(filepath.Join(state, "services.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer serviceLog.Close()

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
	})
	if err != nil {
		return err
	}
	defer deps.Down()

	env := append(os.Environ(), deps.Env(httpAddr)...)
	if getenv("LOG_FORMAT") == "" {
		env = append(env, "LOG_FORMAT=console")
	}
	// Operator tools (`worker dlq ...`, the load test) read this file to find
	// the running stack when their environment does not say.
	stackEnv := strings.Join(deps.Env(httpAddr), "\n") + "\n"
	envFile := filepath.Join(state, "stack.env")
	if err := os.WriteFile(envFile, []byte(stackEnv), 0o644); err != nil {
		return err
	}
	defer os.Remove(envFile)
	procs := []*stack.Process{
		{Name: "proxy", Path: filepath.Join(state, "bin", "proxy"), Env: env, Out: out, Log: out},
		{Name: "worker", Path: filepath.Join(state, "bin", "worker"), Env: env, Out: out, Log: out},
	}
	fmt.Fprintf(out, `
numbers is running (Ctrl-C stops everything):
  proxy         http://%s   (web page at /, API at /api/values)
  DATABASE_URL  %s
  SQS endpoint  %s
  queue         %s
  dead letters  %s
  server logs   %s
  try:          curl -s -H 'Content-Type: application/json' -d '{"value": 42}' http://%s/api/values

`, httpAddr, deps.PG.URL(), deps.SQS.Endpoint(), deps.QueueURL, deps.DLQURL, filepath.Join(state, "services.log"), httpAddr)
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Run(ctx)
		}()
	}
	// Postgres is supervised too, as RDS restarts a failed instance: a fast
	// restart by hand (`pkill -INT -f 'postgres -D .*/.local/pg'`) brings it back.
	go func() {
		for {
			select {
			case <-deps.PG.Exited():
			case <-ctx.Done():
				return
			}
			if ctx.Err() != nil {
				return
			}
			fmt.Fprintln(out, "supervisor: Postgres exited (see "+filepath.Join(state, "services.log")+"): restarting it")
			if err := deps.PG.Restart(ctx); err != nil && ctx.Err() == nil {
				fmt.Fprintln(out, "supervisor: Postgres did not restart:", err)
				time.Sleep(time.Second)
			}
		}
	}()
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping proxy and worker...")
	wg.Wait()
	fmt.Fprintln(out, "stopping the local SQS and Postgres...")
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
