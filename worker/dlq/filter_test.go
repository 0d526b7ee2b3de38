package dlq

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

func TestRequestIDFindsAnEventInsideAnAggregate(t *testing.T) {
	agg := message.Message{ID: "agg", Body: `[{"request_id":"r1","value":1},{"request_id":"r2","value":2}]`,
		Attributes: map[string]message.Attribute{"event_count": message.String("2")}}
	single := message.Message{ID: "one", Body: `{"request_id":"r9"}`, Attributes: map[string]message.Attribute{"request_id": message.String("r9")}}
	for expr, want := range map[string][2]bool{ // matches agg, single
		"request_id=r2":        {true, false},
		"request_id=r9":        {false, true},
		"request_id!=r1":       {false, true},
		"request_id~r":         {true, true},
		"attr.request_id=r2":   {false, false},
		"request_id=,id=agg":   {true, false},
		"request_id=r3":        {false, false},
		"request_id~r2,id=agg": {true, false},
	} {
		f, err := ParseFilter(expr)
		require.NoError(t, err, expr)
		assert.Equal(t, want[0], f.Match(agg), "%s on the aggregate", expr)
		assert.Equal(t, want[1], f.Match(single), "%s on the single event", expr)
	}
}

func TestFilterRejectsWhatItCannotRead(t *testing.T) {
	for _, expr := range []string{"reason", "=x", "colour=red", "attr.=x", "reason!x", "reason=a,,"} {
		_, err := ParseFilter(expr)
		assert.Error(t, err, expr)
	}
}

func TestDescribeCountsTheEventsOfAnAggregate(t *testing.T) {
	agg := message.Message{ID: "agg", Body: `[{"request_id":"r1"},{"request_id":"r2"}]`,
		Attributes: map[string]message.Attribute{"event_count": message.String("2")}}
	assert.Contains(t, describe(agg), "request_id=-  events=2  body=[")
	single := message.Message{ID: "one", Body: `{}`, Attributes: map[string]message.Attribute{"request_id": message.String("r9")}}
	assert.Contains(t, describe(single), "request_id=r9  body={}")
}
