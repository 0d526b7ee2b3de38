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
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return 0, http.StatusUnsupportedMediaType, fmt.Errorf("content type must be application/json, got %q", ct)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
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

// parseValueBody is the pure part of decodeValue (fuzzed). It walks the
// top-level object token by token, so it sees what decoding into a map would
// hide: a repeated field (Go keeps the last; an ambiguous request is refused).
func parseValueBody(body []byte) (int64, error) {
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
