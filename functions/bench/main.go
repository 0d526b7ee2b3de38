// Command bench measures the Lambda functions (under the Runtime Interface
// Emulator) and the ECS binaries (proxy, worker) side by side in one run, on
// the private Postgres and local SQS of `go run ./local test`, for
// docs/lambda-vs-ecs.md. Run it with `make lambda-bench`.
//
// main.go: flags and the run; target.go: one process under test with its
// own database and queues; http.go and sqs.go: the two measurements;
// cost.go: the cost model (-cost, no stack needed).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/numbers-app/numbers/loadtest/measure"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
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
	o.root = os.Getenv(testenv.EnvRoot)
	b, err := newBench(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bench: %d runs; %d warm requests per latency run; %d messages per throughput run; load average %s\n",
		o.runs, o.requests, o.messages, measure.LoadAvg())
	defer os.RemoveAll(b.tmp)
	defer b.store.Close()
	if err := b.all(ctx, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nload average at the end: %s\n", measure.LoadAvg())
	return nil
}

type bench struct {
	o        opts
	adminURL string
	sqsURL   string
	client   *sqs.Client
	events   map[string][]byte
	tmp      string         // the processes' output files
	store    *pgstore.Store // the one database the targets share, in turn
}

func newBench(ctx context.Context, o opts) (*bench, error) {
	admin, endpoint := os.Getenv(testenv.EnvDatabaseURL), os.Getenv(testenv.EnvSQSEndpoint)
	if admin == "" || endpoint == "" || o.root == "" {
		return nil, errors.New("run me under `go run ./local test -- ...` (make lambda-bench)")
	}
	events := map[string][]byte{}
	for _, name := range []string{"apigw-v2-post.json", "apigw-v2-get.json"} {
		ev, err := os.ReadFile(filepath.Join(o.root, "functions", "testdata", name))
		if err != nil {
			return nil, err
		}
		events[name] = ev
	}
	client, err := sqsqueue.NewClient(ctx, sqsqueue.ClientConfig{Endpoint: endpoint})
	if err != nil {
		return nil, err
	}
	store, err := pgstore.Open(pgstore.Config{URL: admin}) //nolint:contextcheck // Open builds a pool: its connections outlive this call and take their contexts per query
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "lambda-bench-")
	if err != nil {
		store.Close()
		return nil, err
	}
	return &bench{o: o, adminURL: admin, sqsURL: endpoint, client: client, events: events, tmp: tmp, store: store}, nil
}

func (b *bench) all(ctx context.Context, out io.Writer) error {
	if err := b.httpPart(ctx, out); err != nil {
		return err
	}
	return b.sqsPart(ctx, out)
}

// stats are one figure's values, a value per run.
type stats struct{ vals []float64 }

func (s *stats) add(v float64)   { s.vals = append(s.vals, v) }
func (s *stats) median() float64 { return measure.Median(s.vals) }
func (s *stats) String() string {
	parts := make([]string, len(s.vals))
	for i, v := range s.vals {
		parts[i] = strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strings.Join(parts, " ")
}

func get(m map[string]*stats, k string) *stats {
	if m[k] == nil {
		m[k] = &stats{}
	}
	return m[k]
}

func ms(d time.Duration) float64 { return measure.Ms(d) }
