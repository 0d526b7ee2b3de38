// Package pgcluster runs a private PostgreSQL cluster from Debian's server
// binaries (initdb, postgres) on a loopback port, for the local stack and
// the tests. It is a development tool: trust authentication, no TLS.
package pgcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/numbers-app/numbers/shared/procstop"
)

// Options configure a cluster.
type Options struct {
	// DataDir holds the cluster; created with initdb when empty.
	DataDir string
	// Port is the loopback port. Required.
	Port int
	// Database is created if missing. Defaults to "numbers".
	Database string
	// Fast trades durability for speed (fsync off): for throwaway test
	// clusters only, never for benchmarks.
	Fast bool
	// Log receives the server's output.
	Log io.Writer
	// Install, when true, tries `apt-get install postgresql` if the
	// binaries are missing and this process is root.
	Install bool
	// PasswordRoles must authenticate with a password (scram-sha-256) on
	// 127.0.0.1, as on RDS; every other role is trusted. For tests of
	// credential rotation.
	PasswordRoles []string
}

// Cluster is a running cluster.
type Cluster struct {
	opts    Options
	bin     string
	cred    *syscall.Credential
	cmd     *exec.Cmd
	exited  chan struct{}
	dataDir string
}

// URLFor is a URL for the application database as user (no password).
func (c *Cluster) URLFor(user string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", user, c.opts.Port, c.opts.Database)
}

// Pid is the postmaster's process id (0 when not running).
func (c *Cluster) Pid() int {
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Pause stops every process of the server (SIGSTOP to the postmaster and
// its children, which Postgres puts in sessions of their own): the port
// still accepts TCP connections and nothing answers, as a hung database.
// Linux only (it reads /proc).
func (c *Cluster) Pause() error { return c.signalAll(syscall.SIGSTOP) }

// Resume continues a paused server.
func (c *Cluster) Resume() error { return c.signalAll(syscall.SIGCONT) }

func (c *Cluster) signalAll(sig syscall.Signal) error {
	pid := c.Pid()
	if pid == 0 {
		return errors.New("pgcluster: not running")
	}
	pids := []int{pid}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("pgcluster: list processes: %w", err)
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; read after ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			pids = append(pids, child)
		}
	}
	if sig == syscall.SIGSTOP {
		// Stop the postmaster first so it forks nothing meanwhile.
		_ = syscall.Kill(pid, sig)
	}
	for _, p := range pids {
		if err := syscall.Kill(p, sig); err != nil && p == pid {
			return fmt.Errorf("pgcluster: signal %d: %w", p, err)
		}
	}
	return nil
}

// AdminURL is a URL for the "postgres" database as superuser "postgres".
func (c *Cluster) AdminURL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.opts.Port)
}

// URL is a URL for the cluster's application database.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.opts.Port, c.opts.Database)
}

// DataDir is where the cluster lives (it may differ from Options.DataDir
// when running as root and that path is not reachable for the postgres user).
func (c *Cluster) DataDir() string { return c.dataDir }

// Start initialises the cluster if needed, starts it and waits until it
// accepts connections and the database exists.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Port == 0 {
		return nil, errors.New("pgcluster: Port is required")
	}
	if opts.Database == "" {
		opts.Database = "numbers"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	bin, err := findBinDir(ctx, opts.Install, opts.Log)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, bin: bin, dataDir: opts.DataDir}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root: drop to the postgres
		// user that Debian's package creates.
		if c.cred, err = postgresUser(); err != nil {
			return nil, err
		}
		if !reachableBy(opts.DataDir, c.cred.Uid) {
			sum := 0
			for _, b := range []byte(opts.DataDir) {
				sum = sum*31 + int(b)
			}
			c.dataDir = filepath.Join(os.TempDir(), fmt.Sprintf("numbers-pg-%x", uint32(sum)))
		}
	}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	if err := c.writeHBA(); err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// writeHBA writes pg_hba.conf: password lines for Options.PasswordRoles
