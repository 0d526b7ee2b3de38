//go:build images

package imagetest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/testenv"
)

// TestBuildLeavesNothingRunning runs make images' script (into a temporary
// directory) in a process group of its own and checks that when it has
// exited, nothing it started (the loopback registry) is still running.
func TestBuildLeavesNothingRunning(t *testing.T) {
	root := testenv.Root(t)
	cmd := exec.Command("bash", filepath.Join(root, "infra", "images", "build.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "IMAGES_DIR="+t.TempDir())
	cmd.Stdout, cmd.Stderr = testenv.LogWriter(t), testenv.LogWriter(t)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	pgid := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	require.NoError(t, cmd.Wait(), "infra/images/build.sh")

	// A process that is being reaped may linger for a moment: poll.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(-pgid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		require.NoError(t, err)
		if time.Now().After(deadline) {
			t.Fatalf("processes of the build are still running after it exited (process group %d)", pgid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
