package dlqcli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/worker/dlq"
)

// ReasonRedrive is how stats and peek name a message without a dlq_reason:
// one the main queue's redrive policy moved after maxReceiveCount receives.
const ReasonRedrive = "moved by the redrive policy (no reason recorded)"

// statsCmd is `worker dlq stats`.
type statsCmd struct {
	JSON   bool `name:"json" help:"Print JSON."`
	Sample int  `default:"1000" help:"Most messages read (and released at once) to find the oldest one and count reasons; 0 skips that. SQS has no peek: reading a message raises its receive count (harmless in the DLQ, which has no redrive policy of its own). With 0 only the queue's counters are read."`
}

// QueueFigures are a queue's approximate counters.
type QueueFigures struct {
	URL      string `json:"url"`
	Visible  int    `json:"visible"`
	InFlight int    `json:"in_flight"`
	Delayed  int    `json:"delayed"`
}

// StatsReport is what `stats --json` prints.
type StatsReport struct {
	QueueFigures
	// OldestAgeSeconds is now minus the earliest SentTimestamp among the
	// sampled messages (see README: SQS has no such attribute outside
	// CloudWatch). 0 when the queue is empty or Sample is 0.
	OldestAgeSeconds int64      `json:"oldest_age_seconds"`
	OldestSentAt     *time.Time `json:"oldest_sent_at,omitempty"`
	// OldestFailedAt is the earliest dlq_failed_at among the sampled
	// messages (when the worker dead-lettered them).
	OldestFailedAt string `json:"oldest_failed_at,omitempty"`
	// Sampled counts the messages read for the oldest age and reasons;
	// SampleComplete says it reached every visible message.
	Sampled        int            `json:"sampled"`
	SampleComplete bool           `json:"sample_complete"`
	Reasons        map[string]int `json:"reasons"`
	// MovedByRedrivePolicy counts the sampled messages without a
	// dlq_reason: the main queue's redrive policy moved them after
	// maxReceiveCount receives (repeated transient failures), so nobody
	// recorded why. They are also in Reasons under ReasonRedrive.
	MovedByRedrivePolicy int           `json:"moved_by_redrive_policy"`
	Main                 *QueueFigures `json:"main,omitempty"`
}

func figures(ctx context.Context, q dlq.Queue, url string) (QueueFigures, error) {
	s, err := q.Stats(ctx)
	if err != nil {
		return QueueFigures{}, err
	}
	return QueueFigures{URL: url, Visible: s.Visible, InFlight: s.InFlight, Delayed: s.Delayed}, nil
}

func (c *statsCmd) Run(ctx context.Context, a *app) (err error) {
	f, err := figures(ctx, a.dlq, a.target.DLQURL)
	if err != nil {
		return err
	}
	rep := StatsReport{QueueFigures: f, Reasons: map[string]int{}}
	if a.main != nil {
		m, err := figures(ctx, a.main, a.target.QueueURL)
		if err != nil {
			return err
		}
		rep.Main = &m
	}
	if c.Sample > 0 && f.Visible > 0 {
		sc := dlq.NewScanner(a.dlq, 0, time.Minute)
		defer func() { err = errors.Join(err, sc.Release(ctx)) }()
		msgs, err := sc.ScanAll(ctx, c.Sample)
		if err != nil {
			return err
		}
		rep.Sampled = len(msgs)
		rep.SampleComplete = len(msgs) < c.Sample
		now := a.now()
		for _, m := range msgs {
			if !m.SentAt.IsZero() && (rep.OldestSentAt == nil || m.SentAt.Before(*rep.OldestSentAt)) {
				t := m.SentAt
				rep.OldestSentAt = &t
			}
			if fa := m.Text(message.AttrDLQFailedAt); fa != "" && (rep.OldestFailedAt == "" || fa < rep.OldestFailedAt) {
				rep.OldestFailedAt = fa // RFC 3339 UTC strings sort as times
			}
			reason := m.Text(message.AttrDLQReason)
			if reason == "" {
				reason = ReasonRedrive
				rep.MovedByRedrivePolicy++
			}
			rep.Reasons[reason]++
		}
		if rep.OldestSentAt != nil {
			rep.OldestAgeSeconds = int64(now.Sub(*rep.OldestSentAt) / time.Second)
		}
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := a.stdout
	fmt.Fprintf(w, "dead-letter queue  %s\n", rep.URL)
	fmt.Fprintf(w, "  visible          %d\n  in flight        %d\n  delayed          %d\n", rep.Visible, rep.InFlight, rep.Delayed)
	switch {
	case rep.OldestSentAt != nil:
		scope := fmt.Sprintf("all %d messages", rep.Sampled)
		if !rep.SampleComplete {
			scope = fmt.Sprintf("the %d messages sampled", rep.Sampled)
		}
		fmt.Fprintf(w, "  oldest age       %s (sent %s; SentTimestamp over %s)\n",
			(time.Duration(rep.OldestAgeSeconds) * time.Second).String(), rep.OldestSentAt.Format(time.RFC3339), scope)
		if rep.OldestFailedAt != "" {
			fmt.Fprintf(w, "  oldest failure   %s (dlq_failed_at)\n", rep.OldestFailedAt)
		}
		keys := make([]string, 0, len(rep.Reasons))
		for k := range rep.Reasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, rep.Reasons[k])
		}
		fmt.Fprintf(w, "  reasons          %s\n", strings.Join(parts, ", "))
		if rep.MovedByRedrivePolicy > 0 {
			fmt.Fprintf(w, "  %d moved by the redrive policy (no reason recorded): the worker gave up on them after repeated transient failures;\n"+
				"  see its logs around their sent time, then `worker dlq replay --filter reason=` once the cause is fixed\n", rep.MovedByRedrivePolicy)
		}
	case rep.Visible == 0:
		fmt.Fprintf(w, "  oldest age       - (empty)\n")
	}
	if rep.Main != nil {
		fmt.Fprintf(w, "main queue         %s\n", rep.Main.URL)
		fmt.Fprintf(w, "  visible          %d\n  in flight        %d\n  delayed          %d\n", rep.Main.Visible, rep.Main.InFlight, rep.Main.Delayed)
	}
	return nil
}

