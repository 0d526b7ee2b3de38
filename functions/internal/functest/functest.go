// Package functest is the one suite both functions must pass with the golden
// events of functions/testdata, run in process (go test) and against the
// built binaries under the Lambda Runtime Interface Emulator (make lambda-test).
package functest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	evs "github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
)

// Invoke sends one event and returns what a caller of Lambda's Invoke API
// gets back: the handler's JSON response, or {"errorMessage","errorType"}
// when the handler returned an error.
type Invoke func(t *testing.T, event []byte) []byte

// Start starts the function under test with environ (the variables of the
// execution environment) and returns how to invoke it. It stops the
// function in t.Cleanup.
type Start func(t *testing.T, environ map[string]string) Invoke

// Setup is a function's INIT: what functions/http and functions/sqs call setup.
type Setup func(ctx context.Context, environ map[string]string, logOut io.Writer) (handler any, closeFn func(), err error)

// InProcess starts a function by calling its setup in this process and
// invokes it through lambda.NewHandler, as the runtime loop does.
func InProcess(setup Setup) Start {
	return func(t *testing.T, environ map[string]string) Invoke {
		t.Helper()
		h, closeFn, err := setup(context.Background(), environ, testenv.LogWriter(t))
		require.NoError(t, err)
		t.Cleanup(closeFn)
		handler := lambda.NewHandler(h)
		return func(t *testing.T, event []byte) []byte {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := handler.Invoke(ctx, event)
			if err != nil {
				b, merr := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": fmt.Sprintf("%T", err)})
				require.NoError(t, merr)
				return b
			}
			return out
		}
	}
}

// RefusesConfig checks that setup fails on environ, naming the variable
// want: a function with an incomplete configuration says what is missing
// during INIT instead of failing on its first event.
func RefusesConfig(t *testing.T, setup Setup, environ map[string]string, want string) {
	t.Helper()
	_, _, err := setup(context.Background(), environ, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), want)
}

// Golden reads an event from functions/testdata.
func Golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(t), "functions", "testdata", name))
	require.NoError(t, err)
	return b
}

// Env is a fresh database and fresh queues for one function.
type Env struct {
	Store  *pgstore.Store
	Queues testenv.Queues
	// Environ is the function's configuration pointing at them.
	Environ map[string]string
}

// NewEnv creates a database and queues and the environment variables that
// point at them. The schema is created by the function itself (MIGRATE=true).
func NewEnv(t *testing.T) Env {
	t.Helper()
	q := testenv.NewQueues(t, 5, 30*time.Second)
	environ := testenv.Environ(t, q, map[string]string{"MIGRATE": "true", "LOG_FORMAT": "json", "LOG_LEVEL": "info"})
	store, err := pgstore.Open(pgstore.Config{URL: environ["DATABASE_URL"]})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	return Env{Store: store, Queues: q, Environ: environ}
}

