package dlq

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseRecord feeds the import line parser arbitrary lines: it must
// never panic, every error must say what is wrong, and whatever it accepts
// must be a message SQS accepts that exports and imports back unchanged.
// Seeds: testdata/fuzz/FuzzParseRecord. Longer runs:
// go test -fuzz=FuzzParseRecord -fuzztime=5m ./worker/dlq/
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		`{"body":"x"}`,
		`{"body":"x","attributes":{"a":"b"}}`,
		`{"body":"x","attributes":{"n":{"type":"Number","value":"1"},"b":{"type":"Binary","binary":"AQI="}}}`,
		`{"body":"\u0000"}`,
		`{"body":""}`,
		`{"attributes":{}}`,
		`{"body":"x","attributes":{"n":{"type":"Binary","value":"x"}}}`,
		`[1,2]`,
		`{"body":"😀","attributes":{"s":{"type":"String.json","value":"{}"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := ParseRecord(line)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("an error that says nothing for %q", line)
			}
			return
		}
		m := rec.Message()
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted a record SQS refuses (%v): %q", err, line)
		}
		out, err := json.Marshal(NewRecord(m))
		if err != nil {
			t.Fatalf("export of an accepted record: %v", err)
		}
		back, err := ParseRecord(out)
		if err != nil {
			t.Fatalf("its own export is refused (%v): %s", err, out)
		}
		if got := back.Message(); got.Body != m.Body || !reflect.DeepEqual(got.Attributes, m.Attributes) {
			t.Fatalf("export and import changed %+v into %+v", m, got)
		}
	})
}
