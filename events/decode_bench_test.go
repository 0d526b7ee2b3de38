package events_test

import (
	"testing"

	"github.com/numbers-app/numbers/events"
)

// BenchmarkDecode is the worker's CPU and allocations to decode one
// message body (the fixture). It was 9% of the worker's CPU at 2,400/s in
// make bench's profile, more than the insert, with a json.Decoder per body.
func BenchmarkDecode(b *testing.B) {
	body := goldenEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := events.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}