// With returns a copy of environ with kv ("K", "V", ...) set.
func With(environ map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(environ)+len(kv)/2)
	for k, v := range environ {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// The stored number the GET golden event asks for.
const (
	storedID    = "0190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7f"
	storedValue = int64(-123456789012345678)
)

// HTTP runs the HTTP function's cases, one invocation at a time (the
// emulator crashes on concurrent invokes).
func HTTP(t *testing.T, start Start) {
	env := NewEnv(t)
	invoke := start(t, env.Environ)
	ctx := context.Background()

	t.Run("an HTTP API POST queues the number and answers 202 with its id", func(t *testing.T) {
		var resp events.APIGatewayV2HTTPResponse
		decode(t, invoke(t, Golden(t, "apigw-v2-post.json")), &resp)
		require.Equal(t, 202, resp.StatusCode, resp.Body)
		var body struct{ ID, Status string }
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &body), resp.Body)
		assert.Equal(t, "queued", body.Status)
		assert.Equal(t, "/api/values/"+body.ID, resp.Headers["Location"])
		assert.Equal(t, "application/json", resp.Headers["Content-Type"])
		assert.NotEmpty(t, resp.Headers["X-Request-Id"])
		sub := Queued(t, env.Queues.Main, body.ID)
		assert.Equal(t, int64(42), sub.Value)
		assert.Equal(t, resp.Headers["X-Request-Id"], sub.RequestID)
	})

	t.Run("an ALB POST with multi-value headers and a base64 body queues the exact number", func(t *testing.T) {
		var resp events.ALBTargetGroupResponse
		decode(t, invoke(t, Golden(t, "alb-post.json")), &resp)
		require.Equal(t, 202, resp.StatusCode, resp.Body)
		assert.Equal(t, "202 Accepted", resp.StatusDescription)
		assert.Empty(t, resp.Headers, "multi-value target groups read multiValueHeaders only")
		var body struct{ ID, Status string }
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &body), resp.Body)
		assert.Equal(t, []string{"/api/values/" + body.ID}, resp.MultiValueHeaders["Location"])
		sub := Queued(t, env.Queues.Main, body.ID)
		assert.Equal(t, int64(-9007199254740993), sub.Value, "beyond 2^53, kept exact")
	})

	_, err := env.Store.Insert(ctx, []number.Submission{{
		ID: storedID, Value: storedValue, AcceptedAt: time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC), RequestID: "seed",
	}})
	require.NoError(t, err)

	t.Run("an HTTP API GET reads a stored number and keeps the client's request id", func(t *testing.T) {
		var resp events.APIGatewayV2HTTPResponse
		decode(t, invoke(t, Golden(t, "apigw-v2-get.json")), &resp)
		require.Equal(t, 200, resp.StatusCode, resp.Body)
		assert.Equal(t, "golden-get-1", resp.Headers["X-Request-Id"])
		var v struct {
			ID        string `json:"id"`
			Value     int64  `json:"value"`
			ValueText string `json:"value_text"`
			Status    string `json:"status"`
		}
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &v), resp.Body)
		assert.Equal(t, storedID, v.ID)
		assert.Equal(t, storedValue, v.Value)
		assert.Equal(t, "-123456789012345678", v.ValueText)
		assert.Equal(t, "stored", v.Status)
	})

	t.Run("an HTTP API GET of an unknown id is a 404 with a JSON error", func(t *testing.T) {
		event := strings.ReplaceAll(string(Golden(t, "apigw-v2-get.json")), storedID, "0190f5c4-7d3a-7b2e-9c1d-ffffffffffff")
		var resp events.APIGatewayV2HTTPResponse
		decode(t, invoke(t, []byte(event)), &resp)
		require.Equal(t, 404, resp.StatusCode, resp.Body)
		assert.JSONEq(t, `{"error":"no number with this id is stored (yet)","request_id":"golden-get-1"}`, resp.Body)
	})

	t.Run("an ALB GET with a multi-value query lists the newest number", func(t *testing.T) {
		var resp events.ALBTargetGroupResponse
		decode(t, invoke(t, Golden(t, "alb-get.json")), &resp)
		require.Equal(t, 200, resp.StatusCode, resp.Body)
		assert.Equal(t, "200 OK", resp.StatusDescription)
		var list struct {
			Values []struct {
				ID string `json:"id"`
			} `json:"values"`
			NextCursor string `json:"next_cursor"`
		}
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &list), resp.Body)
		require.Len(t, list.Values, 1, "limit=1 from multiValueQueryStringParameters")
		assert.Equal(t, storedID, list.Values[0].ID)
	})
}

// Message ids of testdata/sqs-batch.json: two valid events around a poison one.
const (
	poisonMessageID = "5d3e7f38-0b0b-4a0c-9e36-1d1a6c3e4f01"
	poisonRequestID = "golden-sqs-3"
)

