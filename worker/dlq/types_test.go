package dlq

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/testenv"
)

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
	src, dst := setup(t), setup(t)
	store := testenv.Store(t)
	in := message.Message{Body: "not an event", Attributes: typed()}
	put(t, src.Main, in)

	// Dead-lettering keeps them, beside the reason.
	require.Equal(t, 1, work(t, src, store).Poisoned)
	dead := contents(t, src.DLQ)
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
	imported := contents(t, dst.DLQ)
	require.Len(t, imported, 1)
	assert.Equal(t, dead[0].Attributes, imported[0].Attributes, "import gives back every attribute as it was")
	assert.Equal(t, reason, imported[0].Attributes[message.AttrDLQReason])

	// Replay sends them back as they were, with the count.
	res, err := replayer(dst, ReplayConfig{}).Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Replayed)
	back := contents(t, dst.Main)
	require.Len(t, back, 1)
	for k, a := range typed() {
		assert.Equal(t, a, back[0].Attributes[k], "replayed: %s", k)
	}
	assert.Equal(t, "1", back[0].Text(message.AttrReplayCount))
}

func TestImportReadsFilesWithPlainStringAttributes(t *testing.T) {
	recs, err := ReadRecords(strings.NewReader(`{"body":"old","attributes":{"request_id":"r-1","dlq_reason":"malformed"}}` + "\n" +
		`{"body":"new","attributes":{"n":{"type":"Number","value":"3"},"b":{"type":"Binary","binary":"AQI="}}}` + "\n"))
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, map[string]message.Attribute{"request_id": message.String("r-1"), "dlq_reason": message.String("malformed")}, recs[0].Message().Attributes)
	assert.Equal(t, map[string]message.Attribute{"n": {DataType: "Number", StringValue: "3"}, "b": {DataType: "Binary", BinaryValue: []byte{1, 2}}},
		recs[1].Message().Attributes)

	for _, bad := range []string{
		`{"body":"b","attributes":{"n":{"value":"3"}}}`,
		`{"body":"b","attributes":{"n":{"type":"Number"}}}`,
		`{"body":"b","attributes":{"n":{"type":"Binary","binary":"%%%"}}}`,
		`{"body":"b","attributes":{"n":{"type":"Number","value":"three"}}}`,
		`{"body":"b","attributes":{"n":{"type":"Text","value":"x"}}}`,
		`{"body":"b","attributes":{"n":7}}`,
	} {
		_, err := ReadRecords(strings.NewReader(bad + "\n"))
		assert.ErrorContains(t, err, "line 1: ", bad)
	}
}
