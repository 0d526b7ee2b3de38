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

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue/sqsfake"
	"github.com/numbers-app/numbers/worker/dlq"
	"github.com/numbers-app/numbers/worker/dlq/dlqtest"
)

func TestExportThenImportRestoresBodiesAndAttributes(t *testing.T) {
	t.Parallel()
	src, dst := dlqtest.Setup(t), dlqtest.Setup(t)
	weird := message.Message{Body: "not json at all: <&> \"quoted\" ünïcode\ttab", Attributes: dlqtest.Texts(map[string]string{"request_id": "r-1"})}
	msgs := []message.Message{dlqtest.Poison(1), dlqtest.Valid(t, 7), weird}
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