// SQS runs the SQS function's cases; each starts the function with its own
// environment.
func SQS(t *testing.T, start Start) {
	batch := func(t *testing.T) []byte { return Golden(t, "sqs-batch.json") }

	t.Run("valid records are stored and the poison one dead-lettered, so Lambda deletes all", func(t *testing.T) {
		env := NewEnv(t)
		invoke := start(t, env.Environ)
		out := invoke(t, batch(t))
		assert.JSONEq(t, `{"batchItemFailures":[]}`, string(out))
		assertStored(t, env.Store)
		dead := testenv.ReceiveAll(t, env.Queues.DLQ, 1, env.Queues.DLQWait())
		require.Len(t, dead, 1, "one message in the dead-letter queue")
		assert.Equal(t, evs.ReasonInvalidField, dead[0].Text(message.AttrDLQReason))
		assert.Equal(t, poisonMessageID, dead[0].Text(message.AttrDLQMessageID))
		assert.Equal(t, poisonRequestID, dead[0].Text(evs.AttrRequestID))

		// A redelivery of the same batch stores nothing twice.
		assert.JSONEq(t, `{"batchItemFailures":[]}`, string(invoke(t, batch(t))))
		assertStored(t, env.Store)
	})

	t.Run("when only the dead-letter queue fails, only the poison record is reported failed", func(t *testing.T) {
		env := NewEnv(t)
		invoke := start(t, With(env.Environ, "SQS_DLQ_URL", env.Queues.DLQ.URL+"-missing"))
		out := invoke(t, batch(t))
		assert.JSONEq(t, `{"batchItemFailures":[{"itemIdentifier":"`+poisonMessageID+`"}]}`, string(out))
		assertStored(t, env.Store)
	})

	t.Run("when every record fails, the invocation returns an error", func(t *testing.T) {
		env := NewEnv(t)
		invoke := start(t, With(env.Environ,
			"DATABASE_URL", "postgres://postgres@127.0.0.1:1/none?sslmode=disable",
			"MIGRATE", "false",
			"SQS_DLQ_URL", env.Queues.DLQ.URL+"-missing"))
		var e struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}
		out := invoke(t, batch(t))
		require.NoError(t, json.Unmarshal(out, &e), "response: %s", out)
		assert.Contains(t, e.ErrorMessage, "every record of the batch failed (3 records)", string(out))
		assert.NotEmpty(t, e.ErrorType, string(out))
	})

	sqsAggregate(t, start)
}

// Message ids of testdata/sqs-aggregate.json: an aggregate of three events
// (the second poison) and a single valid event.
const (
	aggregateMessageID = "7b1c2d3e-4f50-4a61-8b72-93a4b5c6d7e8"
	aggregatePoisonID  = "0190f5c4-7d3a-7b2e-9c1d-000000000012"
)

// aggregateStored are the valid events of testdata/sqs-aggregate.json.
var aggregateStored = map[string]int64{
	"0190f5c4-7d3a-7b2e-9c1d-000000000011": 11,
	"0190f5c4-7d3a-7b2e-9c1d-000000000013": -13,
	"0190f5c4-7d3a-7b2e-9c1d-000000000014": 14,
}

