package dlq

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/clock"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// DefaultMaxReplays is the default replay cap: a message whose replay_count
// has reached it is left in the dead-letter queue and reported.
const DefaultMaxReplays = 3

// dropOrder lists the attributes a replay may drop, first to last, when
// adding replay_count would pass message.MaxAttributes. They describe the last
// failure; the worker writes them again if the message fails again.
var dropOrder = []string{message.AttrDLQDetail, message.AttrDLQMessageID, message.AttrDLQFailedAt, message.AttrDLQReason}

// deleteTimeout bounds deleting a batch that was already sent, which is
// finished even after Ctrl-C so that no duplicate is left behind.
const deleteTimeout = 15 * time.Second

// ReplayConfig says what a replay moves and how fast.
type ReplayConfig struct {
	// Max is the most messages to move (or list, with DryRun). 0: all.
	Max int
	// Rate caps messages sent per second. 0: as fast as SQS answers.
	Rate float64
	// Filter selects the messages to move; the others stay.
	Filter Filter
	// DryRun lists what would move and moves nothing.
	DryRun bool
	// MaxReplays is the replay cap. Defaults to DefaultMaxReplays.
	MaxReplays int
	// Wait is the long-poll wait of each receive, whole seconds from 1 to
	// 20 (sqsqueue.MinWait, MaxWait). Defaults to DefaultWait.
	Wait time.Duration
	// Hold is how long scanned messages stay invisible. Defaults to DefaultHold.
	Hold time.Duration
}

func (c ReplayConfig) withDefaults() ReplayConfig {
	if c.MaxReplays == 0 {
		c.MaxReplays = DefaultMaxReplays
	}
	return c
}

// Validate names the first bad field.
func (c ReplayConfig) Validate() error {
	switch {
	case c.Max < 0:
		return errors.New("replay: --max must be 0 (all) or more")
	case c.Rate < 0:
		return errors.New("replay: --rate must be 0 (unlimited) or more")
	case c.MaxReplays < 1:
		return errors.New("replay: --max-replays must be at least 1")
	case c.Wait != 0 && sqsqueue.CheckWait(c.Wait) != nil:
		return fmt.Errorf("replay: --wait: %w", sqsqueue.CheckWait(c.Wait))
	}
	return nil
}

// ReplayResult counts what a replay did.
type ReplayResult struct {
	// Scanned counts distinct messages looked at.
	Scanned int `json:"scanned"`
	// Replayed were sent to the main queue and deleted from the DLQ.
	Replayed int `json:"replayed"`
	// WouldReplay is what a dry run would have moved.
	WouldReplay int `json:"would_replay"`
	// SkippedFilter did not match the filter and stayed.
	SkippedFilter int `json:"skipped_filter"`
	// SkippedCap reached the replay cap and stayed.
	SkippedCap int `json:"skipped_cap"`
	// Returned are messages this very run replayed that the worker
	// dead-lettered again before the run ended; they stay for the next run.
	Returned int `json:"returned"`
	// Failed could not be sent and stayed in the DLQ.
	Failed int `json:"failed"`
	// NotDeleted were sent but could not be deleted from the DLQ: they are
	// now in both queues (a harmless duplicate: the worker is idempotent).
	NotDeleted int `json:"not_deleted"`
	// Interrupted is true when the context was cancelled before the end.
	Interrupted bool          `json:"interrupted"`
	Elapsed     time.Duration `json:"-"`
}

// Replayer moves messages from the dead-letter queue back to the main
// queue: send first, delete after, so a crash in between leaves a duplicate
// (harmless) and never a loss.
type Replayer struct {
	DLQ, Main Queue
	Config    ReplayConfig
	// Out gets one line per message listed by a dry run, refused by the
	// replay cap, or that could not be sent. Required.
	Out io.Writer
	// Progress is told how many messages each batch moved. Optional.
	Progress func(moved int)
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Sleep waits for the rate limit. Defaults to clock.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error

	// afterSend runs between the send and the delete of each batch (tests
	// inject crashes here). An error stops the replay before the delete.
	afterSend func(ctx context.Context, sent []message.Message) error
}

