package dlq

import (
	"context"
	"fmt"
	"time"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// Queue is what the engine and the operator commands need from a queue. sqsqueue.Queue is
// the real one; tests wrap it to inject failures.
type Queue interface {
	Receive(ctx context.Context, max int, wait time.Duration) ([]message.Message, error)
	Delete(ctx context.Context, handles []string) ([]string, error)
	ChangeVisibility(ctx context.Context, handles []string, d time.Duration) error
	SendBatch(ctx context.Context, msgs []message.Message) ([]int, error)
	Stats(ctx context.Context) (sqsqueue.Stats, error)
}

var _ Queue = sqsqueue.Queue{}

// Defaults for scanning a queue.
const (
	// DefaultWait is the long-poll wait of each receive while scanning. A
	// receive that returns nothing new after it ends the scan.
	DefaultWait = time.Second
	// DefaultHold is how long scanned messages stay invisible while a command
	// holds them; they are released (made visible) when it ends. If the
	// command crashes they reappear after this at the latest.
	DefaultHold = 5 * time.Minute
	// releaseTimeout bounds releasing held messages after a cancel.
	releaseTimeout = 10 * time.Second
)

// Scanner walks a queue without consuming it: every message it returns is
// held (invisible) until Release, so one pass sees each message once.
type Scanner struct {
	q    Queue
	wait time.Duration
	hold time.Duration
	// held maps message id to its latest receipt handle.
	held map[string]string
	// order keeps the ids in receive order (for a stable release).
	order []string
}

// NewScanner scans q with receives that wait at most wait (DefaultWait when
// 0) and hold what they return for hold (DefaultHold when 0).
func NewScanner(q Queue, wait, hold time.Duration) *Scanner {
	if wait <= 0 {
		wait = DefaultWait
	}
	if hold <= 0 {
		hold = DefaultHold
	}
	return &Scanner{q: q, wait: wait, hold: hold, held: map[string]string{}}
}

// Next receives up to n (1..10) messages not seen before in this scan.
// done is true when the queue had nothing new to give.
func (s *Scanner) Next(ctx context.Context, n int) (msgs []message.Message, done bool, err error) {
	n = min(max(n, 1), 10)
	got, err := s.q.Receive(ctx, n, s.wait)
	if err != nil {
		return nil, false, err
	}
	if len(got) == 0 {
		return nil, true, nil
	}
	handles := make([]string, 0, len(got))
	for _, m := range got {
		_, seen := s.held[m.ID]
		if !seen {
			s.order = append(s.order, m.ID)
			msgs = append(msgs, m)
		}
		s.held[m.ID] = m.ReceiptHandle
		handles = append(handles, m.ReceiptHandle)
	}
	// Keep them out of sight for the whole scan, whatever the queue's own
	// visibility timeout is. A failure here only risks seeing one again.
	_ = s.q.ChangeVisibility(ctx, handles, s.hold)
	return msgs, len(msgs) == 0, nil
}

// Forget drops a message that was deleted, so Release does not touch it.
func (s *Scanner) Forget(id string) { delete(s.held, id) }

// Release makes every held message visible again. It runs even when ctx is
// cancelled (after Ctrl-C the messages should not stay hidden).
func (s *Scanner) Release(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	handles := make([]string, 0, len(s.held))
	for _, id := range s.order {
		if h, ok := s.held[id]; ok {
			handles = append(handles, h)
		}
	}
	s.held, s.order = map[string]string{}, nil
	if len(handles) == 0 {
		return nil
	}
	if err := s.q.ChangeVisibility(ctx, handles, 0); err != nil {
		return fmt.Errorf("release %d messages (they reappear within %s anyway): %w", len(handles), s.hold, err)
	}
	return nil
}

// ScanAll collects up to limit messages (0: no limit) and holds them.
// The caller must call Release.
func (s *Scanner) ScanAll(ctx context.Context, limit int) ([]message.Message, error) {
	var all []message.Message
	for limit <= 0 || len(all) < limit {
		want := 10
		if limit > 0 {
			want = min(want, limit-len(all))
		}
		msgs, done, err := s.Next(ctx, want)
		if err != nil {
			return all, err
		}
		all = append(all, msgs...)
		if done {
			break
		}
		if err := ctx.Err(); err != nil {
			return all, err
		}
	}
	return all, nil
}
