// Command floor is the benchmark's floor: a bare net/http server that
// answers every POST with a fixed 202 and does nothing else, so that the
// CPU a write costs in numbers and in the original app can be read as a
// multiple of what serving the request alone costs (make bench).
//
//	floor -addr 127.0.0.1:48090
//
// With -wait it is a floor that waits like the proxy: each POST is held
// until a batch it joined is answered, the batch lingering -wait from its
// first post and its "call" taking -call (a sleep, no CPU), with no SQS, no
// validation and no event. What it costs over the plain floor is what the
// proxy's way of answering a 202 only once SQS has the message (park each
// post, wake a batch of them) costs by itself, apart from the SDK and the
// handler (docs/benchmarks.md, "What is left"):
//
//	floor -addr 127.0.0.1:48090 -wait 20ms -call 1ms
//
// With -server fasthttp it is the same floor on valyala/fasthttp, the
// proxy's server: what serving a write alone costs there
// (docs/benchmarks.md, "The proxy's server").
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:48090", "listen address")
	wait := flag.Duration("wait", 0, "hold each POST until its batch, lingering this long from its first post, is answered (0: answer at once)")
	call := flag.Duration("call", time.Millisecond, "with -wait: how long a batch's call takes (a sleep)")
	server := flag.String("server", "net/http", "the HTTP server: net/http (the issue's floor) or fasthttp (the proxy's)")
	flag.Parse()
	var hold func()
	if *wait > 0 {
		hold = batcher(*wait, *call, nil)
	}
	body := []byte(`{"id":"00000000-0000-7000-8000-000000000000"}` + "\n")
	switch *server {
	case "net/http":
	case "fasthttp":
		serveFast(*addr, hold, body)
		return
	default:
		fmt.Fprintf(os.Stderr, "floor: -server must be net/http or fasthttp, got %q\n", *server)
		os.Exit(2)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNoContent) // readiness probes
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		if hold != nil {
			hold()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// serveFast is the floor on fasthttp: the same answers, with some of the
// proxy's server's settings. Not its write timeout (a deadline set for
// every answer) nor its 8 KiB read buffer: a floor a little below the
// proxy's own server.
func serveFast(addr string, hold func(), body []byte) {
	srv := &fasthttp.Server{
		Handler: func(c *fasthttp.RequestCtx) {
			if !c.IsPost() {
				c.SetStatusCode(http.StatusNoContent) // readiness probes
				return
			}
			_ = c.PostBody()
			if hold != nil {
				hold()
			}
			c.Response.Header.SetContentType("application/json")
			c.SetStatusCode(http.StatusAccepted)
			c.SetBody(body)
		},
		ReadTimeout:                  5 * time.Second,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
	}
	if err := srv.ListenAndServe(addr); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// batcher starts the two goroutines of the Publisher's shape (a loop that
// forms batches, a sender that answers them) and returns what a POST calls
// to wait for its batch's answer; onBatch, when not nil, is told each
// batch's size. Like the Publisher's loop, the loop is woken by a batch's
// first post only, sleeps through the linger and then takes every post that
// came meanwhile. It is simpler than the Publisher where that does not
// matter at the bench's rates (a batch of 20 ms at 2,400/s holds ~48 posts):
// one sender, not sixteen, so a call longer than the linger would fall
// behind; no cap on a batch (the Publisher's is 100); and every post waits
// for the linger, a lone one too, where the Publisher sends a lone post at
// once. The two goroutines live as long as the process.
func batcher(linger, call time.Duration, onBatch func(n int)) (hold func()) {
	posts := make(chan chan struct{}, 4096)
	batches := make(chan []chan struct{}, 16)
	go func() {
		for b := range batches {
			time.Sleep(call)
			for _, done := range b {
				done <- struct{}{}
			}
		}
	}()
	go func() {
		for {
			b := []chan struct{}{<-posts}
			time.Sleep(linger)
			for more := true; more; {
				select {
				case done := <-posts:
					b = append(b, done)
				default:
					more = false
				}
			}
			if onBatch != nil {
				onBatch(len(b))
			}
			batches <- b
		}
	}()
	return func() {
		done := make(chan struct{}, 1)
		posts <- done
		<-done
	}
}