// Run replays. It returns an error when the replay could not run; per
// message failures are counted in the result (see ReplayResult.Problems).
func (r *Replayer) Run(ctx context.Context) (res ReplayResult, err error) {
	cfg := r.Config.withDefaults()
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	sleep := r.Sleep
	if sleep == nil {
		sleep = clock.Sleep
	}
	start := now()
	defer func() { res.Elapsed = now().Sub(start) }()

	sc := NewScanner(r.DLQ, cfg.Wait, cfg.Hold)
	defer func() {
		if relErr := sc.Release(ctx); relErr != nil {
			err = errors.Join(err, relErr)
		}
	}()
	// A message replayed in this run that the worker sends back to the DLQ
	// is a new message (new id) with the same body and the replay count we
	// set: remember those so one run never replays a message twice.
	ours := map[string]bool{}
	moved := 0
	batchMax := 10
	if cfg.Rate > 0 && cfg.Rate < 10 {
		batchMax = max(1, int(cfg.Rate))
	}
	for cfg.Max == 0 || moved < cfg.Max {
		if ctx.Err() != nil {
			res.Interrupted = true
			break
		}
		want := batchMax
		if cfg.Max > 0 {
			want = min(want, cfg.Max-moved)
		}
		msgs, done, err := sc.Next(ctx, want)
		if err != nil {
			if ctx.Err() != nil {
				res.Interrupted = true
				break
			}
			return res, err
		}
		var batch []message.Message
		var out []message.Message
		for _, m := range msgs {
			res.Scanned++
			count := ReplayCount(m)
			switch {
			case ours[returnKey(m.Body, count)]:
				res.Returned++
				continue
			case !cfg.Filter.Match(m):
				res.SkippedFilter++
				continue
			case count >= cfg.MaxReplays:
				res.SkippedCap++
				fmt.Fprintf(r.Out, "skipped (replay cap %d reached)  %s\n", cfg.MaxReplays, describe(m))
				continue
			}
			msg, err := replayMessage(m, count+1)
			if err != nil {
				res.Failed++
				fmt.Fprintf(r.Out, "failed (%v)  %s\n", err, describe(m))
				continue
			}
			if cfg.DryRun {
				res.WouldReplay++
				moved++
				fmt.Fprintf(r.Out, "would replay  %s\n", describe(m))
				continue
			}
			batch = append(batch, m)
			out = append(out, msg)
		}
		if len(out) > 0 {
			if cfg.Rate > 0 {
				due := start.Add(time.Duration(float64(moved) / cfg.Rate * float64(time.Second)))
				if err := sleep(ctx, due.Sub(now())); err != nil {
					res.Interrupted = true
					break // nothing of this batch was sent: it stays in the DLQ
				}
			}
			sent, err := r.moveBatch(ctx, batch, out, sc, &res)
			for _, i := range sent {
				count := ReplayCount(out[i])
				ours[returnKey(out[i].Body, count)] = true
				// The worker dead-letters each poison event of an
				// aggregate alone, its body one element of the array.
				if items, err := events.DecodeMessage(out[i].Body); err == nil && len(items) > 1 {
					for _, it := range items {
						if it.Err != nil {
							ours[returnKey(it.Body, count)] = true
						}
					}
				}
			}
			moved += len(sent)
			if r.Progress != nil && len(sent) > 0 {
				r.Progress(len(sent))
			}
			if err != nil {
				return res, err
			}
		}
		if done {
			break
		}
	}
	return res, nil
}

