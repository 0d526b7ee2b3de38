package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"

	"github.com/numbers-app/numbers/loadtest/measure"
	"github.com/numbers-app/numbers/local/stack"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/procstop"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// target is one process under test with its own queues.
type target struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	out     string // the process's output file
	exited  chan error
	addr    string // HTTP address (proxy) or emulator address (functions)
	store   *pgstore.Store
	queue   sqsqueue.Queue
	cleanup []func()
}

func (t *target) stop() {
	if t.cmd != nil && t.cmd.Process != nil {
		// How it exited no longer matters.
		procstop.Stop(t.cmd.Process, syscall.SIGTERM, t.exited, 10*time.Second)
	}
	for i := len(t.cleanup) - 1; i >= 0; i-- {
		t.cleanup[i]()
	}
}

// memory returns the peak resident set (VmHWM, bytes) of the process that
// does the work: the binary itself, or for the emulator its bootstrap child.
func (t *target) memory() (worker, emulator int64) {
	pid := t.cmd.Process.Pid
	if t.isRIE() {
		emulator, _ = measure.PeakRSS(pid)
		if cs := measure.Children(pid); len(cs) > 0 {
			worker, _ = measure.PeakRSS(cs[0].PID)
		}
		return worker, emulator
	}
	worker, _ = measure.PeakRSS(pid)
	return worker, 0
}

func (t *target) isRIE() bool { return strings.HasPrefix(t.name, "lambda") }

func (b *bench) newTarget(ctx context.Context, name string) (*target, error) {
	t := &target{name: name, out: filepath.Join(b.tmp, name+"-"+uuid.NewString()[:8]+".log"), exited: make(chan error, 1)}
	// Targets run one at a time on one database, emptied for each.
	if _, err := b.store.DB().ExecContext(ctx, `TRUNCATE numbers`); err != nil {
		return nil, fmt.Errorf("empty the numbers table: %w", err)
	}
	t.store = b.store
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
	if t.addr, err = freeAddr(); err != nil {
		return nil, err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DATABASE_URL=" + b.adminURL, "SQS_ENDPOINT=" + b.sqsURL, "SQS_QUEUE_URL=" + mainURL, "SQS_DLQ_URL=" + dlqURL,
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
		runtimeAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		t.cmd = exec.Command(b.o.rie, "--log-level", "info", "--runtime-interface-emulator-address", t.addr,
			"--runtime-api-address", runtimeAddr, filepath.Join(b.o.lambdaDir, fn, "bootstrap"))
		env = append(env, "AWS_LAMBDA_FUNCTION_TIMEOUT=60")
	default:
		return nil, fmt.Errorf("unknown target %s", name)
	}
	t.cmd.Env = env
	return t, nil
}

func (t *target) start() error {
	// A file, not a pipe: the process writes to it directly, and it is
	// read back (output) while the process runs.
	f, err := os.Create(t.out)
	if err != nil {
		return err
	}
	t.cmd.Stdout, t.cmd.Stderr = f, f
	t.started = time.Now()
	err = t.cmd.Start()
	f.Close() // the child has its own descriptor
	if err != nil {
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
			return 0, fmt.Errorf("%s: %w\n%s", t.name, err, t.output())
		}
		select {
		case e := <-t.exited:
			return 0, fmt.Errorf("%s exited: %w\n%s", t.name, e, t.output())
		case <-time.After(time.Millisecond):
		}
	}
}

// The emulator's own "Init Duration" is ~0.02 ms (its INIT is a no-op: the
// bootstrap's INIT runs inside the first invoke), so the first REPORT's
// Duration, which holds INIT and the first invocation, is what is read.
var initDuration = regexp.MustCompile(`REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms`)

func (t *target) reportedInit() float64 {
	m := initDuration.FindStringSubmatch(t.output())
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// output is what the process has written so far.
func (t *target) output() string {
	b, _ := os.ReadFile(t.out)
	return string(b)
}

func freeAddr() (string, error) {
	port, err := stack.FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(port), nil
}
