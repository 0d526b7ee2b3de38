package fauxqs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/local/fauxqs"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/shared/testenv/hung"
)

// SQS accepts #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
// in a message body (the SendMessage reference); the local SQS must accept
// and refuse exactly these, so an export taken on AWS imports locally.
var (
	sqsAccepts = map[string]string{
		"an emoji beyond the BMP":        "smile \U0001F600",
		"the last code point":            "\U0010FFFD",
		"the first supplementary point":  "\U00010000",
		"tab, newline, carriage return":  "a\tb\nc\r",
		"the edges of the BMP ranges":    "\u0020\uD7FF\uE000\uFFFD",
		"a JSON event with an emoji":     `{"type":"number.submitted","note":"🎉"}`,
		"mixed scripts and pictographs":  "число 数字 𝟘𝟙𝟚 🔢",
		"a character beyond, at the end": "x\U0001F4A9",
	}
	sqsRefuses = map[string]string{
		"NUL":                      "a\x00b",
		"a control character":      "bell \x07",
		"U+FFFE, a noncharacter":   "\uFFFE",
		"U+FFFF, a noncharacter":   "x\uFFFF",
		"an emoji and then U+0008": "\U0001F600\x08",
	}
)

func TestLocalSQSAcceptsExactlyTheCharactersSQSAccepts(t *testing.T) {
	ctx := context.Background()
	client := testenv.SQSClient(t)
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("charset-test")})
	require.NoError(t, err)
	q := out.QueueUrl
	t.Cleanup(func() { _, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q}) })

	t.Run("SendMessage", func(t *testing.T) {
		for name, body := range sqsAccepts {
			_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String(body)})
			require.NoError(t, err, name)
			got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 1, WaitTimeSeconds: 1})
			require.NoError(t, err)
			require.Len(t, got.Messages, 1, name)
			assert.Equal(t, body, aws.ToString(got.Messages[0].Body), "%s comes back intact", name)
			_, err = client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: got.Messages[0].ReceiptHandle})
			require.NoError(t, err)
		}
		for name, body := range sqsRefuses {
			_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String(body)})
			var apiErr smithy.APIError
			require.True(t, errors.As(err, &apiErr), "%s is refused: %v", name, err)
			// The SDK reports SQS's query-compatible code, as from AWS.
			assert.Equal(t, "AWS.SimpleQueueService.InvalidMessageContents", apiErr.ErrorCode(), name)
		}
	})

	t.Run("SendMessageBatch", func(t *testing.T) {
		var entries []types.SendMessageBatchRequestEntry
		want := map[string]string{}
		refused := map[string]bool{}
		i := 0
		add := func(name, body string) string {
			id := fmt.Sprintf("e%d", i)
			i++
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(body)})
			return id
		}
		for name, body := range sqsAccepts {
			want[add(name, body)] = body
		}
		for name, body := range sqsRefuses {
			refused[add(name, body)] = true
		}
		for start := 0; start < len(entries); start += 10 {
			res, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q, Entries: entries[start:min(start+10, len(entries))]})
			require.NoError(t, err)
			for _, f := range res.Failed {
				assert.True(t, refused[aws.ToString(f.Id)], "entry %s refused: %s", aws.ToString(f.Id), aws.ToString(f.Message))
				assert.Equal(t, "InvalidMessageContents", aws.ToString(f.Code))
				delete(refused, aws.ToString(f.Id))
			}
		}
		assert.Empty(t, refused, "every forbidden body was refused")
		got := map[string]bool{}
		for len(got) < len(want) {
			res, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			require.NoError(t, err)
			require.NotEmpty(t, res.Messages, "received %d of %d", len(got), len(want))
			for _, m := range res.Messages {
				got[aws.ToString(m.Body)] = true
				_, err = client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: m.ReceiptHandle})
				require.NoError(t, err)
			}
		}
		for _, body := range want {
			assert.True(t, got[body], "%q came back intact", body)
		}
	})
}

// A port another server holds must fail Start, even though that server
// answers a dial: ours died of EADDRINUSE, and a stack built on the other
// one would send its messages to a stranger (or, after a supervisor
// restart, to the old server it believes dead).
func TestStartFailsWhenAnotherServerHoldsThePort(t *testing.T) {
	t.Parallel()
	ln := hung.Listener(t) // holds the port and takes every dial
	dir := filepath.Join(testenv.Root(t), "local", "fauxqs")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, fauxqs.Install(ctx, dir, io.Discard))
	srv, err := fauxqs.Start(ctx, dir, ln.Addr().(*net.TCPAddr).Port, io.Discard)
	if err == nil {
		srv.Stop()
	}
	require.Error(t, err, "the port is taken by another server")
	assert.Contains(t, err.Error(), "exited at start")
}
