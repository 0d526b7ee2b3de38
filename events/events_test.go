package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// goldenEvent is the body of testdata/number_submitted.json.
func goldenEvent(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/number_submitted.json")
	require.NoError(t, err)
	return string(b)
}

func TestGoldenFixtureRoundTrips(t *testing.T) {
	golden := goldenEvent(t)
	sub, err := events.Decode(golden)
	require.NoError(t, err)
	assert.Equal(t, number.Submission{
		ID:         "019abc6e-8f2a-7c3d-9e1f-2a3b4c5d6e7f",
		Value:      math.MaxInt64,
		AcceptedAt: time.Date(2026, 11, 27, 8, 30, 0, 123456000, time.UTC),
		RequestID:  "req-7f3a9c",
	}, sub)

	msg, err := events.Encode(sub)
	require.NoError(t, err)
	assert.JSONEq(t, golden, msg.Body, "encoding the decoded fixture gives the fixture back")
	assert.Equal(t, "req-7f3a9c", msg.Text(events.AttrRequestID))
	assert.Equal(t, events.TypeNumberSubmitted, msg.Text(events.AttrEventType))
}

func TestEncodeDecodeKeepsEveryInt64Exactly(t *testing.T) {
	for _, v := range []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, 1 << 53, 1<<53 + 1, math.MaxInt64} {
		sub := number.Submission{ID: "019abc6e-8f2a-7c3d-9e1f-2a3b4c5d6e7f", Value: v,
			AcceptedAt: time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.FixedZone("x", 3600))}
		msg, err := events.Encode(sub)
		require.NoError(t, err)
		got, err := events.Decode(msg.Body)
		require.NoError(t, err)
		assert.Equal(t, v, got.Value)
		assert.Equal(t, number.Truncate(sub.AcceptedAt), got.AcceptedAt, "accepted_at is kept in UTC to the microsecond")
	}
}

func TestDecodeRejectsPoisonWithReason(t *testing.T) {
	valid := map[string]any{"type": "number.submitted", "version": 1, "id": "019abc6e-8f2a-7c3d-9e1f-2a3b4c5d6e7f",
		"value": 5, "accepted_at": "2026-11-27T08:30:00.123456Z", "request_id": "r"}
	with := func(k string, v any) string {
		m := map[string]any{}
		for kk, vv := range valid {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name, body, reason string
	}{
		{"not JSON at all", "hello", events.ReasonMalformed},
		{"an empty body", "", events.ReasonMalformed},
		{"a JSON array", "[1]", events.ReasonMalformed},
		{"two objects", with("value", 5) + "{}", events.ReasonMalformed},
		{"a value as a string", with("value", "5"), events.ReasonInvalidField},
		{"an unknown version", with("version", 2), events.ReasonUnknownVersion},
		{"a fractional version", with("version", 1.5), events.ReasonUnknownVersion},
		{"an unknown type", with("type", "number.deleted"), events.ReasonUnknownType},
		{"an accepted_at in year 0000, which Postgres refuses", with("accepted_at", "0000-01-01T00:00:00Z"), events.ReasonInvalidField},
		{"no type", with("type", nil), events.ReasonMissingField},
		{"no version", with("version", nil), events.ReasonMissingField},
		{"no id", with("id", nil), events.ReasonMissingField},
		{"no value", with("value", nil), events.ReasonMissingField},
		{"no accepted_at", with("accepted_at", nil), events.ReasonMissingField},
		{"no request_id", with("request_id", nil), events.ReasonMissingField},
		{"an id that is not a UUID", with("id", "abc"), events.ReasonInvalidField},
		{"a value above int64", `{"type":"number.submitted","version":1,"id":"019abc6e-8f2a-7c3d-9e1f-2a3b4c5d6e7f","value":9223372036854775808,"accepted_at":"2026-11-27T08:30:00Z","request_id":""}`, events.ReasonInvalidField},
		{"a fractional value", with("value", 1.5), events.ReasonInvalidField},
		{"a value with an exponent", `{"type":"number.submitted","version":1,"id":"019abc6e-8f2a-7c3d-9e1f-2a3b4c5d6e7f","value":1e3,"accepted_at":"2026-11-27T08:30:00Z","request_id":""}`, events.ReasonInvalidField},
		{"a timestamp that is not RFC 3339", with("accepted_at", "yesterday"), events.ReasonInvalidField},
		{"a timestamp not in UTC", with("accepted_at", "2026-11-27T08:30:00+01:00"), events.ReasonInvalidField},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is poison", func(t *testing.T) {
			_, err := events.Decode(tt.body)
			require.Error(t, err)
			assert.ErrorIs(t, err, events.ErrInvalidEvent)
			var de *events.DecodeError
			require.True(t, errors.As(err, &de))
			assert.Equal(t, tt.reason, de.Reason)
		})
	}
	t.Run("unknown extra fields are ignored", func(t *testing.T) {
		_, err := events.Decode(with("extra", true))
		assert.NoError(t, err)
	})
}

