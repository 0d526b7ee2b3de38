package dlq

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/message"
)

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

func TestMarkImportedLeavesAMessageWithoutRoomAsItIs(t *testing.T) {
	full := message.Message{Body: "b", Attributes: map[string]message.Attribute{}}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		full.Attributes[k] = message.String(k)
	}
	got, ok := MarkImported(full, "detail")
	assert.False(t, ok)
	assert.Equal(t, full, got)

	nine := message.Message{Body: "b", Attributes: map[string]message.Attribute{}}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
		nine.Attributes[k] = message.String(k)
	}
	got, ok = MarkImported(nine, "detail")
	assert.True(t, ok)
	assert.Equal(t, message.ReasonImported, got.Text(message.AttrDLQReason), "the reason before the detail")
	assert.Len(t, got.Attributes, 10)
}
