package consume

import (
	"testing"
	"time"

	"github.com/numbers-app/numbers/shared/message"
)

// The pause rule on given receives: no clock, no queue.
func TestAPollerPausesAfterAThinReceiveOrAnEarlyEmptyOne(t *testing.T) {
	tests := []struct {
		name  string
		wait  time.Duration // Config.WaitTime
		pause time.Duration // Config.ReceivePause
		n     int
		took  time.Duration
		fresh bool // every message sent while the receive waited
		want  bool
	}{
		{"a full receive from a backlog", 20 * time.Second, 100 * time.Millisecond, 10, time.Millisecond, false, false},
		{"a full receive of messages sent while it waited", 20 * time.Second, 100 * time.Millisecond, 10, 5 * time.Millisecond, true, true},
		{"a partial receive", 20 * time.Second, 100 * time.Millisecond, 3, time.Millisecond, false, true},
		{"an empty receive that waited out its long poll", 20 * time.Second, 100 * time.Millisecond, 0, 20 * time.Second, false, false},
		{"an empty receive that ended early", 20 * time.Second, 100 * time.Millisecond, 0, 2 * time.Millisecond, false, true},
		{"an empty receive that waited out a 1s long poll", time.Second, 100 * time.Millisecond, 0, time.Second, false, false},
		{"no pause configured", 20 * time.Second, -1, 3, time.Millisecond, false, false},
		{"no pause configured, a fresh full receive", 20 * time.Second, -1, 10, time.Millisecond, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Consumer{cfg: Config{WaitTime: tt.wait, ReceivePause: tt.pause}}
			if got := c.gather(tt.n, tt.took, tt.fresh); got != tt.want {
				t.Errorf("gather(%d, %v, %v) with WaitTime %v = %v, want %v", tt.n, tt.took, tt.fresh, tt.wait, got, tt.want)
			}
		})
	}
}

// Sent during a receive, by SentTimestamp's milliseconds: a message sent in
// the millisecond the receive began counts; one without a sent time, sent
// before, or "sent" after the receive returned (clock skew) does not.
func TestSentDuringReadsTheMessagesSentTimes(t *testing.T) {
	began := time.Date(2026, 11, 30, 12, 0, 0, 700_000, time.UTC) // 0.7 ms into a millisecond
	returned := began.Add(10 * time.Millisecond)
	at := func(d time.Duration) message.Message {
		return message.Message{SentAt: began.Truncate(time.Millisecond).Add(d)}
	}
	tests := []struct {
		name string
		msgs []message.Message
		want bool
	}{
		{"all sent after it began", []message.Message{at(time.Millisecond), at(3 * time.Millisecond)}, true},
		{"sent in the millisecond it began", []message.Message{at(0)}, true},
		{"one sent before", []message.Message{at(time.Millisecond), at(-time.Millisecond)}, false},
		{"one without a sent time", []message.Message{at(time.Millisecond), {}}, false},
		{"none", nil, false},
		{"one sent after the receive returned (SQS's clock ahead)", []message.Message{at(time.Millisecond), at(time.Second)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sentDuring(tt.msgs, began, returned); got != tt.want {
				t.Errorf("sentDuring = %v, want %v", got, tt.want)
			}
		})
	}
}
