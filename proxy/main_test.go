package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/testenv"
)

func TestMigrateAppliesTheSchemaAndExits(t *testing.T) {
	t.Parallel()
	env := testenv.Environ(t, testenv.NewQueues(t, 5, 30*time.Second), map[string]string{
		"HTTP_ADDR": "127.0.0.1:1", // never listened on: migrate serves nothing
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	require.NoError(t, run(ctx, []string{"migrate"}, env, &bytes.Buffer{}, &logs))
	assert.Contains(t, logs.String(), "migrations applied")

	db := testenv.OpenDB(t, env["DATABASE_URL"])
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM numbers`).Scan(&n), "the numbers table exists")
	assert.Zero(t, n)
}

func TestHelpAndUnknownCommands(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"help", "-h", "--help"} {
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), []string{arg}, map[string]string{}, &out, &bytes.Buffer{}), arg)
		assert.Contains(t, out.String(), "proxy migrate", arg)
	}
	err := run(context.Background(), []string{"serve"}, map[string]string{}, &bytes.Buffer{}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown command "serve"`)
}

// The answers the HTTP server gives without the handler (503 past the
// connection bound, 413 to a body too large) are in the proxy's metrics,
// under the route "server", as the handler's own answers are under theirs.
func TestTheServersOwnAnswersAreInTheMetrics(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	env := testenv.Environ(t, testenv.NewQueues(t, 5, 30*time.Second), map[string]string{
		"HTTP_ADDR": addr, "HTTP_MAX_CONNS": "1", "MIGRATE": "true", "LOG_LEVEL": "warn",
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, env, &bytes.Buffer{}, testenv.LogWriter(t)) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	dial := func() net.Conn {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	testenv.Eventually(t, time.Minute, "the proxy listens", func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})

	// Each connection closes once answered, but the server counts it
	// closed only a moment later: a request in that moment is past the
	// bound too. So the test counts every 503 it gets.
	got503 := 0
	status := func(req string) int {
		t.Helper()
		code, _ := roundTrip(t, dial(), req)
		if code == http.StatusServiceUnavailable {
			got503++
		}
		return code
	}
	held := dial() // open, idle between requests: the bound of one is full
	code, _ := roundTrip(t, held, "GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n")
	require.Equal(t, http.StatusOK, code)
	post := "POST /api/values HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"value\": 7}"
	assert.Equal(t, http.StatusServiceUnavailable, status(post), "past the bound")
	require.NoError(t, held.Close())

	large := `{"value": 7}` + strings.Repeat(" ", 5000)
	testenv.Eventually(t, time.Minute, "a body too large is answered 413", func() bool {
		return status("POST /api/values HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: "+
			strconv.Itoa(len(large))+"\r\n\r\n"+large) == http.StatusRequestEntityTooLarge
	})
	var body string
	testenv.Eventually(t, time.Minute, "the metrics are served", func() bool {
		var code int
		code, body = roundTrip(t, dial(), "GET /metrics HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n")
		if code == http.StatusServiceUnavailable {
			got503++
			return false
		}
		return true
	})
	var requests []string
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, "numbers_http_requests_total{") {
			requests = append(requests, strings.TrimSpace(line))
		}
	}
	assert.Contains(t, requests, `numbers_http_requests_total{code="503",route="server"} `+strconv.Itoa(got503))
	assert.Contains(t, requests, `numbers_http_requests_total{code="413",route="server"} 1`)
}

// roundTrip sends req on conn and returns the answer's status and body.
func roundTrip(t *testing.T, conn net.Conn, req string) (int, string) {
	t.Helper()
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	_, err := io.WriteString(conn, req)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	return res.StatusCode, string(b)
}
