// Command bench measures the Lambda functions (under the Runtime Interface
// Emulator) and the ECS binaries (proxy, worker) side by side in one run, on
// the private Postgres and local SQS of `go run ./local test`, for
// docs/lambda-vs-ecs.md. Run it with `make lambda-bench`.
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/uptrace/bun/driver/pgdriver"

	evs "github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type opts struct {
	bin, lambdaDir, rie, root string
	runs, requests, messages  int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o opts
	fs.StringVar(&o.bin, "bin", "build/bench", "directory holding the proxy and worker binaries")
	fs.StringVar(&o.lambdaDir, "lambda", "build/lambda/native", "directory holding http/bootstrap and sqs/bootstrap")
	fs.StringVar(&o.rie, "rie", "build/tools/aws-lambda-rie", "the aws-lambda-rie binary")
	fs.IntVar(&o.runs, "runs", 5, "repetitions of each measurement")
	fs.IntVar(&o.requests, "requests", 1000, "sequential requests per warm-latency run")
	fs.IntVar(&o.messages, "messages", 20000, "messages per throughput run")
	cost := fs.Bool("cost", false, "print the monthly cost model and exit (needs no running stack)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cost {
		costTable(out)
		return nil
	}
	for _, p := range []*string{&o.bin, &o.lambdaDir, &o.rie} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	o.root = os.Getenv("NUMBERS_TEST_ROOT")
	b, err := newBench(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench: %d runs; %d warm requests per latency run; %d messages per throughput run; load average %s\n",
		o.runs, o.requests, o.messages, loadavg())
	if err := b.all(ctx, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nload average at the end: %s\n", loadavg())
	return nil
}

type bench struct {
	o        opts
	adminURL string
	sqsURL   string
	client   *sqs.Client
	events   map[string][]byte
}

func newBench(ctx context.Context, o opts) (*bench, error) {
	admin, endpoint := os.Getenv("NUMBERS_TEST_DATABASE_URL"), os.Getenv("NUMBERS_TEST_SQS_ENDPOINT")
	if admin == "" || endpoint == "" || o.root == "" {
		return nil, errors.New("run me under `go run ./local test -- ...` (make lambda-bench)")
	}
	client, err := sqsqueue.NewClient(ctx, sqsqueue.ClientConfig{Endpoint: endpoint})
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, adminURL: admin, sqsURL: endpoint, client: client, events: map[string][]byte{}}
	for _, name := range []string{"apigw-v2-post.json", "apigw-v2-get.json"} {
		ev, err := os.ReadFile(filepath.Join(o.root, "functions", "testdata", name))
		if err != nil {
			return nil, err
		}
		b.events[name] = ev
	}
	return b, nil
}

// target is one process under test with its own database and queues.
type target struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	out     *syncBuffer
	exited  chan error
	addr    string // HTTP address (proxy) or emulator address (functions)
	store   *pgstore.Store
	queue   sqsqueue.Queue
	cleanup []func()
}

func (t *target) stop() {
	if t.cmd != nil && t.cmd.Process != nil {
		_ = t.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-t.exited:
		case <-time.After(10 * time.Second):
			_ = t.cmd.Process.Kill()
			<-t.exited
		}
	}
	for i := len(t.cleanup) - 1; i >= 0; i-- {
		t.cleanup[i]()
	}
}

// memory returns the peak resident set (VmHWM) of the process that does the
// work: the binary itself, or for the emulator its bootstrap child.
func (t *target) memory() (worker, emulator int64) {
	pid := t.cmd.Process.Pid
	if t.isRIE() {
		emulator = vmHWM(pid)
		if c := childOf(pid); c > 0 {
			worker = vmHWM(c)
		}
		return worker, emulator
	}
	return vmHWM(pid), 0
}

func (t *target) isRIE() bool { return strings.HasPrefix(t.name, "lambda") }

