// Package stack brings up the local dependencies of numbers (a private
// Postgres cluster and the local SQS server with its queues) and supervises
// the proxy and worker processes, as `make run` and the tests need them.
package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/numbers-app/numbers/local/fauxqs"
	"github.com/numbers-app/numbers/local/pgcluster"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// Prefixes of the servers' lines in the service log, as the proxy's and
// the worker's lines are prefixed with their names.
const (
	PGLogName  = "pg"
	SQSLogName = "sqs"
)

// Queue names and policy of the local stack (as in infra/).
const (
	QueueName         = "numbers"
	DLQName           = "numbers-dlq"
	MaxReceiveCount   = 5
	VisibilityTimeout = 30 * time.Second
	Region            = "us-east-1"
)

// Options for Up.
type Options struct {
	// Root is the repository root (holds local/fauxqs).
	Root string
	// StateDir holds the Postgres cluster and logs.
	StateDir string
	// PGPort and SQSPort: 0 picks a free port.
	PGPort, SQSPort int
	// Fast runs Postgres without fsync (throwaway test clusters).
	Fast bool
	// Queues creates the main queue and the DLQ.
	Queues bool
	// MaxReceiveCount and VisibilityTimeout are the main queue's redrive
	// policy and default visibility. Default to the constants above (as in
	// infra/); lower them to see a long outage outlast maxReceiveCount ×
	// visibility in minutes (LOCAL_SQS_MAX_RECEIVE_COUNT,
	// LOCAL_SQS_VISIBILITY_TIMEOUT for `make run`).
	MaxReceiveCount   int
	VisibilityTimeout time.Duration
	// Log receives progress lines; ServiceLog the servers' own output.
	Log, ServiceLog io.Writer
}

// Deps are running dependencies.
type Deps struct {
	PG       *pgcluster.Cluster
	SQS      *fauxqs.Server
	QueueURL string
	DLQURL   string
	// The main queue's policy (Options.MaxReceiveCount, VisibilityTimeout
	// with their defaults).
	MaxReceiveCount   int
	VisibilityTimeout time.Duration
}

