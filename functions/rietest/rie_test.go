//go:build lambdarie

package rietest

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/functions/internal/functest"
	"github.com/numbers-app/numbers/shared/procstop"
	"github.com/numbers-app/numbers/shared/testenv"
)

// Variables `make lambda-test` sets.
const (
	envLambdaDir = "NUMBERS_LAMBDA_DIR" // holds http/bootstrap and sqs/bootstrap
	envRIE       = "NUMBERS_RIE"        // the aws-lambda-rie binary
)

func TestHTTPFunctionUnderTheEmulator(t *testing.T) {
	functest.HTTP(t, underEmulator("http"))
}

func TestSQSFunctionUnderTheEmulator(t *testing.T) {
	functest.SQS(t, underEmulator("sqs"))
}

// underEmulator starts aws-lambda-rie on loopback with the function's
// bootstrap and invokes it over the emulator's Invoke API. Tests in this
// package never run in parallel: the emulator crashes on concurrent invokes.
func underEmulator(function string) functest.Start {
	return func(t *testing.T, environ map[string]string) functest.Invoke {
		rie := need(t, envRIE)
		bootstrap, err := filepath.Abs(filepath.Join(need(t, envLambdaDir), function, "bootstrap"))
		require.NoError(t, err)
		require.FileExists(t, bootstrap)
		apiAddr, runtimeAddr := freeAddr(t), freeAddr(t)

		cmd := exec.Command(rie, "--runtime-interface-emulator-address", apiAddr, "--runtime-api-address", runtimeAddr, bootstrap)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "AWS_LAMBDA_FUNCTION_TIMEOUT=15"}
		keys := make([]string, 0, len(environ))
		for k := range environ {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			cmd.Env = append(cmd.Env, k+"="+environ[k])
		}
		out := &testenv.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		started := time.Now()
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			procstop.Stop(cmd.Process, syscall.SIGTERM, exited, 5*time.Second)
			if t.Failed() {
				t.Logf("aws-lambda-rie (%s) output:\n%s", function, out.String())
			}
		})
		waitListening(t, apiAddr, exited)
		t.Logf("aws-lambda-rie %s: emulator listening on %s after %s (bootstrap %s)", function, apiAddr, time.Since(started).Round(time.Millisecond), bootstrap)

		client := &http.Client{Timeout: 30 * time.Second}
		first := true
		return func(t *testing.T, event []byte) []byte {
			begin := time.Now()
			resp, err := client.Post("http://"+apiAddr+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(event))
			require.NoError(t, err, "invoke the emulator")
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			// The emulator answers 200 for handler errors too: the
			// suite checks bodies. Anything else is a crash or a panic.
			require.Equal(t, http.StatusOK, resp.StatusCode, "emulator answered %s: %s", resp.Status, body)
			what := "warm invoke"
			if first {
				what, first = "first invoke (INIT + invoke)", false
			}
			t.Logf("aws-lambda-rie %s: %s took %s", function, what, time.Since(begin).Round(100*time.Microsecond))
			return body
		}
	}
}

func need(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run `make lambda-test`, which builds the functions and the emulator", name)
	}
	return v
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func waitListening(t *testing.T, addr string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("aws-lambda-rie exited before listening: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("aws-lambda-rie did not listen on %s within 10s", addr)
}
