package sqsqueue_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
)

// The benchmarks below measure what the SDK itself costs per call in this
// process (middleware, signing, JSON, checksums), apart from the network
// and the server: each answer is recorded once from the local SQS server and
// then replayed from memory. Compare variants within one run:
//
//	go test -run '^$' -bench 'SDK' -benchmem -count 6 ./shared/sqsqueue | benchstat -col /variant -

// tape records the local SQS server's last answer to each operation, then
// replays it.
type tape struct {
	mu      sync.Mutex
	answers map[string][]byte
	replay  atomic.Bool
}

func (tp *tape) Do(req *http.Request) (*http.Response, error) {
	op := req.Header.Get("X-Amz-Target")
	if tp.replay.Load() {
		tp.mu.Lock()
		body := tp.answers[op]
		tp.mu.Unlock()
		if req.Body != nil {
			_, _ = io.Copy(io.Discard, req.Body)
			req.Body.Close()
		}
		h := http.Header{"Content-Type": {"application/x-amz-json-1.0"}}
		return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)), Request: req}, nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	tp.mu.Lock()
	tp.answers[op] = body
	tp.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// sdkBench is a queue of ten event-sized messages and a client whose
// answers are recorded from it.
type sdkBench struct {
	tape   *tape
	client *sqs.Client
	url    string
	batch  []message.Message
}

func newSDKBench(b *testing.B) *sdkBench {
	b.Helper()
	qs := testenv.NewQueues(b, 5, 30*time.Second)
	tp := &tape{answers: map[string][]byte{}}
	client, err := sqsqueue.NewClient(context.Background(), sqsqueue.ClientConfig{Endpoint: testenv.SQSEndpoint(b), HTTPClient: tp})
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	batch := batchOf10(&seq)
	for i := range batch {
		batch[i].Attributes = map[string]message.Attribute{"request_id": message.String("r-0123456789"),
			"event_type": message.String("number.submitted"), "event_version": message.String("1")}
	}
	return &sdkBench{tape: tp, client: client, url: qs.Main.URL, batch: batch}
}

// variant is the recording client with the given changes.
func (s *sdkBench) variant(md5 bool) *sqs.Client {
	return sqs.New(s.client.Options(), func(o *sqs.Options) { o.DisableMessageChecksumValidation = !md5 })
}

func BenchmarkSDKSendMessageBatch(b *testing.B) {
	s := newSDKBench(b)
	q := sqsqueue.Queue{API: s.client, URL: s.url}
	if _, err := q.SendBatch(context.Background(), s.batch); err != nil { // recorded
		b.Fatal(err)
	}
	s.tape.replay.Store(true)
	for _, v := range []struct {
		name string
		md5  bool
	}{{"variant=md5", true}, {"variant=nomd5", false}} {
		b.Run(v.name, func(b *testing.B) {
			q := sqsqueue.Queue{API: s.variant(v.md5), URL: s.url}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := q.SendBatch(context.Background(), s.batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSDKReceiveMessage(b *testing.B) {
	s := newSDKBench(b)
	ctx := context.Background()
	if _, err := (sqsqueue.Queue{API: s.client, URL: s.url}).SendBatch(ctx, s.batch); err != nil {
		b.Fatal(err)
	}
	// Two recordings: all system attributes, and only the two the worker
	// reads. Between them the ten messages are made visible again.
	record := func(names []types.MessageSystemAttributeName) []byte {
		out, err := s.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.url), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: names})
		if err != nil || len(out.Messages) != 10 {
			b.Fatalf("record receive: %v (%d messages; want 10)", err, len(out.Messages))
		}
		handles := make([]string, len(out.Messages))
		for i, m := range out.Messages {
			handles[i] = aws.ToString(m.ReceiptHandle)
		}
		if err := (sqsqueue.Queue{API: s.client, URL: s.url}).ChangeVisibility(ctx, handles, 0); err != nil {
			b.Fatal(err)
		}
		s.tape.mu.Lock()
		defer s.tape.mu.Unlock()
		return s.tape.answers["AmazonSQS.ReceiveMessage"]
	}
	all := record([]types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll})
	two := record([]types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount,
		types.MessageSystemAttributeNameSentTimestamp})
	b.Logf("answer of ten messages: %d bytes with all system attributes, %d with two", len(all), len(two))
	s.tape.replay.Store(true)
	for _, v := range []struct {
		name   string
		answer []byte
		md5    bool
	}{{"variant=all-md5", all, true}, {"variant=two-md5", two, true}, {"variant=two-nomd5", two, false}} {
		b.Run(v.name, func(b *testing.B) {
			s.tape.mu.Lock()
			s.tape.answers["AmazonSQS.ReceiveMessage"] = v.answer
			s.tape.mu.Unlock()
			q := sqsqueue.Queue{API: s.variant(v.md5), URL: s.url}
			b.ReportAllocs()
			for b.Loop() {
				msgs, err := q.Receive(ctx, 10, time.Second)
				if err != nil || len(msgs) != 10 {
					b.Fatalf("receive: %v (%d messages)", err, len(msgs))
				}
			}
		})
	}
}

func BenchmarkSDKDeleteMessageBatch(b *testing.B) {
	s := newSDKBench(b)
	ctx := context.Background()
	q := sqsqueue.Queue{API: s.client, URL: s.url}
	if _, err := q.SendBatch(ctx, s.batch); err != nil {
		b.Fatal(err)
	}
	msgs, err := q.Receive(ctx, 10, time.Second)
	if err != nil || len(msgs) != 10 {
		b.Fatalf("receive: %v (%d messages)", err, len(msgs))
	}
	handles := make([]string, len(msgs))
	for i, m := range msgs {
		handles[i] = m.ReceiptHandle
	}
	if _, err := q.Delete(ctx, handles); err != nil { // recorded
		b.Fatal(err)
	}
	s.tape.replay.Store(true)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.Delete(ctx, handles); err != nil {
			b.Fatal(err)
		}
	}
}
