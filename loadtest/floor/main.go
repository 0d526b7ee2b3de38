// Command floor is the benchmark's floor: a bare net/http server that
// answers every POST with a fixed 202 and does nothing else, so that the
// CPU a write costs in numbers and in the original app can be read as a
// multiple of what serving the request alone costs (make bench).
//
//	floor -addr 127.0.0.1:48090
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:48090", "listen address")
	flag.Parse()
	body := []byte(`{"id":"00000000-0000-7000-8000-000000000000"}` + "\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNoContent) // readiness probes
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
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
