package main

// Tests of `make run` itself (runStack): what it checks before starting,
// where it listens, where its logs go, what a second run in the same clone
// says, and how it supervises the local SQS.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/local/stack"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
)

// runEnv is the environment of one `run`: a private state directory and a
// free port for everything, so it never meets a real `make run`.
type runEnv map[string]string

func newRunEnv(t *testing.T) runEnv {
	t.Helper()
	// A free port is closed again when it is returned, so the system may
	// hand it out twice: each variable gets one of its own.
	seen := map[int]bool{}
	free := func() string {
		for {
			p, err := stack.FreePort()
			require.NoError(t, err)
			if !seen[p] {
				seen[p] = true
				return strconv.Itoa(p)
			}
		}
	}
	return runEnv{
		"LOCAL_STATE_DIR": t.TempDir(),
		"LOCAL_PG_PORT":   free(),
		"LOCAL_SQS_PORT":  free(),
		"HTTP_ADDR":       "127.0.0.1:" + free(),
		"METRICS_ADDR":    "127.0.0.1:" + free(),
	}
}

func (e runEnv) get(k string) string { return e[k] }

func (e runEnv) port(t *testing.T, k string) int {
	t.Helper()
	v := e[k]
	if _, p, err := net.SplitHostPort(v); err == nil {
		v = p
	}
	p, err := strconv.Atoi(v)
	require.NoError(t, err, k)
	return p
}

// takenAddr holds a loopback port for the test's duration.
func takenAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestRunRefusesATakenAddressSetExplicitlyBeforeStarting(t *testing.T) {
	root := testenv.Root(t)
	for _, variable := range []string{"HTTP_ADDR", "METRICS_ADDR"} {
		t.Run(variable, func(t *testing.T) {
			// Held before the others are picked, so none of them is it (a
			// port picked free and released was handed out again as the
			// taken one, and run refused LOCAL_PG_PORT instead).
			taken := takenAddr(t)
			env := newRunEnv(t)
			env[variable] = taken
			out := &testenv.Buffer{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- runStack(ctx, root, nil, env.get, out) }()
			var err error
			// Without the check run would build and start the stack: stop
			// it then, the test has failed.
			testenv.Eventually(t, 3*time.Minute, "run to return or to build", func() bool {
				select {
				case err = <-done:
					return true
				default:
				}
				if strings.Contains(out.String(), "building") {
					cancel()
					err = <-done
					return true
				}
				return false
			})
			require.Error(t, err, "a taken %s stops run", variable)
			assert.Contains(t, err.Error(), variable+"="+env[variable])
			assert.NotContains(t, out.String(), "numbers is running", "no banner")
			assert.NotContains(t, out.String(), "building", "nothing built")
		})
	}
}

// listeners returns the local addresses (as "ip:port") of listening TCP
// sockets on the given ports, from /proc/net/tcp and /proc/net/tcp6.
func listeners(t *testing.T, ports map[int]bool) map[int][]string {
	t.Helper()
	got := map[int][]string{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "0A" { // LISTEN
				continue
			}
			hexIP, hexPort, ok := strings.Cut(fields[1], ":")
			require.True(t, ok, fields[1])
			port, err := strconv.ParseUint(hexPort, 16, 16)
			require.NoError(t, err)
			if !ports[int(port)] {
				continue
			}
			raw, err := hex.DecodeString(hexIP)
			require.NoError(t, err)
			// The kernel prints each 32-bit word in host (little-endian) order.
			for i := 0; i+4 <= len(raw); i += 4 {
				raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
			}
			got[int(port)] = append(got[int(port)], net.JoinHostPort(net.IP(raw).String(), strconv.Itoa(int(port))))
		}
		f.Close()
	}
	return got
}

func TestListenersParsesLoopbackAndWildcard(t *testing.T) {
	wild, err := net.Listen("tcp", ":0")
	require.NoError(t, err)
	defer wild.Close()
	loop := takenAddr(t)
	wp := wild.Addr().(*net.TCPAddr).Port
	_, lps, _ := net.SplitHostPort(loop)
	lp, _ := strconv.Atoi(lps)
	got := listeners(t, map[int]bool{wp: true, lp: true})
	assert.Equal(t, []string{loop}, got[lp])
	require.NotEmpty(t, got[wp])
	for _, a := range got[wp] {
		host, _, _ := net.SplitHostPort(a)
		assert.True(t, net.ParseIP(host).IsUnspecified(), a)
	}
}

// childPid finds the process among this test's children whose command line
// contains what.
func childPid(t *testing.T, what string) int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	require.NoError(t, err)
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
		fields := strings.Fields(rest)
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		if strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), what) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	t.Fatalf("no child process runs %q", what)
	return 0
}

