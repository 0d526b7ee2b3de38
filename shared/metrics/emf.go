package metrics

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
)

// DefaultEMFInterval is the default for EMF.Interval.
const DefaultEMFInterval = time.Minute

// EMF copies the registry's numbers_* figures into the JSON log as
// CloudWatch Embedded Metric Format lines, so CloudWatch turns them into
// metrics without an agent. Counters and histogram counts are written as
// deltas since the previous line, gauges as values, histograms also as
// their average and p50/p99 (bucket upper bounds, interpolated) over the
// interval. One line per label set; the logger's "service" field and the
// labels are the dimensions.
type EMF struct {
	Gatherer prometheus.Gatherer
	Log      zerolog.Logger
	// Namespace in CloudWatch. Defaults to "numbers".
	Namespace string
	// Interval between lines. Defaults to DefaultEMFInterval.
	Interval time.Duration
	Now      func() time.Time

	last map[string]float64
}

// Run writes a batch of lines every Interval until ctx is cancelled, and a
// last one then.
func (e *EMF) Run(ctx context.Context) {
	if e.Interval <= 0 {
		e.Interval = DefaultEMFInterval
	}
	t := time.NewTicker(e.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			e.Flush()
			return
		case <-t.C:
			e.Flush()
		}
	}
}

type emfGroup struct {
	labels  map[string]string
	names   []string
	units   map[string]string
	metrics map[string]float64
}

// Flush writes one line per label set now.
func (e *EMF) Flush() {
	if e.last == nil {
		e.last = map[string]float64{}
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Namespace == "" {
		e.Namespace = Namespace
	}
	families, err := e.Gatherer.Gather()
	if err != nil {
		e.Log.Warn().Err(err).Msg("gather metrics for EMF")
	}
	groups := map[string]*emfGroup{}
	add := func(labels []*dto.LabelPair, name, unit string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		keyParts := make([]string, 0, len(labels))
		lm := map[string]string{}
		for _, l := range labels {
			keyParts = append(keyParts, l.GetName()+"="+l.GetValue())
			lm[l.GetName()] = l.GetValue()
		}
		key := strings.Join(keyParts, ",")
		g := groups[key]
		if g == nil {
			g = &emfGroup{labels: lm, units: map[string]string{}, metrics: map[string]float64{}}
			groups[key] = g
		}
		g.names = append(g.names, name)
		g.units[name] = unit
		g.metrics[name] = v
	}
	delta := func(id string, v float64) float64 {
		d := v - e.last[id]
		e.last[id] = v
		if d < 0 { // the process restarted its counter
			d = v
		}
		return d
	}
	for _, f := range families {
		full := f.GetName()
		if !strings.HasPrefix(full, Namespace+"_") {
			continue
		}
		name := strings.TrimPrefix(full, Namespace+"_")
		unit := "None"
		if strings.HasSuffix(name, "_seconds") {
			unit = "Seconds"
		}
		for _, m := range f.GetMetric() {
			id := full + labelKey(m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				add(m.GetLabel(), name, "Count", delta(id, m.GetCounter().GetValue()))
			case dto.MetricType_GAUGE:
				add(m.GetLabel(), name, unit, m.GetGauge().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				n := delta(id+"_count", float64(h.GetSampleCount()))
				sum := delta(id+"_sum", h.GetSampleSum())
				add(m.GetLabel(), name+"_count", "Count", n)
				if n == 0 {
					continue
				}
				add(m.GetLabel(), name+"_avg", unit, sum/n)
				bounds := make([]float64, len(h.GetBucket()))
				counts := make([]float64, len(h.GetBucket()))
				for i, b := range h.GetBucket() {
					bounds[i] = b.GetUpperBound()
					counts[i] = delta(id+"_le"+formatFloat(b.GetUpperBound()), float64(b.GetCumulativeCount()))
				}
				add(m.GetLabel(), name+"_p50", unit, quantile(.5, bounds, counts, n))
				add(m.GetLabel(), name+"_p99", unit, quantile(.99, bounds, counts, n))
			}
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := groups[k]
		dims := []string{"service"}
		for l := range g.labels {
			dims = append(dims, l)
		}
		sort.Strings(dims[1:])
		defs := make([]map[string]string, 0, len(g.names))
		for _, n := range g.names {
			defs = append(defs, map[string]string{"Name": n, "Unit": g.units[n]})
		}
		aws, _ := json.Marshal(map[string]any{
			"Timestamp": e.Now().UnixMilli(),
			"CloudWatchMetrics": []map[string]any{{
				"Namespace": e.Namespace, "Dimensions": [][]string{dims}, "Metrics": defs,
			}},
		})
		ev := e.Log.Log().RawJSON("_aws", aws)
		for l, v := range g.labels {
			ev = ev.Str(l, v)
		}
		for n, v := range g.metrics {
			ev = ev.Float64(n, v)
		}
		ev.Msg("metrics")
	}
}

func labelKey(ls []*dto.LabelPair) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString("|" + l.GetName() + "=" + l.GetValue())
	}
	return b.String()
}

func formatFloat(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// quantile estimates the q-quantile from cumulative bucket counts over n
// observations, interpolating linearly inside the bucket (as PromQL's
// histogram_quantile does).
func quantile(q float64, bounds, cumulative []float64, n float64) float64 {
	rank := q * n
	lower, below := 0.0, 0.0
	for i, c := range cumulative {
		if c >= rank {
			if c == below {
				return bounds[i]
			}
			return lower + (bounds[i]-lower)*(rank-below)/(c-below)
		}
		lower, below = bounds[i], c
	}
	// Beyond the last bucket: its bound is the best lower estimate.
	if len(bounds) > 0 {
		return bounds[len(bounds)-1]
	}
	return math.NaN()
}

// StartEMF runs an EMF writer in the background when interval > 0 and the
// log is JSON (format "json", or "auto" when out is not a terminal: the
// rules of shared/logging), and returns a func that writes a last line and
// stops it. Without EMF it returns a no-op.
func StartEMF(interval time.Duration, namespace, format string, out io.Writer, g prometheus.Gatherer, log zerolog.Logger) (stop func()) {
	f, isFile := out.(*os.File)
	tty := isFile && isatty.IsTerminal(f.Fd())
	if interval <= 0 || !(format == "json" || ((format == "auto" || format == "") && !tty)) {
		return func() {}
	}
	e := &EMF{Gatherer: g, Log: log, Namespace: namespace, Interval: interval}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Run(ctx)
	}()
	return func() { cancel(); <-done }
}
