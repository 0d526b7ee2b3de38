package dlqcli

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue/sqsfake"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/dlq"
	"github.com/numbers-app/numbers/worker/dlq/dlqtest"
)

func TestExportThenImportRestoresBodiesAndAttributes(t *testing.T) {
	t.Parallel()
	src, dst := dlqtest.Setup(t), dlqtest.Setup(t)
	weird := message.Message{Body: "not json at all: <&> \"quoted\" ünïcode\ttab", Attributes: eventstest.Texts(map[string]string{"request_id": "r-1"})}
	msgs := []message.Message{eventstest.Poison(1), eventstest.Valid(t, 7), weird}
	dlqtest.Put(t, src.DLQ, msgs...)

	file := filepath.Join(t.TempDir(), "dlq.jsonl")
	out, err := runCLI(t, src, "export", "--file", file)
	require.NoError(t, err)
	assert.Contains(t, out, "exported 3 messages")
	assert.Len(t, dlqtest.Contents(t, src.DLQ), 3, "export consumed nothing")

	f, err := os.Open(file)
	require.NoError(t, err)
	recs, err := dlq.ReadRecords(f)
	f.Close()
	require.NoError(t, err)
	require.Len(t, recs, 3)

	out, err = runCLI(t, dst, "import", "--file", file)
	require.NoError(t, err)
	assert.Contains(t, out, "imported 3 of 3")
	want := map[string]map[string]message.Attribute{}
	for _, m := range msgs {
		want[m.Body] = m.Attributes
		if m.Text(message.AttrDLQReason) == "" { // marked as imported, not taken for a redrive
			want[m.Body] = maps.Clone(m.Attributes)
			want[m.Body][message.AttrDLQReason] = message.String(message.ReasonImported)
			want[m.Body][message.AttrDLQDetail] = message.String("imported from dlq.jsonl line " + lineOf(t, file, m.Body) + " without a reason")
		}
	}
	got := map[string]map[string]message.Attribute{}
	for _, m := range dlqtest.Contents(t, dst.DLQ) {
		got[m.Body] = m.Attributes
	}
	assert.Equal(t, want, got)
}

func TestImportChecksEveryLineBeforeSendingAny(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	file := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"body":"ok","attributes":{"a":"b"}}`+"\n"+`{"attributes":{}}`+"\n"), 0o644))
	_, err := runCLI(t, q, "import", "--file", file)
	require.ErrorContains(t, err, "line 2")
	assert.Empty(t, dlqtest.Contents(t, q.DLQ))
}

func TestImportReportsTheLinesTheQueueDidNotReportTaken(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	file := filepath.Join(t.TempDir(), "in.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"body":"one"}`+"\n"+`{"body":"two-lost"}`+"\n"+`{"body":"three"}`+"\n"), 0o644))
	fake := &sqsfake.Client{API: q.Client, Fault: sqsfake.Unreported, Pick: func(body string) bool { return strings.HasSuffix(body, "-lost") }}
	out, errOut, err := runWith(t, q, fake, "import", "--file", file)
	require.ErrorContains(t, err, "1 not imported (lines [2]")
	assert.Contains(t, out, "imported 2 of 3")
	assert.Contains(t, errOut, "line 2 not imported")
	assert.Contains(t, errOut, "did not report")
}

func TestImportRefusesALineSQSWouldRefuseNamingIt(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line, want string }{
		{"a body past the size limit", fmt.Sprintf(`{"body":"%s"}`, strings.Repeat("x", message.MaxRequestBytes+1)), "bytes (body and attributes), SQS allows"},
		{"a control character", `{"body":"a\u0001b"}`, "character U+0001"},
		{"too many attributes", `{"body":"b","attributes":{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1","j":"1","k":"1"}}`, "11 attributes"},
		{"a reserved attribute name", `{"body":"b","attributes":{"AWS.trace":"1"}}`, "reserved"},
		{"an empty attribute value", `{"body":"b","attributes":{"a":""}}`, "empty value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dlq.ReadRecords(strings.NewReader(`{"body":"fine"}` + "\n" + tt.line + "\n"))
			require.Error(t, err)
			assert.ErrorContains(t, err, "line 2: ")
			assert.ErrorContains(t, err, tt.want)
		})
	}
	q := dlqtest.Setup(t)
	file := filepath.Join(t.TempDir(), "big.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"body":"ok"}`+"\n"+tests[0].line+"\n"), 0o644))
	_, err := runCLI(t, q, "import", "--file", file)
	require.ErrorContains(t, err, "line 2")
	assert.Empty(t, dlqtest.Contents(t, q.DLQ), "nothing is imported from a file with a bad line")
}

// lineOf is the line of file that holds body (1-based, as text).
func lineOf(t *testing.T, file, body string) string {
	t.Helper()
	recs := readFile(t, file)
	for _, r := range recs {
		if r.Body == body {
			return fmt.Sprint(r.Line)
		}
	}
	t.Fatalf("%q not in %s", body, file)
	return ""
}

func readFile(t *testing.T, file string) []dlq.Record {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	recs, err := dlq.ReadRecords(f)
	require.NoError(t, err)
	return recs
}

