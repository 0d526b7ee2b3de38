package httpapi

import (
	"strconv"
	"testing"
)

func FuzzParseValueBody(f *testing.F) {
	for _, s := range []string{`{"value": 42}`, `{"value":"-9223372036854775808"}`, `{"value": 1e3}`, `{"value": null}`,
		`[]`, `{"value": "007"}`, `{"value": 9223372036854775808}`, ``, `{"value":1}{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := parseValueBody(body)
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
