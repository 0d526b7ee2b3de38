// Package procstop stops a child process as every numbers harness does: a
// signal to end cleanly, then SIGKILL when it has not exited in time.
package procstop

import (
	"os"
	"time"
)

// Stop sends sig to p and waits for exited (closed, or sent to, once the
// process's Wait has returned); when grace passes first it kills p and waits
// for exited again.
func Stop[T any](p *os.Process, sig os.Signal, exited <-chan T, grace time.Duration) {
	_ = p.Signal(sig)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = p.Kill()
		<-exited
	}
}