// poison120KB is a legal message of about 120 KB that the worker can never
// store (an unknown version).
func poison120KB(i int) message.Message {
	return message.Message{
		Body:       fmt.Sprintf(`{"type":"number.submitted","version":2,"n":%d,"pad":"%s"}`, i, strings.Repeat("p", 120_000)),
		Attributes: map[string]message.Attribute{events.AttrRequestID: message.String(fmt.Sprint("big-", i))},
	}
}

func TestTenPoisonMessagesOf120KBAreDeadLetteredExportedImportedAndReplayed(t *testing.T) {
	t.Parallel()
	src, dst := dlqtest.Setup(t), dlqtest.Setup(t)
	store := testenv.Store(t)
	var msgs []message.Message
	for i := range 10 {
		msgs = append(msgs, poison120KB(i))
	}
	dlqtest.Put(t, src.Main, msgs...) // 1.2 MB: more than one SendMessageBatch

	done := dlqtest.Work(t, src, store)
	assert.Equal(t, 10, done.Poisoned, "all ten dead-lettered by the worker")
	dead := dlqtest.Contents(t, src.DLQ)
	require.Len(t, dead, 10)
	for _, m := range dead {
		assert.Equal(t, events.ReasonUnknownVersion, m.Text(message.AttrDLQReason), "with their reason")
	}
	assert.Equal(t, testenv.Bodies(msgs), testenv.Bodies(dead), "bodies intact")

	file := filepath.Join(t.TempDir(), "big.jsonl")
	out, err := runCLI(t, src, "export", "--file", file)
	require.NoError(t, err)
	assert.Contains(t, out, "exported 10 messages")
	out, err = runCLI(t, dst, "import", "--file", file)
	require.NoError(t, err)
	assert.Contains(t, out, "imported 10 of 10")
	imported := dlqtest.Contents(t, dst.DLQ)
	require.Len(t, imported, 10)
	for _, m := range imported {
		assert.Equal(t, events.ReasonUnknownVersion, m.Text(message.AttrDLQReason))
	}

	res, err := replay(t, dst), error(nil)
	require.NoError(t, err)
	assert.Equal(t, 10, res.Replayed)
	assert.Equal(t, 0, res.Problems())
	assert.Equal(t, testenv.Bodies(msgs), testenv.Bodies(dlqtest.Contents(t, dst.Main)), "replayed whole")
	assert.Empty(t, dlqtest.Contents(t, dst.DLQ))
}

// typed are attributes of every kind SQS keeps: String, Number, Binary and
// custom suffixes.
func typed() map[string]message.Attribute {
	return map[string]message.Attribute{
		"request_id": message.String("typed-1"),
		"amount":     {DataType: "Number", StringValue: "-12.50"},
		"count":      {DataType: "Number.int", StringValue: "7"},
		"doc":        {DataType: "String.json", StringValue: `{"a":[1,2]}`},
		"blob":       {DataType: "Binary", BinaryValue: []byte{0, 1, 2, 0xfe, 0xff}},
		"gz":         {DataType: "Binary.gzip", BinaryValue: []byte("\x1f\x8b")},
	}
}

func TestAttributeTypesSurviveDeadLetteringExportImportAndReplay(t *testing.T) {
	t.Parallel()
	src, dst := dlqtest.Setup(t), dlqtest.Setup(t)
	store := testenv.Store(t)
	in := message.Message{Body: "not an event", Attributes: typed()}
	dlqtest.Put(t, src.Main, in)

	// Dead-lettering keeps them, beside the reason.
	require.Equal(t, 1, dlqtest.Work(t, src, store).Poisoned)
	dead := dlqtest.Contents(t, src.DLQ)
	require.Len(t, dead, 1)
	for k, a := range typed() {
		assert.Equal(t, a, dead[0].Attributes[k], "dead-lettered: %s", k)
	}
	reason := dead[0].Attributes[message.AttrDLQReason]

	// Export writes the types; import restores them.
	file := filepath.Join(t.TempDir(), "typed.jsonl")
	_, err := runCLI(t, src, "export", "--file", file)
	require.NoError(t, err)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"count":{"type":"Number.int","value":"7"}`)
	assert.Contains(t, string(raw), `"blob":{"type":"Binary","binary":"AAEC/v8="}`)
	_, err = runCLI(t, dst, "import", "--file", file)
	require.NoError(t, err)
	imported := dlqtest.Contents(t, dst.DLQ)
	require.Len(t, imported, 1)
	assert.Equal(t, dead[0].Attributes, imported[0].Attributes, "import gives back every attribute as it was")
	assert.Equal(t, reason, imported[0].Attributes[message.AttrDLQReason])

	// Replay sends them back as they were, with the count.
	res, err := replay(t, dst), error(nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Replayed)
	back := dlqtest.Contents(t, dst.Main)
	require.Len(t, back, 1)
	for k, a := range typed() {
		assert.Equal(t, a, back[0].Attributes[k], "replayed: %s", k)
	}
	assert.Equal(t, "1", back[0].Text(message.AttrReplayCount))
}
