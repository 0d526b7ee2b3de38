// Package sqsfake puts faults on top of a real SQS server for tests: a
// client wrapper and a wire proxy that pass every call through and then
// tamper with SendMessageBatch answers, the way SQS answers a partial batch
// (an entry reported in neither Successful nor Failed, or in Failed).
package sqsfake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// Fault is what a tampered answer does to the entries it picks. The
// messages themselves reach the real queue or not as the real server
// decided; only the answer changes.
type Fault int

// Faults.
const (
	// Unreported leaves the entry out of both Successful and Failed.
	Unreported Fault = iota + 1
	// ServerError moves the entry to Failed as SQS's own fault
	// (InternalError, SenderFault false).
	ServerError
	// Throttled moves the entry to Failed as throttled (RequestThrottled).
	Throttled
	// Refused moves the entry to Failed as refused for its content
	// (InvalidMessageContents, SenderFault true).
	Refused
)

func (f Fault) entry(id string) types.BatchResultErrorEntry {
	switch f {
	case Throttled:
		return types.BatchResultErrorEntry{Id: aws.String(id), Code: aws.String("RequestThrottled"), Message: aws.String("sqsfake: throttled"), SenderFault: false}
	case Refused:
		return types.BatchResultErrorEntry{Id: aws.String(id), Code: aws.String("InvalidMessageContents"), Message: aws.String("sqsfake: refused"), SenderFault: true}
	default:
		return types.BatchResultErrorEntry{Id: aws.String(id), Code: aws.String("InternalError"), Message: aws.String("sqsfake: internal error"), SenderFault: false}
	}
}

// Client is the real client with SendMessageBatch answers tampered.
type Client struct {
	sqsqueue.API
	// Fault is applied to each successful entry Pick selects.
	Fault Fault
	// Pick selects entries by body; nil selects every entry.
	Pick func(body string) bool
	// Tampered counts entries whose answer was changed.
	Tampered atomic.Int64
}

var _ sqsqueue.API = (*Client)(nil)

// SendMessageBatch sends through the real client and tampers with the answer.
func (c *Client) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	out, err := c.API.SendMessageBatch(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	bodies := map[string]string{}
	for _, e := range in.Entries {
		bodies[aws.ToString(e.Id)] = aws.ToString(e.MessageBody)
	}
	var kept []types.SendMessageBatchResultEntry
	for _, s := range out.Successful {
		id := aws.ToString(s.Id)
		if c.Pick != nil && !c.Pick(bodies[id]) {
			kept = append(kept, s)
			continue
		}
		c.Tampered.Add(1)
		if c.Fault != Unreported {
			out.Failed = append(out.Failed, c.Fault.entry(id))
		}
	}
	out.Successful = kept
	return out, nil
}

// Proxy starts a wire proxy in front of the SQS server at upstream and
// returns its endpoint (for SQS_ENDPOINT / ClientConfig.Endpoint). Every
// request passes through; SendMessageBatch answers get fault applied to the
// entries pick selects (nil: all). It stops when the test ends.
func Proxy(t testing.TB, upstream string, fault Fault, pick func(body string) bool) (endpoint string, tampered *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("sqsfake: %v", err)
	}
	tampered = new(atomic.Int64)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.Header.Get("X-Amz-Target"), ".SendMessageBatch") || resp.StatusCode != http.StatusOK {
			return nil
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		bodies, _ := resp.Request.Context().Value(bodiesKey{}).(map[string]string)
		var ans struct {
			Successful []map[string]any `json:"Successful"`
			Failed     []map[string]any `json:"Failed"`
		}
		if err := json.Unmarshal(raw, &ans); err != nil {
			return err
		}
		var kept []map[string]any
		for _, s := range ans.Successful {
			id, _ := s["Id"].(string)
			if pick != nil && !pick(bodies[id]) {
				kept = append(kept, s)
				continue
			}
			tampered.Add(1)
			if fault != Unreported {
				e := fault.entry(id)
				ans.Failed = append(ans.Failed, map[string]any{
					"Id": id, "Code": aws.ToString(e.Code), "Message": aws.ToString(e.Message), "SenderFault": e.SenderFault,
				})
			}
		}
		if kept == nil {
			kept = []map[string]any{}
		}
		if ans.Failed == nil {
			ans.Failed = []map[string]any{}
		}
		ans.Successful = kept
		out, err := json.Marshal(ans)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(out))
		resp.ContentLength = int64(len(out))
		resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".SendMessageBatch") {
			raw, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(raw))
			var in struct {
				Entries []struct{ Id, MessageBody string } `json:"Entries"`
			}
			_ = json.Unmarshal(raw, &in)
			bodies := map[string]string{}
			for _, e := range in.Entries {
				bodies[e.Id] = e.MessageBody
			}
			r = r.WithContext(context.WithValue(r.Context(), bodiesKey{}, bodies))
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, tampered
}

type bodiesKey struct{}
