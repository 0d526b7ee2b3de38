package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// batchFigure is a Prometheus histogram of events per SQS call (an
// aggregated message counts its events).
type batchFigure struct {
	name, url, metric string
}

// histSum is a histogram's _sum and _count.
type histSum struct{ sum, count float64 }

// readBatches scrapes each figure's histogram; one that cannot be read is
// left out (the step then reports no figure for it rather than a wrong one).
func readBatches(ctx context.Context, figs []batchFigure) map[string]histSum {
	out := map[string]histSum{}
	for _, f := range figs {
		if h, ok := scrapeHist(ctx, f.url, f.metric); ok {
			out[f.name] = h
		}
	}
	return out
}

// perCall is the mean events per call between two readings.
func perCall(before, after map[string]histSum) map[string]float64 {
	out := map[string]float64{}
	for name, a := range after {
		b, ok := before[name]
		if !ok || a.count <= b.count {
			continue
		}
		out[name] = (a.sum - b.sum) / (a.count - b.count)
	}
	return out
}

// scrapeHist reads metric's _sum and _count from a Prometheus text page.
func scrapeHist(ctx context.Context, url, metric string) (histSum, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return histSum{}, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return histSum{}, false
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return histSum{}, false
	}
	f, ok := families[metric]
	if !ok || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetHistogram() == nil {
		return histSum{}, false
	}
	h := f.GetMetric()[0].GetHistogram()
	return histSum{sum: h.GetSampleSum(), count: float64(h.GetSampleCount())}, true
}
