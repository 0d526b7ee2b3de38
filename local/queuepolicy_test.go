package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheLocalQueuePolicyComesFromTheEnvironmentWithinSQSRanges(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	n, d, err := queuePolicyFromEnv(env())
	require.NoError(t, err)
	assert.Zero(t, n, "unset: the stack's default")
	assert.Zero(t, d, "unset: the stack's default")

	n, d, err = queuePolicyFromEnv(env("LOCAL_SQS_MAX_RECEIVE_COUNT", "2", "LOCAL_SQS_VISIBILITY_TIMEOUT", "10s"))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, 10*time.Second, d)

	for _, bad := range [][]string{
		{"LOCAL_SQS_MAX_RECEIVE_COUNT", "0"},
		{"LOCAL_SQS_MAX_RECEIVE_COUNT", "1001"},
		{"LOCAL_SQS_MAX_RECEIVE_COUNT", "five"},
		{"LOCAL_SQS_VISIBILITY_TIMEOUT", "2s"},
		{"LOCAL_SQS_VISIBILITY_TIMEOUT", "1500ms"},
		{"LOCAL_SQS_VISIBILITY_TIMEOUT", "13h"},
		{"LOCAL_SQS_VISIBILITY_TIMEOUT", "10"},
	} {
		_, _, err := queuePolicyFromEnv(env(bad...))
		assert.Error(t, err, "%s=%s", bad[0], bad[1])
		if err != nil {
			assert.Contains(t, err.Error(), bad[0], "the message names the variable")
		}
	}
}
