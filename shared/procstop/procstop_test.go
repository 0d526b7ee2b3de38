package procstop_test

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/procstop"
)

// start runs script under sh and returns it with the channel its Wait's
// error arrives on.
func start(t *testing.T, script string) (*exec.Cmd, <-chan error) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), "sh", "-c", script)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd, exited
}

func TestAProcessThatHonoursTheSignalEndsByIt(t *testing.T) {
	t.Parallel()
	cmd, exited := start(t, "exec sleep 600")
	procstop.Stop(cmd.Process, syscall.SIGTERM, exited, time.Minute)
	status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	assert.True(t, status.Signaled())
	assert.Equal(t, syscall.SIGTERM, status.Signal(), "ended by the signal, not killed")
}

func TestAProcessThatIgnoresTheSignalIsKilledAfterTheGrace(t *testing.T) {
	t.Parallel()
	// SIGWINCH's default action is to ignore it: sleep goes on.
	cmd, exited := start(t, "exec sleep 600")
	procstop.Stop(cmd.Process, syscall.SIGWINCH, exited, 200*time.Millisecond)
	status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	assert.True(t, status.Signaled())
	assert.Equal(t, syscall.SIGKILL, status.Signal(), "killed once the grace had passed")
}
