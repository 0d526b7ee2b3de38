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

// parseValueBody is the pure part of decodeValue (fuzzed).
func parseValueBody(body []byte) (int64, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return 0, errors.New(`body is empty: send {"value": <integer>}`)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return 0, fmt.Errorf(`body must be a JSON object like {"value": 42}, got a JSON %s`, typeErr.Value)
		}
		return 0, errors.New(`body is not valid JSON: send {"value": <integer>}`)
	}
	if obj == nil {
		return 0, errors.New(`body must be a JSON object like {"value": 42}, got null`)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return 0, errors.New("body has data after the JSON object")
	}
	if k := duplicateKey(body); k != "" {
		return 0, fmt.Errorf("field %q appears more than once", k)
	}
	for k := range obj {
		if k != "value" {
			return 0, fmt.Errorf("unknown field %q: only \"value\" is accepted", k)
		}
	}
	raw, ok := obj["value"]
	if !ok {
		return 0, errors.New(`field "value" is required`)
	}
	var v int64
	var err error
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
		return 0, fmt.Errorf(`"value" %s`, unwrapInvalid(err))
	}
	return v, nil
}

// unwrapInvalid drops the "invalid: " prefix of number.ErrInvalid for
// messages meant for people.
func unwrapInvalid(err error) string {
	msg := err.Error()
	prefix := number.ErrInvalid.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

// duplicateKey returns a key that appears twice in the top-level object of
// body (already known to be a valid JSON object), or "". Go's decoder would
// silently keep the last one; an ambiguous request is refused instead.
func duplicateKey(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the opening brace
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		key, _ := t.(string)
		if seen[key] {
			return key
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}
