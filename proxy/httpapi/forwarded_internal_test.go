package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestForwardedForClientIsTheEntryTheTrustedHopsAppendedAcrossEveryLine(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		hops  int
		want  string
	}{
		{"one line, the ALB's entry last", []string{"1.2.3.4, 5.6.7.8"}, 1, "5.6.7.8"},
		{"two lines: the ALB's entry is on the last", []string{"1.1.1.1", "2.2.2.2"}, 1, "2.2.2.2"},
		{"two lines, several entries each", []string{"9.9.9.9, 1.1.1.1", "3.3.3.3, 2.2.2.2"}, 1, "2.2.2.2"},
		{"two hops (CloudFront, then the ALB)", []string{"9.9.9.9, 1.1.1.1", "2.2.2.2"}, 2, "1.1.1.1"},
		{"two hops counted across lines", []string{"1.1.1.1", "2.2.2.2", "3.3.3.3"}, 2, "2.2.2.2"},
		{"fewer entries than hops: the left-most", []string{"2.2.2.2"}, 3, "2.2.2.2"},
		{"empty entries and lines are skipped", []string{"", " , 1.1.1.1,", "  ", "2.2.2.2 , "}, 1, "2.2.2.2"},
		{"a zero hop count is the default, 1", []string{"1.1.1.1, 2.2.2.2"}, 0, "2.2.2.2"},
		{"no entry at all: the peer address", []string{" , "}, 1, "10.0.0.9"},
		{"no header: the peer address", nil, 1, "10.0.0.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/values", nil)
			req.RemoteAddr = "10.0.0.9:443"
			for _, l := range tt.lines {
				req.Header.Add("X-Forwarded-For", l)
			}
			e := newEdge(EdgeConfig{TrustForwardedFor: true, ForwardedForHops: tt.hops}, time.Now)
			assert.Equal(t, tt.want, e.clientKey(req))
			assert.Equal(t, "10.0.0.9", newEdge(EdgeConfig{ForwardedForHops: tt.hops}, time.Now).clientKey(req), "untrusted: the peer")
		})
	}
}
