package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/numbers-app/numbers/shared/number"
)

// token reports whether s is an HTTP token (a valid method), as net/http's
// server requires before any handler runs.
func token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// fieldValue reports whether s may be a header value, as net/http's server
// requires (no control characters but tab).
func fieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// FuzzHandler sends any request the HTTP server would pass on (a valid
// method and request target, valid header values) to the whole handler on
// the real Postgres and local SQS: writes, reads with ids, cursors and
// limits, the legacy read, anything else. It never answers 5xx, and every
// 4xx is a JSON error.
func FuzzHandler(f *testing.F) {
	id := "0190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7f"
	cur := func(s string) string { return url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(s))) }
	type seed struct{ method, target, contentType, key, body string }
	for _, s := range []seed{
		{"POST", "/api/values", "application/json", "", `{"value": 42}`},
		{"POST", "/api/values", "application/json; charset=utf-8", "key-1", `{"value":"-9223372036854775808"}`},
		{"POST", "/api/values", "text/plain", "", `{"value": 1}`},
		{"POST", "/api/values", "application/json", "", `{"value": 9223372036854775808}`},
		{"POST", "/api/values", "", "k\x7f", `{"value": 1e3}`},
		{"GET", "/api/values", "", "", ""},
		{"GET", "/api/values?limit=2", "", "", ""},
		{"GET", "/api/values?limit=0&limit=2", "", "", ""},
		{"GET", "/api/values?limit=99999999999999999999", "", "", ""},
		{"GET", "/api/values?cursor=" + cur("2026-11-27T08:00:00.123456Z|"+id), "", "", ""},
		{"GET", "/api/values?cursor=" + cur("2026-11-27T08:00:00Z|urn:uuid:"+id), "", "", ""},
		{"GET", "/api/values?cursor=" + cur("2026-11-27T08:00:00Z|{"+strings.ToUpper(id)+"}"), "", "", ""},
		{"GET", "/api/values?cursor=" + cur("0000-01-01T00:00:00Z|"+id), "", "", ""},
		{"GET", "/api/values?cursor=" + cur("9999-12-31T23:59:59-23:59|"+id), "", "", ""},
		{"GET", "/api/values/" + id, "", "", ""},
		{"GET", "/api/values/urn:uuid:" + id, "", "", ""},
		{"GET", "/api/values/%7B" + id + "%7D", "", "", ""},
		{"GET", "/api/values/all", "", "", ""},
		{"GET", "/api/values/all?limit=1", "", "", ""},
		{"HEAD", "/api/values", "", "", ""},
		{"OPTIONS", "/api/values", "", "", ""},
		{"DELETE", "/api/values/" + id, "", "", ""},
		{"GET", "/healthz", "", "", ""},
		{"GET", "/nowhere/%00", "", "", ""},
	} {
		f.Add(s.method, s.target, s.contentType, s.key, []byte(s.body))
	}
	srv := realServer(f, nil)
	_, err := srv.Store.Insert(context.Background(), []number.Submission{{ID: id, Value: 7, AcceptedAt: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target, contentType, key string, body []byte) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") || !token(method) || !fieldValue(contentType) || !fieldValue(key) {
			return // net/http answers 400 itself; no handler runs
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Method, req.URL, req.RequestURI = method, u, target
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		srv.API.ServeHTTP(rec, req.WithContext(ctx))
		if rec.Code >= 500 {
			t.Fatalf("%s %q (Content-Type %q, key %q, body %q): %d %s", method, target, contentType, key, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e errorBody
			if rec.Header().Get("Content-Type") != "application/json" || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("%s %q: %d without a JSON error: %q %s", method, target, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		}
	})
}