// peekCmd is `worker dlq peek`.
type peekCmd struct {
	Max        int  `default:"10" help:"Most messages to show."`
	JSON       bool `name:"json" help:"Print a JSON array."`
	MaxReplays int  `name:"max-replays" default:"3" help:"The replay cap, to show how close each message is to it. SQS has no peek: each message shown is received once, which raises its receive count (harmless in the DLQ, which has no redrive policy of its own)."`
}

// Peeked is a message as peek shows it.
type Peeked struct {
	MessageID  string            `json:"message_id"`
	Body       string            `json:"body"`
	Attributes map[string]string `json:"attributes"`
	// AttributeTypes names the data type of each attribute that is not a
	// plain String (Binary values show as base64 in Attributes).
	AttributeTypes map[string]string `json:"attribute_types,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	Detail         string            `json:"detail,omitempty"`
	FailedAt       string            `json:"failed_at,omitempty"`
	// MovedByRedrivePolicy is true when the message has no dlq_reason:
	// the main queue's redrive policy moved it, nobody recorded why.
	MovedByRedrivePolicy bool      `json:"moved_by_redrive_policy"`
	ReplayCount          int       `json:"replay_count"`
	AtReplayCap          bool      `json:"at_replay_cap"`
	ReceiveCount         int       `json:"receive_count"`
	SentAt               time.Time `json:"sent_at"`
}

func peeked(m message.Message, maxReplays int) Peeked {
	n := dlq.ReplayCount(m)
	attrs := make(map[string]string, len(m.Attributes))
	var types map[string]string
	for k, a := range m.Attributes {
		attrs[k] = a.StringValue
		if message.IsBinary(a.DataType) {
			attrs[k] = base64.StdEncoding.EncodeToString(a.BinaryValue)
		}
		if a.DataType != "String" {
			if types == nil {
				types = map[string]string{}
			}
			types[k] = a.DataType
		}
	}
	return Peeked{
		MessageID: m.ID, Body: m.Body, Attributes: attrs, AttributeTypes: types,
		Reason: m.Text(message.AttrDLQReason), Detail: m.Text(message.AttrDLQDetail),
		FailedAt: m.Text(message.AttrDLQFailedAt), ReplayCount: n, AtReplayCap: n >= maxReplays,
		MovedByRedrivePolicy: m.Text(message.AttrDLQReason) == "",
		ReceiveCount:         m.ReceiveCount, SentAt: m.SentAt,
	}
}

func (c *peekCmd) Run(ctx context.Context, a *app) (err error) {
	if c.Max < 1 {
		return errors.New("--max must be at least 1")
	}
	sc := dlq.NewScanner(a.dlq, 0, time.Minute)
	// Released as soon as they are read: peeking consumes nothing.
	msgs, scanErr := sc.ScanAll(ctx, c.Max)
	if err := sc.Release(ctx); err != nil {
		return err
	}
	if scanErr != nil {
		return scanErr
	}
	out := make([]Peeked, len(msgs))
	for i, m := range msgs {
		out[i] = peeked(m, c.MaxReplays)
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := a.stdout
	now := a.now()
	for _, p := range out {
		fmt.Fprintf(w, "%s  sent %s (%s ago)  receives %d  replays %d/%d", p.MessageID,
			p.SentAt.Format(time.RFC3339), now.Sub(p.SentAt).Truncate(time.Second), p.ReceiveCount, p.ReplayCount, c.MaxReplays)
		if p.AtReplayCap {
			fmt.Fprint(w, "  AT REPLAY CAP (replay skips it)")
		}
		fmt.Fprintln(w)
		if p.Reason != "" {
			fmt.Fprintf(w, "  reason      %s\n", reasonLine(p))
		} else {
			fmt.Fprintf(w, "  reason      %s: the worker gave up after repeated transient failures\n", ReasonRedrive)
		}
		keys := make([]string, 0, len(p.Attributes))
		for k := range p.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if typ, ok := p.AttributeTypes[k]; ok {
				fmt.Fprintf(w, "  attr        %s (%s)=%s\n", k, typ, p.Attributes[k])
				continue
			}
			fmt.Fprintf(w, "  attr        %s=%s\n", k, p.Attributes[k])
		}
		fmt.Fprintf(w, "  body        %s\n\n", truncate(p.Body, 500))
	}
	fmt.Fprintf(w, "%d messages shown (visible again already)\n", len(out))
	return nil
}

// reasonLine is the reason, detail and failure time peek prints, saying
// so when a part was not recorded: an imported message has no failure
// time, a replay may have dropped it and the detail to make room.
func reasonLine(p Peeked) string {
	line := p.Reason
	if p.Detail != "" {
		line += ": " + p.Detail
	}
	if p.FailedAt == "" {
		return line + " (failure time unknown)"
	}
	return line + " (failed at " + p.FailedAt + ")"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
