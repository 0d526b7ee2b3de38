package consume

import (
	"testing"
	"time"
)

// The pause rule on given receives: no clock, no queue.
func TestAPollerPausesAfterAThinReceiveOrAnEarlyEmptyOne(t *testing.T) {
	tests := []struct {
		name  string
		wait  time.Duration // Config.WaitTime
		pause time.Duration // Config.ReceivePause
		n     int
		took  time.Duration
		want  bool
	}{
		{"a full receive", 20 * time.Second, 100 * time.Millisecond, 10, time.Millisecond, false},
		{"a partial receive", 20 * time.Second, 100 * time.Millisecond, 3, time.Millisecond, true},
		{"an empty receive that waited out its long poll", 20 * time.Second, 100 * time.Millisecond, 0, 20 * time.Second, false},
		{"an empty receive that ended early", 20 * time.Second, 100 * time.Millisecond, 0, 2 * time.Millisecond, true},
		{"an empty receive that waited out a 1s long poll", time.Second, 100 * time.Millisecond, 0, time.Second, false},
		{"no pause configured", 20 * time.Second, -1, 3, time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Consumer{cfg: Config{WaitTime: tt.wait, ReceivePause: tt.pause}}
			if got := c.gather(tt.n, tt.took); got != tt.want {
				t.Errorf("gather(%d, %v) with WaitTime %v = %v, want %v", tt.n, tt.took, tt.wait, got, tt.want)
			}
		})
	}
}
