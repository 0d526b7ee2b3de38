package stack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process runs a binary and restarts it when it dies, as ECS restarts a
// task, with a growing delay between restarts.
type Process struct {
	Name string
	Path string
	Args []string
	Env  []string
	// Out receives the process's output, each line prefixed with Name.
	Out io.Writer
	// Log receives the supervisor's own lines.
	Log io.Writer
	// StopTimeout bounds the graceful stop (SIGTERM) before SIGKILL.
	StopTimeout time.Duration
	// NoRestart makes Run return when the process exits.
	NoRestart bool

	mu  sync.Mutex
	cmd *exec.Cmd
	// Restarts counts restarts after unexpected exits.
	Restarts int
}

// Run starts the process and keeps it running until ctx is cancelled; then it
// stops it with SIGTERM (SIGKILL after StopTimeout).
func (p *Process) Run(ctx context.Context) error {
	if p.StopTimeout == 0 {
		p.StopTimeout = 25 * time.Second
	}
	delay := 500 * time.Millisecond
	for {
		started := time.Now()
		err := p.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if p.NoRestart {
			return fmt.Errorf("%s: %w: %w", p.Name, ErrExited, err)
		}
		if time.Since(started) > 30*time.Second {
			delay = 500 * time.Millisecond
		}
		p.mu.Lock()
		p.Restarts++
		p.mu.Unlock()
		fmt.Fprintf(p.Log, "supervisor: %s exited (%v): restarting in %s\n", p.Name, err, delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
}

func (p *Process) runOnce(ctx context.Context) error {
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	w := PrefixWriter(p.Name, p.Out)
	cmd.Stdout, cmd.Stderr = w, w
	// Own process group: a terminal's Ctrl-C reaches the supervisor only,
	// which then stops children in order. Pdeathsig: no orphans if we die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			return err
		case <-time.After(p.StopTimeout):
			fmt.Fprintf(p.Log, "supervisor: %s did not stop within %s: killing it\n", p.Name, p.StopTimeout)
			_ = cmd.Process.Kill()
			return <-done
		}
	}
}

// Signal sends sig to the running process (for fault tests: SIGKILL).
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// PrefixWriter writes each line to out prefixed with name (padded, then
// "| "), as the terminal of `make run` shows it. It is safe for concurrent
// writers; a last line without a newline waits for its end.
func PrefixWriter(name string, out io.Writer) io.Writer {
	return &prefixWriter{prefix: []byte(fmt.Sprintf("%-6s| ", name)), out: out}
}

// prefixWriter prefixes each line; safe for concurrent writers.
type prefixWriter struct {
	mu     sync.Mutex
	prefix []byte
	out    io.Writer
	buf    []byte
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := append(append([]byte{}, w.prefix...), w.buf[:i+1]...)
		if _, err := w.out.Write(line); err != nil {
			return len(b), nil
		}
		w.buf = w.buf[i+1:]
	}
	return len(b), nil
}