// ahead of the trust lines (the first matching line decides).
func (c *Cluster) writeHBA() error {
	var b strings.Builder
	b.WriteString("# written by pgcluster\n")
	for _, role := range c.opts.PasswordRoles {
		fmt.Fprintf(&b, "host all %s 127.0.0.1/32 scram-sha-256\n", role)
	}
	b.WriteString("local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n")
	path := filepath.Join(c.dataDir, "pg_hba.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("pgcluster: pg_hba.conf: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(path, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("pgcluster: chown pg_hba.conf: %w", err)
		}
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return nil
	}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: data dir: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(c.dataDir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("pgcluster: chown data dir: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "initdb"), "-D", c.dataDir, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: initdb: %w\n%s", err, out)
	}
	return nil
}

func (c *Cluster) start(ctx context.Context) error {
	args := []string{"-D", c.dataDir, "-p", strconv.Itoa(c.opts.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "max_connections=300",
		"-c", "logging_collector=off",
	}
	if c.opts.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), args...)
	cmd.Dir = os.TempDir()
	cmd.Stdout = c.opts.Log
	cmd.Stderr = c.opts.Log
	// SIGINT is Postgres's fast shutdown; Pdeathsig stops it if we die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	if err := c.waitReady(ctx); err != nil {
		c.Stop()
		return err
	}
	return nil
}

func (c *Cluster) waitReady(ctx context.Context) error {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(c.AdminURL()), pgdriver.WithDialTimeout(time.Second)))
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil {
			break
		}
		select {
		case <-c.exited:
			return fmt.Errorf("pgcluster: postgres exited at start (is port %d taken? see its log)", c.opts.Port)
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("pgcluster: postgres not ready on port %d: %w", c.opts.Port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var exists bool
	if err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", c.opts.Database).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if !exists {
		if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+c.opts.Database+`"`); err != nil {
			return fmt.Errorf("pgcluster: create database: %w", err)
		}
	}
	return nil
}

// Stop shuts the server down (fast shutdown, then kill after 10s).
func (c *Cluster) Stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	procstop.Stop(c.cmd.Process, syscall.SIGINT, c.exited, 10*time.Second)
}

// Kill stops the server abruptly (SIGKILL), as a crash would.
func (c *Cluster) Kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.exited
	}
}

// Restart stops and starts the server on the same port and data.
func (c *Cluster) Restart(ctx context.Context) error {
	c.Stop()
	return c.start(ctx)
}

// Exited is closed when the server process ends.
func (c *Cluster) Exited() <-chan struct{} { return c.exited }

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("pgcluster: running as root, and there is no 'postgres' user to run the server as " +
			"(initdb refuses root). Install Debian's server package: apt-get install postgresql")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil //nolint:gosec // ids come from the passwd database, within uint32
}

// reachableBy reports whether every existing parent of dir lets uid in.
func reachableBy(dir string, uid uint32) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil {
			st, ok := fi.Sys().(*syscall.Stat_t)
			if !ok {
				return false
			}
			if st.Uid != uid && fi.Mode().Perm()&0o001 == 0 {
				return false
			}
		}
		if p == "/" || p == "." {
			return true
		}
	}
}

// findBinDir finds the directory with initdb and postgres.
func findBinDir(ctx context.Context, install bool, log io.Writer) (string, error) {
	if dir := os.Getenv("PG_BIN_DIR"); dir != "" {
		return dir, nil
	}
	find := func() string {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
		sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
		if len(matches) > 0 {
			return filepath.Dir(matches[0])
		}
		if p, err := exec.LookPath("postgres"); err == nil {
			if _, err := exec.LookPath("initdb"); err == nil {
				return filepath.Dir(p)
			}
		}
		return ""
	}
	if dir := find(); dir != "" {
		return dir, nil
	}
	const help = "PostgreSQL server binaries (initdb, postgres) not found. Install them: " +
		"`sudo apt-get install postgresql` on Debian/Ubuntu, `brew install postgresql` on macOS, " +
		"or set PG_BIN_DIR to the directory that holds them"
	if !install || os.Geteuid() != 0 {
		return "", errors.New(help)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", errors.New(help)
	}
	fmt.Fprintln(log, "PostgreSQL not found: installing Debian's postgresql package with apt-get...")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("apt-get %s: %w; %s", strings.Join(args, " "), err, help)
		}
	}
	if dir := find(); dir != "" {
		return dir, nil
	}
	return "", errors.New(help)
}

func version(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}
