package command_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/command"
)

// helperEnv names the case the test binary, run again as a child, plays.
const helperEnv = "COMMAND_TEST_HELPER"

// TestMain lets the test binary act as a command: the cases below run it
// again with helperEnv set, since Main ends the process.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "ok":
		command.Main("demo", func(context.Context) error { return nil })
	case "error":
		command.Main("demo", func(context.Context) error { return errors.New("boom") })
	case "status":
		command.MainCode("demo", func(context.Context) (int, error) { return 3, errors.New("child failed") })
	case "status-only":
		command.MainCode("demo", func(context.Context) (int, error) { return 4, nil })
	case "error-no-status":
		command.MainCode("demo", func(context.Context) (int, error) { return 0, errors.New("boom") })
	case "wait-signal":
		command.Main("demo", func(ctx context.Context) error {
			fmt.Println("ready")
			<-ctx.Done()
			return nil
		})
	}
	os.Exit(99) // Main returned
}

func helper(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.CommandContext(context.Background(), exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	return cmd
}

func TestACommandExitsWithItsStatusAndNamesItsError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stderr string
		status       int
	}{
		{"ok", "", 0},
		{"error", "demo: boom\n", 1},
		{"status", "demo: child failed\n", 3},
		{"status-only", "", 4},
		{"error-no-status", "demo: boom\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := helper(t, tc.name)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			assert.Equal(t, tc.status, cmd.ProcessState.ExitCode(), "exit status (%v)", err)
			assert.Equal(t, tc.stderr, stderr.String())
		})
	}
}

func TestSIGTERMCancelsTheRunsContext(t *testing.T) {
	t.Parallel()
	cmd := helper(t, "wait-signal")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "the run returned once its context was cancelled, and exited 0")
}
