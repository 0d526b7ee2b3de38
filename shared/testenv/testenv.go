// Package testenv gives tests real dependencies: a fresh Postgres database
// and fresh SQS queues per test, on the servers that `make test` starts
// (see local/main.go), dropped when the test ends.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rs/zerolog"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// Variables `make test` sets.
const (
	EnvDatabaseURL = "NUMBERS_TEST_DATABASE_URL"
	EnvSQSEndpoint = "NUMBERS_TEST_SQS_ENDPOINT"
	EnvRoot        = "NUMBERS_TEST_ROOT"
)

func need(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: this test needs the real Postgres and local SQS that `make test` starts "+
			"(or run: go run ./local test -- go test ./...)", name)
	}
	return v
}

func suffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Root is the repository root.
func Root(t testing.TB) string { return need(t, EnvRoot) }

// DatabaseURL creates an empty database for this test and returns its URL.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	admin := need(t, EnvDatabaseURL)
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(admin)))
	t.Cleanup(func() { db.Close() })
	name := "t_" + suffix()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Store opens a migrated store on a fresh database.
func Store(t testing.TB) *pgstore.Store {
	t.Helper()
	return StoreAt(t, DatabaseURL(t))
}

// StoreAt opens a migrated store on the database at url.
func StoreAt(t testing.TB, url string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(pgstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// SQSEndpoint is the local SQS server's URL.
func SQSEndpoint(t testing.TB) string { return need(t, EnvSQSEndpoint) }

// SQSClient is a client for the local SQS server.
func SQSClient(t testing.TB) *sqs.Client {
	t.Helper()
	c, err := sqsqueue.NewClient(context.Background(), sqsqueue.ClientConfig{Endpoint: SQSEndpoint(t)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Queues are a fresh main queue and its dead-letter queue.
type Queues struct {
	Client    *sqs.Client
	Main, DLQ sqsqueue.Queue
	Spec      sqsqueue.QueueSpec
}

// NewQueues creates a main queue with a redrive policy to a fresh DLQ on the
// shared local SQS server.
func NewQueues(t testing.TB, maxReceive int, visibility time.Duration) Queues {
	t.Helper()
	return NewQueuesAt(t, SQSEndpoint(t), maxReceive, visibility)
}

// NewQueuesAt is NewQueues on the SQS server at endpoint.
func NewQueuesAt(t testing.TB, endpoint string, maxReceive int, visibility time.Duration) Queues {
	t.Helper()
	c, err := sqsqueue.NewClient(context.Background(), sqsqueue.ClientConfig{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	name := "t-" + suffix()
	spec := sqsqueue.QueueSpec{Name: name, DLQName: name + "-dlq", MaxReceiveCount: maxReceive, VisibilityTimeout: visibility}
	mainURL, dlqURL, err := sqsqueue.Ensure(context.Background(), c, spec)
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	t.Cleanup(func() {
		for _, u := range []string{mainURL, dlqURL} {
			_, _ = c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return Queues{Client: c, Main: sqsqueue.Queue{API: c, URL: mainURL}, DLQ: sqsqueue.Queue{API: c, URL: dlqURL}, Spec: spec}
}

// Logger writes to the test log.
func Logger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// Eventually polls cond every 20ms until it is true or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// IsLocal reports whether a URL points at loopback (guards destructive tests).
func IsLocal(u string) bool {
	return strings.Contains(u, "127.0.0.1") || strings.Contains(u, "localhost")
}

// LogWriter sends what is written to it (a process's output) to the test
// log, a line per write, shown on failure or with -v.
func LogWriter(t testing.TB) io.Writer { return logWriter{t: t} }

// logWriter needs no lock of its own: t.Log may be called from several
// goroutines at once.
type logWriter struct{ t testing.TB }

func (l logWriter) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