func (b *bench) newTarget(ctx context.Context, name string) (*target, error) {
	t := &target{name: name, out: &syncBuffer{}, exited: make(chan error, 1)}
	dbURL, drop, err := b.newDatabase(ctx)
	if err != nil {
		return nil, err
	}
	t.cleanup = append(t.cleanup, drop)
	if t.store, err = pgstore.Open(pgstore.Config{URL: dbURL}); err != nil {
		return nil, err
	}
	t.cleanup = append(t.cleanup, func() { t.store.Close() })
	if _, err := t.store.Migrate(ctx); err != nil {
		return nil, err
	}
	qname := "bench-" + uuid.NewString()[:8]
	mainURL, dlqURL, err := sqsqueue.Ensure(ctx, b.client, sqsqueue.QueueSpec{Name: qname, DLQName: qname + "-dlq", MaxReceiveCount: 5, VisibilityTimeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	t.cleanup = append(t.cleanup, func() {
		for _, u := range []string{mainURL, dlqURL} {
			_, _ = b.client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	t.queue = sqsqueue.Queue{API: b.client, URL: mainURL}
	t.addr = freeAddr()
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DATABASE_URL=" + dbURL, "SQS_ENDPOINT=" + b.sqsURL, "SQS_QUEUE_URL=" + mainURL, "SQS_DLQ_URL=" + dlqURL,
		"AWS_REGION=us-east-1", "MIGRATE=false", "LOG_LEVEL=warn", "LOG_FORMAT=json",
	}
	switch name {
	case "proxy", "proxy-linger-off":
		t.cmd = exec.Command(filepath.Join(b.o.bin, "proxy"))
		env = append(env, "HTTP_ADDR="+t.addr)
		if name == "proxy-linger-off" {
			env = append(env, "SQS_SEND_LINGER=1us")
		}
	case "worker":
		t.cmd = exec.Command(filepath.Join(b.o.bin, "worker"))
	case "lambda-http", "lambda-sqs":
		fn := strings.TrimPrefix(name, "lambda-")
		t.cmd = exec.Command(b.o.rie, "--log-level", "info", "--runtime-interface-emulator-address", t.addr,
			"--runtime-api-address", freeAddr(), filepath.Join(b.o.lambdaDir, fn, "bootstrap"))
		env = append(env, "AWS_LAMBDA_FUNCTION_TIMEOUT=60")
	default:
		return nil, fmt.Errorf("unknown target %s", name)
	}
	t.cmd.Env = env
	t.cmd.Stdout, t.cmd.Stderr = t.out, t.out
	return t, nil
}

func (t *target) start() error {
	t.started = time.Now()
	if err := t.cmd.Start(); err != nil {
		return err
	}
	go func() { t.exited <- t.cmd.Wait() }()
	return nil
}

var httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

// post sends one POST /api/values to the proxy, or the format 2.0 golden
// POST event to a function through the emulator, and checks the answer.
func (b *bench) post(t *target) error {
	if t.isRIE() {
		body, err := b.invoke(t, b.events["apigw-v2-post.json"])
		if err != nil {
			return err
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("lambda POST: %s", body)
		}
		return nil
	}
	resp, err := httpClient.Post("http://"+t.addr+"/api/values", "application/json", strings.NewReader(`{"value": 42}`))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("proxy POST: %s %s", resp.Status, body)
	}
	return nil
}

func (b *bench) invoke(t *target, event []byte) ([]byte, error) {
	resp, err := httpClient.Post("http://"+t.addr+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"errorMessage"`)) {
		return nil, fmt.Errorf("invoke: %s %s", resp.Status, body)
	}
	return body, nil
}

// untilUp retries fn while the process is not listening yet.
func (t *target) untilUp(fn func() error) (time.Duration, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := fn()
		if err == nil {
			return time.Since(t.started), nil
		}
		var op *net.OpError
		if !errors.As(err, &op) || time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: %w\n%s", t.name, err, t.out.String())
		}
		select {
		case e := <-t.exited:
			return 0, fmt.Errorf("%s exited: %v\n%s", t.name, e, t.out.String())
		case <-time.After(time.Millisecond):
		}
	}
}

// The emulator's own "Init Duration" is ~0.02 ms (its INIT is a no-op: the
// bootstrap's INIT runs inside the first invoke), so the first REPORT's
// Duration, which holds INIT and the first invocation, is what is read.
var initDuration = regexp.MustCompile(`REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms`)

func (t *target) reportedInit() float64 {
	m := initDuration.FindStringSubmatch(t.out.String())
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// batchEvent builds an SQS event of n new valid number.submitted records.
func batchEvent(n int) ([]byte, error) {
	var e events.SQSEvent
	for i := 0; i < n; i++ {
		m, err := evs.Encode(number.Submission{ID: uuid.Must(uuid.NewV7()).String(), Value: int64(i), AcceptedAt: time.Now(), RequestID: "bench"})
		if err != nil {
			return nil, err
		}
		attrs := map[string]events.SQSMessageAttribute{}
		for k, v := range m.Attributes {
			attrs[k] = events.SQSMessageAttribute{StringValue: aws.String(v.StringValue), DataType: v.DataType}
		}
		e.Records = append(e.Records, events.SQSMessage{MessageId: uuid.NewString(), Body: m.Body, MessageAttributes: attrs, EventSource: "aws:sqs"})
	}
	return json.Marshal(e)
}

// fill sends n valid messages to q.
func fill(ctx context.Context, q sqsqueue.Queue, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	per := (n + 7) / 8
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for start := g * per; start < min((g+1)*per, n); start += 10 {
				var msgs []message.Message
				for i := start; i < min(start+10, (g+1)*per, n); i++ {
					m, err := evs.Encode(number.Submission{ID: uuid.Must(uuid.NewV7()).String(), Value: int64(i), AcceptedAt: time.Now(), RequestID: "bench"})
					if err != nil {
						errs <- err
						return
					}
					msgs = append(msgs, m)
				}
				if _, err := q.SendBatch(ctx, msgs); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

type stats struct{ vals []float64 }

func (s *stats) add(v float64) { s.vals = append(s.vals, v) }
func (s *stats) median() float64 {
	if len(s.vals) == 0 {
		return 0
	}
	v := append([]float64(nil), s.vals...)
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
func (s *stats) String() string {
	parts := make([]string, len(s.vals))
	for i, v := range s.vals {
		parts[i] = strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strings.Join(parts, " ")
}

func percentile(d []time.Duration, p float64) float64 {
	v := append([]time.Duration(nil), d...)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return float64(v[int(p*float64(len(v)-1))].Microseconds()) / 1000
}

func (b *bench) all(ctx context.Context, out io.Writer) error {
	// 1. Start to first response and warm latency, HTTP side.
	start := map[string]*stats{}
	lat := map[string]map[string]*stats{}
	mem := map[string]*stats{}
	rieMem := &stats{}
	reported := &stats{}
	httpNames := []string{"proxy", "proxy-linger-off", "lambda-http"}
	for run := 0; run < b.o.runs; run++ {
		for _, name := range httpNames {
			t, err := b.newTarget(ctx, name)
			if err != nil {
				return err
			}
			if err := t.start(); err != nil {
				t.stop()
				return err
			}
			d, err := t.untilUp(func() error { return b.post(t) })
			if err != nil {
				t.stop()
				return err
			}
			get(start, name).add(ms(d))
			var took []time.Duration
			for i := 0; i < b.o.requests; i++ {
				begin := time.Now()
				if err := b.post(t); err != nil {
					t.stop()
					return err
				}
				took = append(took, time.Since(begin))
			}
			if lat[name] == nil {
				lat[name] = map[string]*stats{}
			}
			for _, p := range []float64{0.5, 0.9, 0.99} {
				get(lat[name], fmt.Sprint(p)).add(percentile(took, p))
			}
			if t.isRIE() {
				// The emulator prints REPORT after it answers: read it now.
				reported.add(t.reportedInit())
			}
			w, e := t.memory()
			get(mem, name).add(float64(w) / 1024)
			if e > 0 {
				rieMem.add(float64(e) / 1024)
			}
			t.stop()
		}
	}
	fmt.Fprintln(out, "\n## HTTP: process start to first 202, then warm POST latency (ms; medians of runs, each run's values in brackets)")
	fmt.Fprintln(out, "| process | start → first 202 | warm p50 | warm p90 | warm p99 | peak RSS MiB |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	for _, n := range httpNames {
		fmt.Fprintf(out, "| %s | %.1f [%s] | %.2f [%s] | %.2f | %.2f | %.1f |\n", n, start[n].median(), start[n],
			lat[n]["0.5"].median(), lat[n]["0.5"], lat[n]["0.9"].median(), lat[n]["0.99"].median(), mem[n].median())
	}
	fmt.Fprintf(out, "emulator-reported Duration of the first invoke (bootstrap INIT + handler, ms): median %.1f [%s]; emulator's own peak RSS MiB: median %.1f\n",
		reported.median(), reported, rieMem.median())

	// 2. Start to first batch stored, and throughput, SQS side.
	first := map[string]*stats{}
	rate := map[string]*stats{}
	sqsMem := map[string]*stats{}
	sqsNames := []string{"worker", "lambda-sqs-10", "lambda-sqs-100"}
	for run := 0; run < b.o.runs; run++ {
		for _, name := range sqsNames {
			tname := name
			if strings.HasPrefix(name, "lambda-sqs") {
				tname = "lambda-sqs"
			}
			t, err := b.newTarget(ctx, tname)
			if err != nil {
				return err
			}
			if err := b.sqsRun(ctx, t, name, first, rate); err != nil {
				t.stop()
				return err
			}
			w, _ := t.memory()
			get(sqsMem, name).add(float64(w) / 1024)
			t.stop()
		}
	}
	fmt.Fprintf(out, "\n## SQS: process start to first batch of 10 stored; then messages persisted per second by one process (%d messages)\n", b.o.messages)
	fmt.Fprintln(out, "| process | start → first batch stored (ms) | messages/s | peak RSS MiB |")
	fmt.Fprintln(out, "|---|---|---|---|")
	for _, n := range sqsNames {
		fmt.Fprintf(out, "| %s | %.1f [%s] | %.0f [%s] | %.1f |\n", n, first[n].median(), first[n], rate[n].median(), rate[n], sqsMem[n].median())
	}
	return nil
}

// sqsRun measures one SQS-side target: time to store a first batch of 10
// from process start, then b.o.messages more messages.
func (b *bench) sqsRun(ctx context.Context, t *target, name string, first, rate map[string]*stats) error {
	if name == "worker" {
		// The whole backlog is queued before the worker starts, so sending
		// does not compete with it for the local SQS server.
		if err := fill(ctx, t.queue, 10+b.o.messages); err != nil {
			return err
		}
		if err := t.start(); err != nil {
			return err
		}
		if err := waitCount(ctx, t, 10, 30*time.Second); err != nil {
			return err
		}
		get(first, name).add(ms(time.Since(t.started)))
		begin := time.Now()
		if err := waitCount(ctx, t, 10+b.o.messages, 5*time.Minute); err != nil {
			return err
		}
		// The rows stored after the first 10 were counted from here on.
		get(rate, name).add(float64(b.o.messages) / time.Since(begin).Seconds())
		return nil
	}
	size := 10
	if name == "lambda-sqs-100" {
		size = 100
	}
	ev, err := batchEvent(10)
	if err != nil {
		return err
	}
	if err := t.start(); err != nil {
		return err
	}
	d, err := t.untilUp(func() error { _, err := b.invoke(t, ev); return err })
	if err != nil {
		return err
	}
	get(first, name).add(ms(d))
	batches := make([][]byte, 0, b.o.messages/size)
	for i := 0; i < b.o.messages/size; i++ {
		ev, err := batchEvent(size)
		if err != nil {
			return err
		}
		batches = append(batches, ev)
	}
	begin := time.Now()
	for _, ev := range batches {
		body, err := b.invoke(t, ev)
		if err != nil {
			return err
		}
		if !bytes.Equal(body, []byte(`{"batchItemFailures":[]}`)) {
			return fmt.Errorf("partial failure: %s", body)
		}
	}
	get(rate, name).add(float64(len(batches)*size) / time.Since(begin).Seconds())
	n, err := t.store.Count(ctx)
	if err != nil {
		return err
	}
	if n != 10+len(batches)*size {
		return fmt.Errorf("%s stored %d rows, want %d", name, n, 10+len(batches)*size)
	}
	return nil
}

func waitCount(ctx context.Context, t *target, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := t.store.Count(ctx)
		if err == nil && c >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d rows after %s, want %d\n%s", t.name, c, timeout, n, t.out.String())
		}
		select {
		case e := <-t.exited:
			return fmt.Errorf("%s exited: %v\n%s", t.name, e, t.out.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func get(m map[string]*stats, k string) *stats {
	if m[k] == nil {
		m[k] = &stats{}
	}
	return m[k]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (b *bench) newDatabase(ctx context.Context) (string, func(), error) {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(b.adminURL)))
	name := "bench_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		db.Close()
		return "", nil, err
	}
	u, err := url.Parse(b.adminURL)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
		db.Close()
	}, nil
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func vmHWM(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

func childOf(ppid int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) {
			return pid
		}
	}
	return 0
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