func TestRunStack(t *testing.T) {
	root := testenv.Root(t)
	env := newRunEnv(t)
	state := env["LOCAL_STATE_DIR"]
	out := &testenv.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runStack(ctx, root, nil, env.get, out) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(2 * time.Minute):
			t.Error("run did not stop within 2 minutes")
		}
	}
	t.Cleanup(stop)
	url := "http://" + env["HTTP_ADDR"]
	testenv.Eventually(t, 5*time.Minute, "the stack to be ready", func() bool {
		select {
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, out.String())
		default:
		}
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	testenv.Eventually(t, time.Minute, "the worker's metrics", func() bool {
		resp, err := http.Get("http://" + env["METRICS_ADDR"] + "/metrics")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	code, _ := postJSON(t, url, `{"value": 42}`)
	require.Equal(t, http.StatusAccepted, code)

	t.Run("nothing listens beyond loopback", func(t *testing.T) {
		ports := map[int]bool{}
		for _, k := range []string{"LOCAL_PG_PORT", "LOCAL_SQS_PORT", "HTTP_ADDR", "METRICS_ADDR"} {
			ports[env.port(t, k)] = true
		}
		got := listeners(t, ports)
		for p := range ports {
			require.NotEmpty(t, got[p], "something listens on port %d", p)
			for _, a := range got[p] {
				host, _, _ := net.SplitHostPort(a)
				assert.True(t, net.ParseIP(host).IsLoopback(), "port %d listens on %s, beyond loopback", p, a)
			}
		}
	})

	logPath := filepath.Join(state, "services.log")
	t.Run("every service logs into the log the banner names", func(t *testing.T) {
		assert.Contains(t, out.String(), logPath)
		testenv.Eventually(t, 30*time.Second, "proxy and worker lines in the log", func() bool {
			b, err := os.ReadFile(logPath)
			require.NoError(t, err)
			return bytes.Contains(b, []byte("\nproxy | ")) && bytes.Contains(b, []byte("\nworker| "))
		})
		b, err := os.ReadFile(logPath)
		require.NoError(t, err)
		for _, prefix := range []string{"pg    | ", "sqs   | ", "proxy | ", "worker| "} {
			assert.Contains(t, string(b), "\n"+prefix, "the log has lines prefixed %q", prefix)
		}
	})

	t.Run("a second run in the same clone says it runs already and touches nothing", func(t *testing.T) {
		stat := func(p string) os.FileInfo {
			fi, err := os.Stat(p)
			require.NoError(t, err)
			return fi
		}
		proxyBin := stat(filepath.Join(state, "bin", "proxy"))
		logBefore := stat(logPath)
		// Other ports than the first run's: the stack, not a port, is the
		// reason to refuse.
		env2 := newRunEnv(t)
		env2["LOCAL_STATE_DIR"] = state
		out2 := &testenv.Buffer{}
		ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel2()
		err := runStack(ctx2, root, nil, env2.get, out2)
		require.Error(t, err)
		assert.ErrorIs(t, err, errAlreadyRunning)
		assert.Contains(t, err.Error(), "this clone's stack is already running at "+url)
		assert.Contains(t, err.Error(), "pid "+strconv.Itoa(os.Getpid()))
		assert.Empty(t, out2.String(), "it prints nothing else (no build)")
		assert.Equal(t, proxyBin.ModTime(), stat(filepath.Join(state, "bin", "proxy")).ModTime(), "binaries not rebuilt")
		assert.FileExists(t, filepath.Join(state, "stack.env"), "the running stack keeps its stack.env")
		// The running stack itself may write; compare with a fresh look at
		// its own lines instead: the second run wrote none of its words.
		logAfter, err := os.ReadFile(logPath)
		require.NoError(t, err)
		assert.NotContains(t, string(logAfter[logBefore.Size():]), "stopping", "the second run wrote nothing into the log")
	})

	t.Run("the local SQS is supervised and says what was lost", func(t *testing.T) {
		client, err := sqsqueue.NewClient(context.Background(), sqsqueue.ClientConfig{
			Region: stack.Region, Endpoint: "http://127.0.0.1:" + env["LOCAL_SQS_PORT"]})
		require.NoError(t, err)
		dlq, err := client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(stack.DLQName)})
		require.NoError(t, err)
		_, err = client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: dlq.QueueUrl, MessageBody: aws.String("lost on restart")})
		require.NoError(t, err)

		pid := childPid(t, "server.mjs")
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		testenv.Eventually(t, time.Minute, "the supervisor to bring the local SQS back", func() bool {
			return strings.Contains(out.String(), "supervisor: the local SQS is back")
		})
		assert.Contains(t, out.String(), "supervisor: the local SQS exited")
		assert.Contains(t, out.String(), "is lost")
		b, err := os.ReadFile(logPath)
		require.NoError(t, err)
		assert.Contains(t, string(b), "supervisor: the local SQS exited", "the log says so too")

		got, err := client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(stack.DLQName)})
		require.NoError(t, err, "the dead-letter queue exists again")
		assert.Equal(t, *dlq.QueueUrl, *got.QueueUrl, "at the same URL")
		recv, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: got.QueueUrl, MaxNumberOfMessages: 10})
		require.NoError(t, err)
		assert.Empty(t, recv.Messages, "its messages are gone, as the supervisor said")
		testenv.Eventually(t, time.Minute, "writes accepted again", func() bool {
			code, _ := postJSON(t, url, `{"value": 43}`)
			return code == http.StatusAccepted
		})
	})

	t.Run("clean refuses while the stack runs", func(t *testing.T) {
		err := clean(root, env.get, testenv.LogWriter(t))
		require.ErrorIs(t, err, errAlreadyRunning)
		assert.Contains(t, err.Error(), "not cleaning")
		assert.DirExists(t, filepath.Join(state, "bin"))
	})

	stop()
	assert.NoFileExists(t, filepath.Join(state, "stack.env"), "stack.env goes with the stack")
	assert.NoFileExists(t, filepath.Join(state, "run.lock"), "a clean stop removes its lock")

	t.Run("clean removes the state and the cluster once it stopped", func(t *testing.T) {
		cluster := filepath.Join(state, "pg")
		if _, err := os.Stat(filepath.Join(cluster, "PG_VERSION")); err != nil {
			cluster = movedClusterDir(cluster) // as root, out of the postgres user's reach
		}
		require.FileExists(t, filepath.Join(cluster, "PG_VERSION"), "the cluster is where clean looks for it")
		require.NoError(t, os.WriteFile(filepath.Join(state, "keep.txt"), []byte("not ours"), 0o644))
		require.NoError(t, clean(root, env.get, testenv.LogWriter(t)))
		assert.NoDirExists(t, cluster)
		assert.NoDirExists(t, filepath.Join(state, "bin"))
		assert.NoFileExists(t, logPath)
		assert.FileExists(t, filepath.Join(state, "keep.txt"), "what run did not make stays")
	})
	fmt.Fprintln(testenv.LogWriter(t), out.String())
}

