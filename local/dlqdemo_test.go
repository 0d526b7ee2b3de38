package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
)

// The example dead-letter file of `make dlq-demo` holds valid events (as the
// redrive policy moves them: no dlq_reason) and poison ones whose dlq_reason
// is what the worker would say about them.
func TestDLQDemoFileHoldsValidAndPoisonEventsWithTheirTrueReasons(t *testing.T) {
	f, err := os.Open("dlq-demo.jsonl")
	require.NoError(t, err)
	defer f.Close()
	valid, poison := 0, 0
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var m struct {
			Body       string            `json:"body"`
			Attributes map[string]string `json:"attributes"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %d", line)
		require.NotEmpty(t, m.Body, "line %d", line)
		assert.LessOrEqual(t, len(m.Attributes), 10, "line %d: SQS allows 10 attributes", line)
		_, err := events.Decode(m.Body)
		reason, hasReason := m.Attributes["dlq_reason"]
		if err == nil {
			valid++
			assert.False(t, hasReason, "line %d: a valid event carries no poison reason", line)
			continue
		}
		poison++
		var de *events.DecodeError
		require.True(t, errors.As(err, &de), "line %d: %v", line, err)
		assert.Equal(t, de.Reason, reason, "line %d: dlq_reason is what the worker says", line)
	}
	require.NoError(t, sc.Err())
	assert.GreaterOrEqual(t, valid, 3, "a few valid events")
	assert.GreaterOrEqual(t, poison, 3, "a few poison ones")
}