// The SQS adapter's senders are events.Senders (the adapter does not import
// events; the proof lives here).
var (
	_ events.Sender = (*sqsqueue.Publisher)(nil)
	_ events.Sender = sqsqueue.Queue{}
)

type recordingSender struct{ got []message.Message }

func (r *recordingSender) Send(_ context.Context, m message.Message) error {
	r.got = append(r.got, m)
	return nil
}

func TestEnqueuerSendsTheEncodedEvent(t *testing.T) {
	s := &recordingSender{}
	sub := number.Submission{ID: "019abc6e-8f2a-7c3d-9e1f-2a3b4c5d6e7f", Value: -42, AcceptedAt: time.Now(), RequestID: "rq"}
	require.NoError(t, events.Enqueuer{Sender: s}.Enqueue(context.Background(), sub))
	require.Len(t, s.got, 1)
	back, err := events.Decode(s.got[0].Body)
	require.NoError(t, err)
	assert.Equal(t, int64(-42), back.Value)
	assert.Equal(t, "rq", back.RequestID)
}

func FuzzDecode(f *testing.F) {
	f.Add(goldenEvent(f))
	f.Add(`{"type":"number.submitted","version":2}`)
	f.Add(`{"value":1e400}`)
	f.Fuzz(func(t *testing.T, body string) {
		sub, err := events.Decode(body)
		if err != nil {
			if !errors.Is(err, events.ErrInvalidEvent) {
				t.Fatalf("decode error %v does not wrap ErrInvalidEvent", err)
			}
			return
		}
		// Whatever decodes must encode and decode to the same submission.
		msg, err := events.Encode(sub)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := events.Decode(msg.Body)
		if err != nil || again != sub {
			t.Fatalf("round trip changed %+v into %+v (%v)", sub, again, err)
		}
	})
}

// FuzzEncodeIsWhatJSONMarshalWrites holds Encode's hand-appended body to
// what json.Marshal writes for the same NumberSubmitted: the same fields in
// the same order with the same values. The bytes are equal but for how a
// string escapes HTML characters and invalid UTF-8 (both valid JSON).
func FuzzEncodeIsWhatJSONMarshalWrites(f *testing.F) {
	f.Add(int64(math.MaxInt64), "req-7f3a9c", int64(1_795_000_000_123_456_789), 0)
	f.Add(int64(math.MinInt64), "", int64(0), 3600)
	f.Add(int64(-1), "a\"b\\c\n<&>\u2028\xff", int64(-62_135_596_800_000_000_000/1000), -1800)
	f.Fuzz(func(t *testing.T, value int64, requestID string, unixNano int64, zoneOffset int) {
		sub := number.Submission{ID: "019abc6e-8f2a-7c3d-9e1f-2a3b4c5d6e7f", Value: value,
			AcceptedAt: time.Unix(0, unixNano).In(time.FixedZone("z", zoneOffset%86400)), RequestID: requestID}
		msg, err := events.Encode(sub)
		require.NoError(t, err)
		rid := sub.RequestID
		want, err := json.Marshal(events.NumberSubmitted{Type: events.TypeNumberSubmitted, Version: json.RawMessage("1"),
			ID: sub.ID, Value: json.RawMessage(strconv.FormatInt(value, 10)),
			AcceptedAt: number.Truncate(sub.AcceptedAt).Format(time.RFC3339Nano), RequestID: &rid})
		require.NoError(t, err)
		if plain := !strings.ContainsAny(requestID, "<>&\u2028\u2029") && utf8.ValidString(requestID); plain {
			require.Equal(t, string(want), msg.Body)
			return
		}
		require.True(t, json.Valid([]byte(msg.Body)), "body %q is not JSON", msg.Body)
		var got, ref events.NumberSubmitted
		require.NoError(t, json.Unmarshal([]byte(msg.Body), &got))
		require.NoError(t, json.Unmarshal(want, &ref))
		require.Equal(t, ref, got)
	})
}

// encoded is the message of a valid submission of v.
func encoded(t *testing.T, v int64) message.Message {
	t.Helper()
	m, err := events.Encode(number.Submission{ID: uuid.NewString(), Value: v, AcceptedAt: time.Now(), RequestID: "rq-" + strconv.FormatInt(v, 10)})
	require.NoError(t, err)
	return m
}

