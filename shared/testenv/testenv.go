// Package testenv gives tests real dependencies: a fresh Postgres database
// and fresh SQS queues per test, on the servers that `make test` starts
// (see local/main.go), dropped when the test ends.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rs/zerolog"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/message"
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
	db := OpenDB(t, admin)
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

// OpenDB is a plain database/sql connection to the database at url, for
// statements the store does not offer; it is closed when the test ends.
func OpenDB(t testing.TB, url string) *sql.DB {
	t.Helper()
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(url)))
	t.Cleanup(func() { db.Close() })
	return db
}

// SetReadOnly makes new sessions of the database at dbURL (one of
// DatabaseURL's) refuse writes, as a database does during a failover. It
// touches only that database, not the cluster the other tests share.
func SetReadOnly(t testing.TB, dbURL string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := strings.TrimPrefix(u.Path, "/")
	if _, err := OpenDB(t, dbURL).ExecContext(ctx, `ALTER DATABASE "`+name+`" SET default_transaction_read_only = on`); err != nil {
		t.Fatalf("make the database read-only: %v", err)
	}
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

// Environ is the environment a service (the proxy, the worker, a
// function) reads to reach a fresh database and the queues q, with extra
// set on top.
func Environ(t testing.TB, q Queues, extra map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL":  DatabaseURL(t),
		"SQS_ENDPOINT":  SQSEndpoint(t),
		"SQS_QUEUE_URL": q.Main.URL,
		"SQS_DLQ_URL":   q.DLQ.URL,
		"AWS_REGION":    "us-east-1",
	}
	maps.Copy(env, extra)
	return env
}

// Common is the configuration every service shares, pointing at the
// database at dbURL ("" for none) and the queues q.
func Common(t testing.TB, dbURL string, q Queues) config.Common {
	t.Helper()
	return config.Common{DatabaseURL: dbURL, DBMaxConns: 4, AWSRegion: "us-east-1", SQSEndpoint: SQSEndpoint(t),
		QueueURL: q.Main.URL, DLQURL: q.DLQ.URL}
}

// Bodies are the sorted bodies of msgs.
func Bodies(msgs []message.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Body
	}
	sort.Strings(out)
	return out
}

// Logger writes to the test log.
func Logger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// Readiness is what the proxy's GET /readyz answers.
type Readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// GetReadiness asks the proxy at baseURL for /readyz and returns the
// status code and the answer; why says what the test expects of it.
func GetReadiness(t testing.TB, client *http.Client, baseURL, why string) (int, Readiness) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, baseURL+"/readyz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", why, err)
	}
	defer resp.Body.Close()
	var ready Readiness
	if err := json.NewDecoder(resp.Body).Decode(&ready); err != nil {
		t.Fatalf("%s: the answer is not readiness JSON: %v", why, err)
	}
	return resp.StatusCode, ready
}

// ReceiveFor receives everything q delivers within d (long polls of a
// second), as delivered: a message may come twice, and one whose
// ReceiveMessage answer was lost comes only after the queue's visibility
// timeout, so d shorter than that proves nothing was sent. It is for
// absence checks: "nothing (more) came" within d. To wait for messages
// that should be there, use ReceiveAll or ReceiveUntil.
func ReceiveFor(t testing.TB, q sqsqueue.Queue, d time.Duration) []message.Message {
	t.Helper()
	var got []message.Message
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		msgs, err := q.Receive(context.Background(), 10, time.Second)
		if err != nil {
			t.Fatalf("receive from %s: %v", q.URL, err)
		}
		got = append(got, msgs...)
	}
	return got
}

// DLQVisibility is the visibility timeout of the dead-letter queues
// NewQueues makes: sqsqueue.Ensure gives them none, so they have SQS's
// default (and the local SQS server's), 30 s.
const DLQVisibility = 30 * time.Second

// ReceiveMargin is what a wait for messages allows beyond the visibility
// timeout of their queue: time for a long poll (a second) to find them
// once they are visible again, and for a busy machine to be slow at it.
const ReceiveMargin = 10 * time.Second

// MainWait is the wait to give ReceiveAll and ReceiveUntil on qs.Main: its
// visibility timeout (the one NewQueues was given) plus ReceiveMargin.
func (qs Queues) MainWait() time.Duration { return qs.Spec.VisibilityTimeout + ReceiveMargin }

// DLQWait is the wait to give ReceiveAll and ReceiveUntil on qs.DLQ:
// DLQVisibility plus ReceiveMargin.
func (qs Queues) DLQWait() time.Duration { return DLQVisibility + ReceiveMargin }

// ReceiveUntil receives from q (long polls of a second) until done says
// the messages received so far are all there, or wait has passed, and
// returns them in the order they first came. It deletes nothing: they
// stay in flight for the queue's visibility timeout.
//
// Delivery is at-least-once. When a ReceiveMessage answer is lost (the
// local SQS server cuts one now and then on a busy machine; the SDK warns
// "failed to discard remaining HTTP response body … use of closed network
// connection" and retries the call), the messages of that answer stay
// invisible for the queue's visibility timeout and then come again, with
// the same SQS message ID. So:
//   - a message counts once, by its ID (message.Message.ID); when it comes
//     again, the later delivery takes the place of the earlier one, since
//     only its receipt handle and receive count are current;
//   - wait must outlast the visibility timeout of q's queue: for queues
//     of NewQueues, the visibility it was given for Main (Queues.MainWait)
//     and DLQVisibility for DLQ (Queues.DLQWait), each plus ReceiveMargin.
//     A shorter wait gives up on messages that are only late.
//
// done is called with the messages so far, first with none; it must not
// keep or change the slice.
func ReceiveUntil(t testing.TB, q sqsqueue.Queue, wait time.Duration, done func(got []message.Message) bool) []message.Message {
	t.Helper()
	var got []message.Message
	at := map[string]int{} // message ID -> index in got
	deadline := time.Now().Add(wait)
	for !done(got) {
		if !time.Now().Before(deadline) {
			t.Logf("received %d distinct messages from %s; gave up after %s", len(got), q.URL, wait)
			break
		}
		msgs, err := q.Receive(context.Background(), 10, time.Second)
		if err != nil {
			t.Fatalf("receive from %s: %v", q.URL, err)
		}
		for _, m := range msgs {
			if i, ok := at[m.ID]; ok {
				got[i] = m
				continue
			}
			at[m.ID] = len(got)
			got = append(got, m)
		}
	}
	return got
}

// ReceiveAll is ReceiveUntil until want distinct messages have come (it
// may return more, when more were there). wait follows ReceiveUntil's
// rule: past the queue's visibility timeout (Queues.MainWait, DLQWait).
func ReceiveAll(t testing.TB, q sqsqueue.Queue, want int, wait time.Duration) []message.Message {
	t.Helper()
	return ReceiveUntil(t, q, wait, func(got []message.Message) bool { return len(got) >= want })
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

// Distinct runs f(0) to f(n-1) at once, each in its own goroutine, and
// returns the set of their answers once all have returned.
func Distinct(n int, f func(i int) string) map[string]bool {
	var wg sync.WaitGroup
	answers := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers <- f(i)
		}()
	}
	wg.Wait()
	close(answers)
	distinct := map[string]bool{}
	for a := range answers {
		distinct[a] = true
	}
	return distinct
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
