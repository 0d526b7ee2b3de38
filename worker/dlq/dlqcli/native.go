package dlqcli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/numbers-app/numbers/worker/dlq"
)

// MoveAPI is the part of the SQS client the native move path uses.
type MoveAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	StartMessageMoveTask(ctx context.Context, in *sqs.StartMessageMoveTaskInput, optFns ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error)
	ListMessageMoveTasks(ctx context.Context, in *sqs.ListMessageMoveTasksInput, optFns ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error)
}

var _ MoveAPI = (*sqs.Client)(nil)

// errNativeLocal explains why the native path is AWS only.
var errNativeLocal = errors.New("the native move task needs real AWS: the local SQS (fauxqs) has no " +
	"StartMessageMoveTask/ListMessageMoveTasks; run `worker dlq replay` without --native")

func queueARN(ctx context.Context, api MoveAPI, url string) (string, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("queue arn of %s: %w", url, err)
	}
	return out.Attributes[string(types.QueueAttributeNameQueueArn)], nil
}

// runNative starts an SQS message move task from the DLQ to the main queue
// and follows it until it ends (Ctrl-C stops following, not the task).
func (c *replayCmd) runNative(ctx context.Context, a *app, filter dlq.Filter) error {
	switch {
	case a.target.Local():
		return errNativeLocal
	case !filter.Empty():
		return errors.New("--native moves everything: it cannot take --filter (drop --native to filter)")
	case c.DryRun:
		return errors.New("--native has no dry run: use `replay --dry-run` without --native to list what would move")
	case c.Max != 0:
		return errors.New("--native moves everything: it cannot take --max")
	case c.Rate < 0 || c.Rate > 500:
		return errors.New("--native: --rate must be 0 (SQS decides) to 500 messages per second")
	}
	src, err := queueARN(ctx, a.moves, a.target.DLQURL)
	if err != nil {
		return err
	}
	dst, err := queueARN(ctx, a.moves, a.target.QueueURL)
	if err != nil {
		return err
	}
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(src), DestinationArn: aws.String(dst)}
	if c.Rate > 0 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(c.Rate))
	}
	started, err := a.moves.StartMessageMoveTask(ctx, in)
	if err != nil {
		return fmt.Errorf("start message move task: %w", err)
	}
	handle := aws.ToString(started.TaskHandle)
	fmt.Fprintf(a.stdout, "started native move task %s -> %s\n  task handle %s\n"+
		"  (no replay_count is added and no replay cap applies on this path)\n", src, dst, handle)
	for {
		tasks, err := listMoveTasks(ctx, a.moves, src, 1)
		if err != nil {
			return err
		}
		if len(tasks) > 0 {
			t := tasks[0]
			fmt.Fprintf(a.stderr, "  %s: %d of %d moved\n", t.Status, t.Moved, t.ToMove)
			switch t.Status {
			case "COMPLETED":
				fmt.Fprintf(a.stdout, "native move task completed: %d messages moved\n", t.Moved)
				return nil
			case "FAILED", "CANCELLED":
				return fmt.Errorf("native move task %s after %d moved: %s", t.Status, t.Moved, t.FailureReason)
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(a.stdout, "stopped following; the task keeps running on AWS (`worker dlq move-tasks` shows it; "+
				"`aws sqs cancel-message-move-task --task-handle %s` stops it)\n", handle)
			return ctx.Err()
		case <-time.After(a.pollEvery):
		}
	}
}

// MoveTask is a native message move task as move-tasks shows it.
type MoveTask struct {
	Status        string    `json:"status"`
	Source        string    `json:"source_arn"`
	Destination   string    `json:"destination_arn,omitempty"`
	Moved         int64     `json:"moved"`
	ToMove        int64     `json:"to_move"`
	MaxPerSecond  int32     `json:"max_per_second,omitempty"`
	StartedAt     time.Time `json:"started_at"`
	FailureReason string    `json:"failure_reason,omitempty"`
	TaskHandle    string    `json:"task_handle,omitempty"`
}

func listMoveTasks(ctx context.Context, api MoveAPI, src string, max int32) ([]MoveTask, error) {
	out, err := api.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(src), MaxResults: aws.Int32(max)})
	if err != nil {
		return nil, fmt.Errorf("list message move tasks: %w", err)
	}
	tasks := make([]MoveTask, len(out.Results))
	for i, r := range out.Results {
		tasks[i] = MoveTask{
			Status: aws.ToString(r.Status), Source: aws.ToString(r.SourceArn), Destination: aws.ToString(r.DestinationArn),
			Moved: r.ApproximateNumberOfMessagesMoved, ToMove: aws.ToInt64(r.ApproximateNumberOfMessagesToMove),
			MaxPerSecond: aws.ToInt32(r.MaxNumberOfMessagesPerSecond), StartedAt: time.UnixMilli(r.StartedTimestamp).UTC(),
			FailureReason: aws.ToString(r.FailureReason), TaskHandle: aws.ToString(r.TaskHandle),
		}
	}
	return tasks, nil
}

// moveTasksCmd is `worker dlq move-tasks`.
type moveTasksCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *moveTasksCmd) Run(ctx context.Context, a *app) error {
	if a.target.Local() {
		return errNativeLocal
	}
	src, err := queueARN(ctx, a.moves, a.target.DLQURL)
	if err != nil {
		return err
	}
	tasks, err := listMoveTasks(ctx, a.moves, src, 10)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(tasks)
	}
	if len(tasks) == 0 {
		fmt.Fprintf(a.stdout, "no message move tasks from %s in the last 14 days\n", src)
	}
	for _, t := range tasks {
		fmt.Fprintf(a.stdout, "%-10s %d/%d moved  started %s  -> %s", t.Status, t.Moved, t.ToMove, t.StartedAt.Format(time.RFC3339), t.Destination)
		if t.FailureReason != "" {
			fmt.Fprintf(a.stdout, "  failure: %s", t.FailureReason)
		}
		if t.TaskHandle != "" {
			fmt.Fprintf(a.stdout, "  handle %s", t.TaskHandle)
		}
		fmt.Fprintln(a.stdout)
	}
	return nil
}
