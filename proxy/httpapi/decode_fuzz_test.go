package httpapi

import (
	"strconv"
	"testing"
)

func FuzzParseValueBody(f *testing.F) {
	for _, s := range []string{`{"value": 42}`, `{"value":"-9223372036854775808"}`, `{"value": 1e3}`, `{"value": null}`,
		`[]`, `{"value": "007"}`, `{"value": 9223372036854775808}`, ``, `{"value":1}{}`,
		" {\t\"value\" :\r\n-12 } \n", `{"value":-}`, `{"value":01}`, `{"value":-0}`, `{"value":1.0}`, `{"valu\u0065":1}`,
		`{"value":1,"value":2}`, `{"value":1`, `{"value":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		quick, quickOK := plainValue(body)
		v, err := parseValueBody(body)
		full, fullErr := parseValueBodyFull(body)
		if quickOK && (fullErr != nil || full != quick) {
			t.Fatalf("the quick read takes %q as %d, the full parse as %d, %v", body, quick, full, fullErr)
		}
		if err != nil {
			return
		}
		// Whatever is accepted must be the canonical form of v, as a JSON
		// number or a string: re-encoding v and parsing again agrees.
		again, err := parseValueBody([]byte(`{"value":` + strconv.FormatInt(v, 10) + `}`))
		if err != nil || again != v {
			t.Fatalf("accepted %q as %d but its canonical form gives %d, %v", body, v, again, err)
		}
	})
}

// The quick read must take the shapes clients send, or it saves nothing.
func TestPlainValueReadsTheCommonShapes(t *testing.T) {
	for body, want := range map[string]int64{
		`{"value":42}`:                    42,
		`{"value": -9223372036854775808}`: -9223372036854775808,
		" {\n  \"value\" : 7\r\n}\n":      7,
	} {
		if got, ok := plainValue([]byte(body)); !ok || got != want {
			t.Errorf("plainValue(%q) = %d, %v; want %d, true", body, got, ok, want)
		}
	}
}
