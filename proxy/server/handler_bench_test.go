package server

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

// BenchmarkServeWrite is the write's conversion on its own: a post with
// the headers an ALB and a client send, to a handler that reads what the
// proxy's reads and answers as answerWrite does.
func BenchmarkServeWrite(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.Header.Get("X-Forwarded-For")
		_ = r.Header.Get("Idempotency-Key")
		_ = r.Header.Get("Origin")
		_ = r.Header.Get("Content-Type")
		w.Header()["Location"] = []string{"/api/values/01a2352f-cd70-7de8-bb14-7f65ff648acc"}
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["Cache-Control"] = []string{"no-store"}
		w.Header()["X-Request-Id"] = []string{"01a2352f-cd70-7de8-bb14-7f65ff648acc"}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"id":"01a2352f-cd70-7de8-bb14-7f65ff648acc","status":"accepted"}` + "\n"))
	})
	serve := fastHandler(h, zerolog.Nop())
	var req fasthttp.Request
	req.Header.SetMethod(http.MethodPost)
	req.SetRequestURI(writePath)
	req.Header.SetHost("numbers.example.com")
	req.Header.SetContentType("application/json")
	req.Header.Set("User-Agent", "Go-http-client/1.1")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Port", "443")
	req.Header.Set("X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678")
	req.Header.Set("Accept-Encoding", "gzip")
	req.SetBodyString(`{"value":42}`)
	// A kept-alive connection, counted as the proxy's listener counts it.
	client, server := net.Pipe()
	defer client.Close()
	var open atomic.Int64
	conn := &countedConn{Conn: server, open: &open}
	defer conn.Close()
	var c fasthttp.RequestCtx
	c.Init2(conn, nil, true)
	b.ReportAllocs()
	for b.Loop() {
		req.CopyTo(&c.Request)
		c.Response.Reset()
		serve(&c)
	}
}
