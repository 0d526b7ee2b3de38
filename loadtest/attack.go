package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"

	"github.com/numbers-app/numbers/loadtest/measure"
)

// accepted is one 202.
type accepted struct {
	ID      string
	Value   int64
	Latency time.Duration
}

// attackResult is what the attack saw.
type attackResult struct {
	Started, Ended time.Time
	Requested      int
	Accepted       map[int64]accepted // by value
	Statuses       map[int]int
	Errors         int
	ErrorSamples   []string
	MinValue       int64
	MaxValue       int64
	plot           *plot.Plot
}

// values are unique per run: a random 38-bit run number in the high bits and
// a 24-bit sequence in the low bits, so runs never collide and a range query
// finds exactly this run's rows.
func valueBase() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	run := int64(binary.BigEndian.Uint64(b[:]) >> 26) // 38 bits
	return run << 24
}

func attack(ctx context.Context, o Options, progress io.Writer) (*attackResult, error) {
	base := valueBase()
	var seq atomic.Int64
	url := strings.TrimRight(o.Target, "/") + "/api/values"
	limit := int64(o.Count) // 0: no limit but the duration
	targeter := func(t *vegeta.Target) error {
		n := seq.Add(1)
		if limit > 0 && n > limit {
			return vegeta.ErrNoTargets // ends the attack: exactly limit posts
		}
		v := base + n
		t.Method = http.MethodPost
		t.URL = url
		// The proxy echoes X-Request-Id, which is how a result is matched
		// to the value it posted (vegeta keeps response headers, not bodies
		// of requests).
		t.Header = http.Header{
			"Content-Type": []string{"application/json"},
			"X-Request-Id": []string{requestIDPrefix + strconv.FormatInt(v, 10)},
		}
		t.Body = []byte(`{"value": ` + strconv.FormatInt(v, 10) + `}`)
		return nil
	}
	atk, release := measure.NewAttacker(o.Workers, 0, o.Timeout)
	defer release()
	res := &attackResult{
		Accepted: map[int64]accepted{}, Statuses: map[int]int{}, MinValue: base + 1,
		plot: plot.New(plot.Title("numbers: POST /api/values latency"), plot.Downsample(4000), plot.Label(plot.ErrorLabeler)),
	}
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case <-ctx.Done():
			atk.Stop()
		case <-stopWatch:
		}
	}()

	var sent, ok, failed atomic.Int64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	total := int64(o.Rate) * int64(o.Duration/time.Second)
	duration := o.Duration
	if limit > 0 {
		// Exactly limit posts, however long the pacing takes on a busy
		// machine: the targeter ends the attack.
		total, duration = limit, 0
	}
	res.Started = time.Now()
	results := atk.Attack(vegeta.Targeter(targeter), vegeta.Rate{Freq: o.Rate, Per: time.Second}, duration, "numbers")
	if limit > 0 {
		fmt.Fprintf(progress, "attacking %s at %d/s: %d posts\n", url, o.Rate, total)
	} else {
		fmt.Fprintf(progress, "attacking %s at %d/s for %s (%d posts)\n", url, o.Rate, o.Duration, total)
	}
	for done := false; !done; {
		select {
		case r, more := <-results:
			if !more {
				done = true
				break
			}
			if r.Code == 0 && r.Error == vegeta.ErrNoTargets.Error() {
				continue // the end of a -count run, not a request
			}
			sent.Add(1)
			res.Requested++
			_ = res.plot.Add(r)
			if r.Code == 0 {
				res.Errors++
				failed.Add(1)
				if len(res.ErrorSamples) < 5 {
					res.ErrorSamples = append(res.ErrorSamples, r.Error)
				}
				continue
			}
			res.Statuses[int(r.Code)]++
			// 201 is the synchronous baseline's answer (WRITE_MODE=sync).
			if r.Code != http.StatusAccepted && r.Code != http.StatusCreated {
				failed.Add(1)
				continue
			}
			var body struct {
				ID string `json:"id"`
			}
			v, err := valueOf(r)
			if err != nil || json.Unmarshal(r.Body, &body) != nil || body.ID == "" {
				res.Errors++
				if len(res.ErrorSamples) < 5 {
					res.ErrorSamples = append(res.ErrorSamples, fmt.Sprintf("202 without an id: %q", r.Body))
				}
				continue
			}
			ok.Add(1)
			res.Accepted[v] = accepted{ID: body.ID, Value: v, Latency: r.Latency}
		case <-tick.C:
			elapsed := time.Since(res.Started).Seconds()
			fmt.Fprintf(progress, "  %5.1fs  sent %7d/%d  accepted %7d  failed %5d  %6.0f/s\n",
				elapsed, sent.Load(), total, ok.Load(), failed.Load(), float64(sent.Load())/elapsed)
		}
	}
	res.Ended = time.Now()
	last := seq.Load()
	if limit > 0 {
		last = min(last, limit)
	}
	res.MaxValue = base + last
	return res, nil
}

const requestIDPrefix = "lt-"

// valueOf recovers the posted value from the echoed request id.
func valueOf(r *vegeta.Result) (int64, error) {
	id := r.Headers.Get("X-Request-Id")
	if !strings.HasPrefix(id, requestIDPrefix) {
		return 0, fmt.Errorf("response has no X-Request-Id %s…", requestIDPrefix)
	}
	return strconv.ParseInt(id[len(requestIDPrefix):], 10, 64)
}

func (res *attackResult) writePlot(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	res.plot.Close()
	_, err = res.plot.WriteTo(f)
	return err
}