// Up starts Postgres and the local SQS (installing fauxqs when needed).
func Up(ctx context.Context, o Options) (*Deps, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.ServiceLog == nil {
		o.ServiceLog = io.Discard
	}
	var err error
	if o.PGPort == 0 {
		if o.PGPort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if o.SQSPort == 0 {
		if o.SQSPort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	fqDir := filepath.Join(o.Root, "local", "fauxqs")
	if err := fauxqs.Install(ctx, fqDir, o.Log); err != nil {
		return nil, err
	}
	pg, err := pgcluster.Start(ctx, pgcluster.Options{
		DataDir: filepath.Join(o.StateDir, "pg"), Port: o.PGPort, Fast: o.Fast, Log: PrefixWriter(PGLogName, o.ServiceLog), Install: true,
	})
	if err != nil {
		return nil, err
	}
	sqsSrv, err := fauxqs.Start(ctx, fqDir, o.SQSPort, PrefixWriter(SQSLogName, o.ServiceLog))
	if err != nil {
		pg.Stop()
		return nil, err
	}
	d := &Deps{PG: pg, SQS: sqsSrv,
		MaxReceiveCount:   cmp.Or(o.MaxReceiveCount, MaxReceiveCount),
		VisibilityTimeout: cmp.Or(o.VisibilityTimeout, VisibilityTimeout)}
	if o.Queues {
		if err := d.EnsureQueues(ctx); err != nil {
			d.Down()
			return nil, err
		}
	}
	return d, nil
}

// EnsureQueues creates the queue and its DLQ (again, after a restart of the
// in-memory SQS server).
func (d *Deps) EnsureQueues(ctx context.Context) error {
	client, err := sqsqueue.NewClient(ctx, sqsqueue.ClientConfig{Region: Region, Endpoint: d.SQS.Endpoint()})
	if err != nil {
		return err
	}
	d.QueueURL, d.DLQURL, err = sqsqueue.Ensure(ctx, client, sqsqueue.QueueSpec{
		Name: QueueName, DLQName: DLQName,
		MaxReceiveCount:   cmp.Or(d.MaxReceiveCount, MaxReceiveCount),
		VisibilityTimeout: cmp.Or(d.VisibilityTimeout, VisibilityTimeout),
	})
	return err
}

// SuperviseSQS restarts the local SQS whenever it exits, until ctx is done,
// and creates the queues again. The server keeps messages in memory, so a
// restart loses every message of both queues: each restart says so on log.
func (d *Deps) SuperviseSQS(ctx context.Context, log io.Writer) {
	for exitedBeforeDone(ctx, d.SQS.Exited()) {
		fmt.Fprintf(log, "supervisor: the local SQS exited: restarting it. It keeps messages in memory: "+
			"every message in %s (accepted numbers not yet stored) and in %s (dead letters) is lost\n", QueueName, DLQName)
		for {
			err := d.SQS.Restart(ctx)
			select {
			case <-d.SQS.Exited():
			default:
				// Running: create the queues; a failure retries this, not
				// the server.
				err = d.EnsureQueues(ctx)
			}
			if err == nil || ctx.Err() != nil {
				break
			}
			fmt.Fprintln(log, "supervisor: the local SQS did not come back:", err, "(retrying in 1s)")
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		if ctx.Err() != nil {
			return
		}
		fmt.Fprintf(log, "supervisor: the local SQS is back with empty queues %s and %s\n", QueueName, DLQName)
	}
}

// SupervisePG restarts Postgres whenever it exits, until ctx is done, as
// RDS restarts a failed instance; logPath, where its own lines go, is named
// on log.
func (d *Deps) SupervisePG(ctx context.Context, log io.Writer, logPath string) {
	for exitedBeforeDone(ctx, d.PG.Exited()) {
		fmt.Fprintln(log, "supervisor: Postgres exited (see "+logPath+"): restarting it")
		if err := d.PG.Restart(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintln(log, "supervisor: Postgres did not restart:", err)
			time.Sleep(time.Second)
		}
	}
}

// exitedBeforeDone waits until a server has exited or ctx is done: true
// for the first (the server is to be restarted).
func exitedBeforeDone(ctx context.Context, exited <-chan struct{}) bool {
	select {
	case <-exited:
	case <-ctx.Done():
	}
	return ctx.Err() == nil
}

// Down stops both servers.
func (d *Deps) Down() {
	if d.SQS != nil {
		d.SQS.Stop()
	}
	if d.PG != nil {
		d.PG.Stop()
	}
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// PickPort returns want if it is free; if it is taken, a free port when
// fallback is true, or an error naming the variable that set it.
func PickPort(want int, variable string, fallback bool) (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(want))
	if err == nil {
		ln.Close()
		return want, nil
	}
	if !fallback {
		return 0, fmt.Errorf("port %d (%s) is taken: stop what uses it or set %s to a free port", want, variable, variable)
	}
	return FreePort()
}

// ErrExited is returned by Process.Run when restarts are disabled.
var ErrExited = errors.New("process exited")

// Env is the configuration the proxy and the worker need to run against
// these dependencies, listening on httpAddr, as KEY=VALUE entries (for a
// process's environment and for .local/stack.env).
func (d *Deps) Env(httpAddr string) []string {
	return Endpoints{DatabaseURL: d.PG.URL(), SQSEndpoint: d.SQS.Endpoint(), QueueURL: d.QueueURL, DLQURL: d.DLQURL,
		HTTPAddr: httpAddr, VisibilityTimeout: d.VisibilityTimeout}.Env()
}

// Endpoints are where the proxy and the worker find their dependencies and
// where the proxy listens: what Deps.Env writes, for dependencies started
// elsewhere (the system tests use the harness's Postgres and SQS).
type Endpoints struct {
	DatabaseURL, SQSEndpoint, QueueURL, DLQURL, HTTPAddr string
	// VisibilityTimeout is the main queue's (0: the stack's default).
	VisibilityTimeout time.Duration
}

// Env returns e as KEY=VALUE entries for a process's environment.
func (e Endpoints) Env() []string {
	return []string{
		"DATABASE_URL=" + e.DatabaseURL,
		"SQS_ENDPOINT=" + e.SQSEndpoint,
		"SQS_QUEUE_URL=" + e.QueueURL,
		"SQS_DLQ_URL=" + e.DLQURL,
		"AWS_REGION=" + Region,
		"HTTP_ADDR=" + e.HTTPAddr,
		// The worker extends visibility by the queue's own timeout.
		"SQS_VISIBILITY_TIMEOUT=" + cmp.Or(e.VisibilityTimeout, VisibilityTimeout).String(),
	}
}
