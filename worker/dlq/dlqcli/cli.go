// Package dlqcli is the operator command line for the dead-letter queue,
// over the engine in package dlq:
// `worker dlq stats|peek|replay|export|import|purge|move-tasks`.
// See README.md beside this file.
package dlqcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/alecthomas/kong"

	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/worker/dlq"
)

// Run runs one `worker dlq` subcommand (args without "dlq"). cfg is the
// configuration the caller parsed from the environment; getenv is asked
// only for LOCAL_STATE_DIR, to find the local stack's stack.env when no
// queue is configured.
func Run(ctx context.Context, args []string, cfg config.Common, getenv func(string) string, stdout, stderr io.Writer) error {
	return run(ctx, args, stdout, stderr, func(ctx context.Context, fl targetFlags) (*app, error) {
		t, err := resolveTarget(cfg, fl, getenv)
		if err != nil {
			return nil, err
		}
		client, err := sqsqueue.NewClient(ctx, sqsqueue.ClientConfig{Region: t.Region, Endpoint: t.Endpoint})
		if err != nil {
			return nil, err
		}
		a := &app{target: t, dlq: sqsqueue.Queue{API: client, URL: t.DLQURL}, moves: client}
		if t.QueueURL != "" {
			a.main = sqsqueue.Queue{API: client, URL: t.QueueURL}
		}
		return a, nil
	})
}

// app is what every command runs with.
type app struct {
	target Target
	dlq    dlq.Queue
	main   dlq.Queue // nil when no main queue is configured
	moves  MoveAPI
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	// pollEvery paces the native move task's status. Defaults to 5s.
	pollEvery time.Duration
}

func (a *app) needMain(what string) (dlq.Queue, error) {
	if a.main == nil {
		return nil, fmt.Errorf("%s needs the main queue: set SQS_QUEUE_URL or pass --queue-url", what)
	}
	if a.target.QueueURL == a.target.DLQURL {
		return nil, fmt.Errorf("%s: the main queue and the dead-letter queue are the same URL", what)
	}
	return a.main, nil
}

// cli is the command line, parsed by kong.
type cli struct {
	DLQURL   string `name:"dlq-url" placeholder:"URL" help:"Dead-letter queue URL (default: SQS_DLQ_URL, else the local stack's)."`
	QueueURL string `name:"queue-url" placeholder:"URL" help:"Main queue URL (default: SQS_QUEUE_URL, else the local stack's)."`
	Endpoint string `name:"endpoint" placeholder:"URL" help:"SQS endpoint of a local server (default: SQS_ENDPOINT; empty means AWS)."`
	Region   string `name:"region" help:"AWS region (default: AWS_REGION)."`
	StackEnv string `name:"stack-env" placeholder:"FILE" help:"The local stack's env file (default: $LOCAL_STATE_DIR/stack.env, else .local/stack.env, read when no DLQ URL is set)."`

	Stats     statsCmd     `cmd:"" help:"Counts of the dead-letter queue and the main queue, and the oldest message's age."`
	Peek      peekCmd      `cmd:"" help:"Show messages with their attributes and failure reason, without consuming them."`
	Replay    replayCmd    `cmd:"" help:"Move messages back to the main queue (send first, delete after)."`
	Export    exportCmd    `cmd:"" help:"Write the messages to a JSON Lines file without consuming them."`
	Import    importCmd    `cmd:"" help:"Put the messages of a JSON Lines file into the dead-letter queue."`
	Purge     purgeCmd     `cmd:"" help:"Delete every message of the dead-letter queue (needs --yes)."`
	MoveTasks moveTasksCmd `cmd:"" name:"move-tasks" help:"List SQS's native message move tasks from the dead-letter queue (AWS only)."`
}

// run parses args and runs the command; connect builds the app from the
// target flags (tests swap it).
func run(ctx context.Context, args []string, stdout, stderr io.Writer,
	connect func(context.Context, targetFlags) (*app, error)) error {
	if len(args) == 0 {
		args = []string{"--help"}
	}
	var c cli
	exited, exitCode := false, 0
	parser, err := kong.New(&c,
		kong.Name("worker dlq"),
		kong.Description("Operate the dead-letter queue: inspect, replay, archive and restore, purge."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exited, exitCode = true, code }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		return fmt.Errorf("dlq: %w", err)
	}
	kctx, err := parser.Parse(args)
	if exited && exitCode == 0 {
		return nil // --help was printed
	}
	if err != nil {
		return fmt.Errorf("dlq: %w (see `worker dlq --help`)", err)
	}
	a, err := connect(ctx, targetFlags{DLQURL: c.DLQURL, QueueURL: c.QueueURL, Endpoint: c.Endpoint, Region: c.Region, StackEnv: c.StackEnv})
	if err != nil {
		return fmt.Errorf("dlq: %w", err)
	}
	a.stdout, a.stderr = stdout, stderr
	if f := a.target.From; f != "environment" && f != "flags" {
		fmt.Fprintf(stderr, "dlq: queues of the local stack, from %s\n", f)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.pollEvery == 0 {
		a.pollEvery = 5 * time.Second
	}
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(a); err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("dlq %s: interrupted", kctx.Command())
		}
		return fmt.Errorf("dlq %s: %w", kctx.Command(), err)
	}
	return nil
}