// moveBatch sends a batch to the main queue, then deletes from the DLQ what
// was sent. It returns the indexes it sent.
func (r *Replayer) moveBatch(ctx context.Context, batch []message.Message, out []message.Message, sc *Scanner, res *ReplayResult) ([]int, error) {
	failed, sendErr := r.Main.SendBatch(ctx, out)
	failedSet := make(map[int]bool, len(failed))
	for _, i := range failed {
		failedSet[i] = true
		res.Failed++
		fmt.Fprintf(r.Out, "failed to send (stays in the DLQ: %v)  %s\n", SendError(sendErr, i), describe(batch[i]))
	}
	var sent []int
	var sentMsgs []message.Message
	for i := range batch {
		if !failedSet[i] {
			sent = append(sent, i)
			sentMsgs = append(sentMsgs, batch[i])
		}
	}
	if len(sent) == 0 {
		return nil, nil
	}
	if r.afterSend != nil {
		if err := r.afterSend(ctx, sentMsgs); err != nil {
			res.NotDeleted += len(sent)
			return sent, fmt.Errorf("after sending %d messages, before deleting them: %w", len(sent), err)
		}
	}
	// Sent means the main queue has them: delete them now even after
	// Ctrl-C, or they would be replayed twice.
	delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer cancel()
	handles := make([]string, len(sentMsgs))
	for i, m := range sentMsgs {
		handles[i] = m.ReceiptHandle
	}
	notDeleted, delErr := r.DLQ.Delete(delCtx, handles)
	nd := make(map[string]bool, len(notDeleted))
	for _, h := range notDeleted {
		nd[h] = true
	}
	for _, m := range sentMsgs {
		if nd[m.ReceiptHandle] {
			res.NotDeleted++
			fmt.Fprintf(r.Out, "sent but not deleted (now in both queues; harmless, the worker is idempotent: %v)  %s\n", delErr, describe(m))
			continue
		}
		sc.Forget(m.ID)
		res.Replayed++
	}
	return sent, nil
}

// SendError is the error of message i of a SendBatch (sqsqueue.BatchError),
// or err itself when it does not say.
func SendError(err error, i int) error {
	var be *sqsqueue.BatchError
	if errors.As(err, &be) && be.Errs[i] != nil {
		return be.Errs[i]
	}
	return err
}

// Problems counts messages that did not end where they should.
func (r ReplayResult) Problems() int { return r.Failed + r.NotDeleted }

// replayMessage is the message to send back: same body, same attributes
// (types and values kept), replay_count set to count (as a String, or in
// the type it had). When SQS's limits (message.MaxAttributes, or
// message.MaxRequestBytes for a message near it) leave no room for
// replay_count, it drops the stale dlq_* attributes that describe the last
// failure, least useful first; if that is not enough it says why.
func replayMessage(m message.Message, count int) (message.Message, error) {
	attrs := make(map[string]message.Attribute, len(m.Attributes)+1)
	for k, v := range m.Attributes {
		attrs[k] = v
	}
	rc := message.String(strconv.Itoa(count))
	if old, ok := m.Attributes[message.AttrReplayCount]; ok && !message.IsBinary(old.DataType) {
		rc.DataType = old.DataType
	}
	attrs[message.AttrReplayCount] = rc
	out := message.Message{Body: m.Body, Attributes: attrs}
	for _, k := range dropOrder {
		if len(attrs) <= message.MaxAttributes && out.Size() <= message.MaxRequestBytes {
			break
		}
		delete(attrs, k)
	}
	if len(attrs) > message.MaxAttributes {
		return message.Message{}, fmt.Errorf("%d attributes with %s, SQS allows %d", len(attrs), message.AttrReplayCount, message.MaxAttributes)
	}
	if n := out.Size(); n > message.MaxRequestBytes {
		return message.Message{}, fmt.Errorf("%d bytes with %s, SQS allows %d", n, message.AttrReplayCount, message.MaxRequestBytes)
	}
	return out, nil
}

// ReplayCount reads replay_count; a missing or unreadable one is 0.
func ReplayCount(m message.Message) int {
	n, err := strconv.Atoi(m.Text(message.AttrReplayCount))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func returnKey(body string, n int) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:]) + "#" + strconv.Itoa(n)
}

// describe is one line about a message for operators.
func describe(m message.Message) string {
	reason := m.Text(message.AttrDLQReason)
	if reason == "" {
		reason = "-"
	}
	rid := m.Text(events.AttrRequestID)
	if rid == "" {
		rid = "-"
	}
	if n := events.Count(m); n > 1 {
		// An aggregate's request ids are in its events (the request_id filter finds them).
		rid += fmt.Sprintf("  events=%d", n)
	}
	return fmt.Sprintf("%s  reason=%s  replays=%d  request_id=%s  body=%s",
		m.ID, reason, ReplayCount(m), rid, truncate(m.Body, 120))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