// A stack started in this clone with another LOCAL_STATE_DIR holds no lock
// in the state directory clean looks at, but shares bin/ and the local
// SQS's node_modules: clean finds it by its process and refuses.
func TestCleanRefusesWhileAStackOfTheCloneRunsWithAnotherStateDir(t *testing.T) {
	root := t.TempDir()
	fake := filepath.Join(root, "numbers-local")
	// A shell script named like the tool: its process reads
	// "/bin/sh .../numbers-local run" for as long as its sleep lasts.
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\nsleep 60\n"), 0o755))
	cmd := exec.Command(fake, "run")
	cmd.Dir = root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	testenv.Eventually(t, 10*time.Second, "the fake stack to show in /proc", func() bool { return len(runningStacks(root)) > 0 })

	other := map[string]string{"LOCAL_STATE_DIR": filepath.Join(t.TempDir(), "elsewhere")}
	err := clean(root, func(k string) string { return other[k] }, testenv.LogWriter(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a stack of this clone is running")
}

// The tool `make run` builds is state like the binaries it builds: with
// LOCAL_STATE_DIR set, nothing is written in the clone.
func TestMakeBuildsTheLocalToolInTheStateDir(t *testing.T) {
	root := testenv.Root(t)
	state := filepath.Join(t.TempDir(), "state")
	for stateDir, want := range map[string]string{
		"":    "go build -o .local/bin/numbers-local ./local",
		state: "go build -o " + state + "/bin/numbers-local ./local",
	} {
		cmd := exec.Command("make", "-n", "--no-print-directory", "local-bin", "GO=go") // -n: print the commands, run none
		cmd.Dir = root
		cmd.Env = []string{"LOCAL_STATE_DIR=" + stateDir}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "LOCAL_STATE_DIR=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), want+"\n", "LOCAL_STATE_DIR=%q", stateDir)
	}
}

func TestACleanStopRemovesRunLockAndOneLeftByACrashBlocksNothing(t *testing.T) {
	state := t.TempDir()
	path := filepath.Join(state, "run.lock")
	require.NoError(t, os.WriteFile(path, []byte("999999\n"), 0o644)) // a crashed run's: nobody holds it
	lock, err := lockState(state)
	require.NoError(t, err, "a run.lock nobody holds blocks nothing")
	_, err = lockState(state)
	require.ErrorIs(t, err, errAlreadyRunning, "a held one does")

	unlockState(lock)
	assert.NoFileExists(t, path, "a clean stop removes its lock")
	again, err := lockState(state)
	require.NoError(t, err, "the next run takes the state directory")
	assert.FileExists(t, path)
	unlockState(again)
}
