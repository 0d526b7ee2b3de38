package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/numbers-app/numbers/shared/number"
)

// decodeValue reads {"value": N} where N is an int64 as a JSON number or as
// its canonical decimal string. It returns the status to answer on error.
func decodeValue(w http.ResponseWriter, r *http.Request) (int64, int, error) {
	// The exact "application/json" nearly every client sends needs no parse.
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return 0, http.StatusUnsupportedMediaType, fmt.Errorf("content type must be application/json, got %q", ct)
		}
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, MaxBodyBytes), r.ContentLength)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return 0, http.StatusRequestEntityTooLarge, fmt.Errorf("body is larger than %d bytes", MaxBodyBytes)
		}
		return 0, http.StatusBadRequest, errors.New("could not read the body")
	}
	v, err := parseValueBody(body)
	if err != nil {
		return 0, http.StatusBadRequest, err
	}
	return v, 0, nil
}

// readBody is io.ReadAll sized by the request's Content-Length (-1:
// unknown): a body of {"value": N} is some 30 bytes, and io.ReadAll's first
// buffer is 512. One byte more than announced lets the read that reports EOF
// find room, so a body as long as announced takes one allocation.
func readBody(r io.Reader, contentLength int64) ([]byte, error) {
	if contentLength < 0 || contentLength >= MaxBodyBytes {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, contentLength+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // longer than announced: grow as ReadAll does
		}
	}
}

// parseValueBody is the pure part of decodeValue (fuzzed): plainValue's
// quick read of the common shape, else parseValueBodyFull.
func parseValueBody(body []byte) (int64, error) {
	if v, ok := plainValue(body); ok {
		return v, nil
	}
	return parseValueBodyFull(body)
}

// plainValue reads the shape nearly every client sends, {"value":N} with N
// a canonical decimal integer and any JSON whitespace, without the
// tokenizer's allocations: the tokenizer was a sixth of a write's own CPU
// (BenchmarkPostValue). Anything else (a string value, an escaped key,
// another field, a number it refuses) is left to parseValueBodyFull, which
// words the errors. FuzzParseValueBody holds the two in agreement.
func plainValue(body []byte) (int64, bool) {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return 0, false
	}
	i = skipSpace(body, i+1)
	if !bytes.HasPrefix(body[i:], []byte(`"value"`)) {
		return 0, false
	}
	i = skipSpace(body, i+len(`"value"`))
	if i == len(body) || body[i] != ':' {
		return 0, false
	}
	i = skipSpace(body, i+1)
	start := i
	if i < len(body) && body[i] == '-' {
		i++
	}
	for i < len(body) && '0' <= body[i] && body[i] <= '9' {
		i++
	}
	digits := body[start:i]
	i = skipSpace(body, i)
	if i == len(body) || body[i] != '}' || skipSpace(body, i+1) != len(body) {
		return 0, false
	}
	v, err := number.ParseDecimal(string(digits))
	return v, err == nil
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace (RFC 8259, section 2), or len(b).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// parseValueBodyFull walks the top-level object token by token, so it sees
// what decoding into a map would hide: a repeated field (Go keeps the last;
// an ambiguous request is refused).
func parseValueBodyFull(body []byte) (int64, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return 0, errors.New(`body is empty: send {"value": <integer>}`)
	}
	notJSON := errors.New(`body is not valid JSON: send {"value": <integer>}`)
	if bytes.ContainsRune(body, '\u2212') {
		// {"value": −5} is not JSON at all; say what is wrong with it, as
		// the string form's message does.
		notJSON = errors.New(`body is not valid JSON: write the minus sign as the ASCII hyphen-minus '-', not the typographic minus U+2212: send {"value": -5}`)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return 0, notJSON
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return 0, fmt.Errorf(`body must be a JSON object like {"value": 42}, got %s`, jsonKind(tok))
	}
	var raw json.RawMessage
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, notJSON
		}
		key, _ := t.(string)
		if key != "value" {
			return 0, fmt.Errorf("unknown field %q: only \"value\" is accepted", key)
		}
		if raw != nil {
			return 0, errors.New(`field "value" appears more than once`)
		}
		if err := dec.Decode(&raw); err != nil {
			return 0, notJSON
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return 0, notJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return 0, errors.New("body has data after the JSON object")
	}
	if raw == nil {
		return 0, errors.New(`field "value" is required`)
	}
	var v int64
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errors.New(`"value" is not a valid JSON string`)
		}
		v, err = number.ParseDecimal(s)
	case 'n':
		return 0, errors.New(`"value" must be an integer, got null`)
	case 't', 'f':
		return 0, errors.New(`"value" must be an integer, got a boolean`)
	case '[':
		return 0, errors.New(`"value" must be an integer, got an array`)
	case '{':
		return 0, errors.New(`"value" must be an integer, got an object`)
	default:
		v, err = number.ParseDecimal(string(raw))
	}
	if err != nil {
		msg, _ := number.ErrorMessage(err)
		return 0, fmt.Errorf(`"value" %s`, msg)
	}
	return v, nil
}

// jsonKind names the JSON type of a token for error messages.
func jsonKind(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a JSON bool"
	case float64, json.Number:
		return "a JSON number"
	case string:
		return "a JSON string"
	case json.Delim:
		if t == '[' {
			return "a JSON array"
		}
	}
	return "something else"
}
