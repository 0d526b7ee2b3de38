package dlq

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/message"
)

func TestFilterMatchesEveryTermOfTheExpression(t *testing.T) {
	m := message.Message{ID: "m-1", Body: `{"type":"number.submitted","version":2}`, Attributes: map[string]message.Attribute{
		"dlq_reason": message.String("unknown_version"), "request_id": message.String("abc"), "replay_count": message.String("2"),
	}}
	tests := []struct {
		name, expr string
		want       bool
	}{
		{"an empty filter matches everything", "", true},
		{"reason equals", "reason=unknown_version", true},
		{"reason differs", "reason=malformed", false},
		{"an attribute equals", "attr.request_id=abc", true},
		{"a missing attribute is empty", "attr.nope=", true},
		{"not equal", "reason!=malformed", true},
		{"body contains", `body~"version":2`, true},
		{"body does not contain", "body~zzz", false},
		{"all terms must hold", "reason=unknown_version,attr.request_id=xyz", false},
		{"terms combine with AND", "reason=unknown_version, attr.replay_count=2", true},
		{"the id", "id=m-1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(tt.expr)
			require.NoError(t, err)
			assert.Equal(t, tt.want, f.Match(m))
		})
	}
}

func TestFilterRejectsWhatItCannotRead(t *testing.T) {
	for _, expr := range []string{"reason", "=x", "colour=red", "attr.=x", "reason!x", "reason=a,,"} {
		_, err := ParseFilter(expr)
		assert.Error(t, err, expr)
	}
}

func TestReplayMessageKeepsBodyAndAttributesAndCountsTheReplay(t *testing.T) {
	m := message.Message{ID: "m", Body: "b", Attributes: map[string]message.Attribute{
		"request_id": message.String("r"), "dlq_reason": message.String("malformed"), message.AttrReplayCount: message.String("1"),
	}}
	got, err := replayMessage(m, 2)
	require.NoError(t, err)
	assert.Equal(t, "b", got.Body)
	assert.Equal(t, map[string]message.Attribute{
		"request_id": message.String("r"), "dlq_reason": message.String("malformed"), message.AttrReplayCount: message.String("2"),
	}, got.Attributes)
	assert.Equal(t, "1", m.Text(message.AttrReplayCount), "the received message is not changed")
}

func TestReplayMessageStaysWithinTenAttributes(t *testing.T) {
	attrs := map[string]message.Attribute{"dlq_reason": message.String("x"), "dlq_detail": message.String("d"),
		"dlq_failed_at": message.String("t"), "dlq_source_message_id": message.String("s")}
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		attrs[k] = message.String(k)
	}
	got, err := replayMessage(message.Message{Body: "b", Attributes: attrs}, 1)
	require.NoError(t, err)
	assert.Len(t, got.Attributes, 10)
	assert.NotContains(t, got.Attributes, "dlq_detail", "the least useful attribute goes first")
	assert.Equal(t, "x", got.Text("dlq_reason"))

	full := map[string]message.Attribute{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		full[k] = message.String(k)
	}
	_, err = replayMessage(message.Message{Body: "b", Attributes: full}, 1)
	assert.Error(t, err, "ten attributes of its own leave no room for replay_count")
}

func TestTargetResolution(t *testing.T) {
	dir := t.TempDir()
	stackFile := filepath.Join(dir, "stack.env")
	require.NoError(t, os.WriteFile(stackFile, []byte("DATABASE_URL=postgres://x\nSQS_ENDPOINT=http://127.0.0.1:1\n"+
		"SQS_QUEUE_URL=http://q/main\nSQS_DLQ_URL=http://q/dlq\nAWS_REGION=us-east-1\n"), 0o644))
	noEnv := func(string) string { return "" }
	stateDir := func(k string) string {
		if k == "LOCAL_STATE_DIR" {
			return dir
		}
		return ""
	}

	t.Run("the environment wins over the stack file", func(t *testing.T) {
		got, err := resolveTarget(config.Common{DLQURL: "https://sqs/dlq", QueueURL: "https://sqs/main", AWSRegion: "eu-west-1"}, targetFlags{}, stateDir)
		require.NoError(t, err)
		assert.Equal(t, Target{DLQURL: "https://sqs/dlq", QueueURL: "https://sqs/main", Region: "eu-west-1", From: "environment"}, got)
		assert.False(t, got.Local())
	})
	t.Run("the stack file in LOCAL_STATE_DIR fills an empty environment", func(t *testing.T) {
		got, err := resolveTarget(config.Common{AWSRegion: "us-east-1"}, targetFlags{}, stateDir)
		require.NoError(t, err)
		assert.Equal(t, Target{DLQURL: "http://q/dlq", QueueURL: "http://q/main", Endpoint: "http://127.0.0.1:1", Region: "us-east-1", From: stackFile}, got)
		assert.True(t, got.Local())
	})
	t.Run("--stack-env names the file", func(t *testing.T) {
		got, err := resolveTarget(config.Common{}, targetFlags{StackEnv: stackFile}, noEnv)
		require.NoError(t, err)
		assert.Equal(t, "http://q/dlq", got.DLQURL)
	})
	t.Run("flags override everything", func(t *testing.T) {
		got, err := resolveTarget(config.Common{DLQURL: "https://sqs/dlq"}, targetFlags{DLQURL: "http://f/dlq", QueueURL: "http://f/main", Endpoint: "http://e"}, noEnv)
		require.NoError(t, err)
		assert.Equal(t, Target{DLQURL: "http://f/dlq", QueueURL: "http://f/main", Endpoint: "http://e", From: "flags"}, got)
	})
	t.Run("a missing named file is an error", func(t *testing.T) {
		_, err := resolveTarget(config.Common{}, targetFlags{StackEnv: filepath.Join(dir, "nope.env")}, noEnv)
		assert.Error(t, err)
	})
	t.Run("nothing configured says how to start the stack", func(t *testing.T) {
		t.Chdir(t.TempDir()) // no .local/stack.env here
		_, err := resolveTarget(config.Common{}, targetFlags{}, noEnv)
		require.True(t, errors.Is(err, errNoQueue))
		assert.True(t, strings.Contains(err.Error(), "make run") && strings.Contains(err.Error(), "SQS_DLQ_URL"), err.Error())
	})
}