func TestAnAggregateCarriesItsEventsInOrderAndDecodesToEachOfThem(t *testing.T) {
	msgs := []message.Message{encoded(t, 1), encoded(t, 2), encoded(t, 3)}
	agg := events.Aggregate(msgs)
	assert.True(t, json.Valid([]byte(agg.Body)), "the body is JSON: %s", agg.Body)
	assert.Equal(t, "3", agg.Text(events.AttrEventCount))
	assert.Equal(t, 3, events.Count(agg))
	assert.Equal(t, events.TypeNumberSubmitted, agg.Text(events.AttrEventType))
	assert.Equal(t, "1", agg.Text(events.AttrEventVersion))
	assert.Empty(t, agg.Text(events.AttrRequestID), "the request ids stay in the events")
	require.NoError(t, agg.Validate(), "SQS takes it")

	items, err := events.DecodeMessage(agg.Body)
	require.NoError(t, err)
	require.Len(t, items, 3)
	for i, it := range items {
		require.NoError(t, it.Err)
		want, err := events.Decode(msgs[i].Body)
		require.NoError(t, err)
		assert.Equal(t, want, it.Submission, "event %d", i)
		assert.JSONEq(t, msgs[i].Body, it.Body, "each item keeps its event's body, for a dead letter of its own")
	}
}

func TestALoneEventKeepsItsSingleEventForm(t *testing.T) {
	m := encoded(t, 7)
	assert.Equal(t, m, events.Aggregate([]message.Message{m}))
	assert.Equal(t, 1, events.Count(m))

	items, err := events.DecodeMessage(m.Body)
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.NoError(t, items[0].Err)
	assert.EqualValues(t, 7, items[0].Submission.Value)
	assert.Equal(t, m.Body, items[0].Body)

	items, err = events.DecodeMessage("not json")
	require.NoError(t, err, "a single body that fails is one poison item, as Decode says")
	require.Len(t, items, 1)
	assert.ErrorIs(t, items[0].Err, events.ErrInvalidEvent)
}

func TestOnePoisonEventInAnAggregateSpoilsOnlyItself(t *testing.T) {
	a, c := encoded(t, 1), encoded(t, 3)
	body := " \n[" + a.Body + `,{"type":"number.submitted","version":2},` + c.Body + "]"
	items, err := events.DecodeMessage(body)
	require.NoError(t, err)
	require.Len(t, items, 3)
	require.NoError(t, items[0].Err)
	require.NoError(t, items[2].Err)
	var de *events.DecodeError
	require.ErrorAs(t, items[1].Err, &de)
	assert.Equal(t, events.ReasonUnknownVersion, de.Reason)
	assert.Contains(t, de.Detail, "event 2 of 3", "the detail says which event of the message")
	assert.JSONEq(t, `{"type":"number.submitted","version":2}`, items[1].Body)
}

func TestABodyThatIsNoAggregateIsPoisonAsAWhole(t *testing.T) {
	for name, body := range map[string]string{
		"empty array":       "[]",
		"broken array":      "[" + encoded(t, 1).Body,
		"trailing data":     "[" + encoded(t, 1).Body + "] x",
		"nested, then data": "[[1]]x",
	} {
		t.Run(name, func(t *testing.T) {
			items, err := events.DecodeMessage(body)
			assert.Nil(t, items)
			var de *events.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, events.ReasonMalformed, de.Reason)
			assert.ErrorIs(t, err, events.ErrInvalidEvent)
		})
	}
	items, err := events.DecodeMessage("[[1],2]")
	require.NoError(t, err, "an array of anything is an aggregate; each element is judged alone")
	require.Len(t, items, 2)
	for _, it := range items {
		assert.ErrorIs(t, it.Err, events.ErrInvalidEvent)
	}
}

func TestCountReadsTheEventCountAndElseOne(t *testing.T) {
	for in, want := range map[string]int{"": 1, "1": 1, "24": 24, "0": 1, "-3": 1, "x": 1} {
		assert.Equal(t, want, events.CountOf(in), "event_count %q", in)
	}
}

// What Encode writes, Decode reads: an id in a form Decode refuses (the
// URN and braced forms uuid.Parse takes, no hyphens) is refused when
// encoding, not turned into poison for the consumer; so is upper case,
// which Decode takes but the API's reads (number.ValidID) do not.
func TestEncodeRefusesAnIDDecodeWouldRefuse(t *testing.T) {
	const id = "019abc6e-8f2a-7c3d-9e1f-2a3b4c5d6e7f"
	at := time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)
	m, err := events.Encode(number.Submission{ID: id, Value: 1, AcceptedAt: at})
	require.NoError(t, err)
	_, err = events.Decode(m.Body)
	require.NoError(t, err, "the canonical form goes through")
	for _, bad := range []string{"urn:uuid:" + id, "{" + id + "}", strings.ToUpper(id), strings.ReplaceAll(id, "-", ""), "", "not-a-uuid"} {
		_, err := events.Encode(number.Submission{ID: bad, Value: 1, AcceptedAt: at})
		assert.Error(t, err, "id %q", bad)
		assert.NotErrorIs(t, err, number.ErrInvalid, "an id is the caller's, not a client's input")
	}
}