// sqsAggregate runs the SQS function's cases for an aggregated message
// (several events in one record, events.Aggregate) with a poison event.
func sqsAggregate(t *testing.T, start Start) {
	event := func(t *testing.T) []byte { return Golden(t, "sqs-aggregate.json") }

	t.Run("the valid events of an aggregate are stored and its poison event alone is dead-lettered", func(t *testing.T) {
		env := NewEnv(t)
		invoke := start(t, env.Environ)
		assert.JSONEq(t, `{"batchItemFailures":[]}`, string(invoke(t, event(t))))
		assertStoredExactly(t, env.Store, aggregateStored)
		dead := testenv.ReceiveAll(t, env.Queues.DLQ, 1, env.Queues.DLQWait())
		require.Len(t, dead, 1, "one message in the dead-letter queue: the poison event")
		items, err := evs.DecodeMessage(dead[0].Body)
		require.NoError(t, err)
		require.Len(t, items, 1, "the dead letter is the poison event alone, not the aggregate: %s", dead[0].Body)
		assert.Contains(t, dead[0].Body, aggregatePoisonID)
		assert.Equal(t, evs.ReasonInvalidField, dead[0].Text(message.AttrDLQReason))
		assert.Contains(t, dead[0].Text(message.AttrDLQDetail), "event 2 of 3")
		assert.Equal(t, aggregateMessageID, dead[0].Text(message.AttrDLQMessageID))
		assert.Empty(t, dead[0].Text(evs.AttrEventCount), "a single event carries no event_count")
		assert.Equal(t, "golden-agg-2", dead[0].Text(evs.AttrRequestID), "the request id of the event's body")

		// Redelivered (Lambda retries, SQS redelivers): nothing stored twice.
		assert.JSONEq(t, `{"batchItemFailures":[]}`, string(invoke(t, event(t))))
		assertStoredExactly(t, env.Store, aggregateStored)
	})

	t.Run("when the dead-letter queue refuses the poison event, the whole aggregate is a batch item failure", func(t *testing.T) {
		env := NewEnv(t)
		invoke := start(t, With(env.Environ, "SQS_DLQ_URL", env.Queues.DLQ.URL+"-missing"))
		out := invoke(t, event(t))
		assert.JSONEq(t, `{"batchItemFailures":[{"itemIdentifier":"`+aggregateMessageID+`"}]}`, string(out))
		// Its valid events are stored already; the redelivery stores them
		// again, harmlessly.
		assertStoredExactly(t, env.Store, aggregateStored)
	})
}

func assertStoredExactly(t *testing.T, store *pgstore.Store, want map[string]int64) {
	t.Helper()
	ctx := context.Background()
	n, err := store.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(want), n, "the valid events, stored once")
	for id, v := range want {
		got, err := store.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, v, got.Value)
	}
}

func decode(t *testing.T, out []byte, v any) {
	t.Helper()
	var probe struct {
		ErrorMessage *string `json:"errorMessage"`
	}
	_ = json.Unmarshal(out, &probe)
	require.Nil(t, probe.ErrorMessage, "the function returned an error: %s", out)
	require.NoError(t, json.Unmarshal(out, v), "response: %s", out)
}

// Queued receives from q until the message of event id comes, checks it
// is a number.submitted event and decodes it. q is the main queue of
// NewEnv or of a caller's testenv.NewQueues of at most 30 s visibility: a
// receive whose answer was lost hides the message for that long, so it
// waits that plus testenv.ReceiveMargin (testenv.ReceiveUntil).
func Queued(t *testing.T, q sqsqueue.Queue, id string) number.Submission {
	t.Helper()
	var sub number.Submission
	found := false
	testenv.ReceiveUntil(t, q, 30*time.Second+testenv.ReceiveMargin, func(got []message.Message) bool {
		for _, m := range got {
			s, err := evs.Decode(m.Body)
			require.NoError(t, err, m.Body)
			if s.ID == id {
				assert.Equal(t, evs.TypeNumberSubmitted, m.Text(evs.AttrEventType))
				sub, found = s, true
			}
		}
		return found
	})
	require.True(t, found, "message %s never reached the queue", id)
	return sub
}

func assertStored(t *testing.T, store *pgstore.Store) {
	t.Helper()
	ctx := context.Background()
	n, err := store.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "two valid records, stored once")
	for id, want := range map[string]int64{
		"0190f5c4-7d3a-7b2e-9c1d-000000000001": 42,
		"0190f5c4-7d3a-7b2e-9c1d-000000000002": 9223372036854775807,
	} {
		got, err := store.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, got.Value)
	}
}
