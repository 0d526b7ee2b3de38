package dlqcli

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/worker/dlq"
)

// replayCmd is `worker dlq replay`.
type replayCmd struct {
	Max        int           `default:"0" help:"Most messages to move (0: all)."`
	Rate       float64       `default:"0" help:"Most messages per second (0: unlimited)."`
	Filter     string        `placeholder:"EXPR" help:"Only messages matching EXPR: comma-separated terms, all must hold; KEY=V, KEY!=V or KEY~SUBSTRING with KEY reason, body, id, request_id (also inside an aggregated message) or attr.NAME (e.g. reason=unknown_version,request_id=abc)."`
	DryRun     bool          `name:"dry-run" help:"List what would move; move nothing."`
	MaxReplays int           `name:"max-replays" default:"3" help:"Replay cap: messages replayed this many times stay in the DLQ and are reported."`
	NoProgress bool          `name:"no-progress" help:"No progress bar."`
	Native     bool          `help:"AWS only, no filter: start SQS's own StartMessageMoveTask and follow it with ListMessageMoveTasks (no replay_count, no cap)."`
	Wait       time.Duration `default:"1s" hidden:"" help:"Long-poll wait of each receive."`
}

func (c *replayCmd) Run(ctx context.Context, a *app) (err error) {
	var res dlq.ReplayResult
	main, err := a.needMain("replay")
	if err != nil {
		return err
	}
	filter, err := dlq.ParseFilter(c.Filter)
	if err != nil {
		return err
	}
	if c.Native {
		return c.runNative(ctx, a, filter)
	}
	cfg := dlq.ReplayConfig{Max: c.Max, Rate: c.Rate, Filter: filter, DryRun: c.DryRun, MaxReplays: c.MaxReplays, Wait: c.Wait}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if !a.target.Local() && filter.Empty() && !c.DryRun {
		fmt.Fprintln(a.stderr, "tip: on AWS, `replay --native` lets SQS move everything itself (faster; but no replay_count and no cap)")
	}
	fmt.Fprintf(a.stderr, "replaying %s -> %s (replay cap %d)\n", a.target.DLQURL, a.target.QueueURL, cmp.Or(cfg.MaxReplays, dlq.DefaultMaxReplays))

	out := io.Writer(a.stdout)
	r := &dlq.Replayer{DLQ: a.dlq, Main: main, Config: cfg, Out: out, Now: a.now}
	endBar := func() {}
	if !c.DryRun && !c.NoProgress {
		total := -1 // unknown: a spinner
		if s, err := a.dlq.Stats(ctx); err == nil {
			total = s.Visible
			if c.Max > 0 {
				total = min(total, c.Max)
			}
		}
		bar := progressbar.NewOptions(total,
			progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionSetDescription("replayed"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("msg"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
		)
		r.Out = &clearingWriter{w: a.stdout, bar: bar}
		r.Progress = func(n int) {
			if st := bar.State(); st.Max >= 0 && int(st.CurrentNum)+n > int(st.Max) {
				bar.ChangeMax(int(st.CurrentNum) + n) // counts are approximate
			}
			_ = bar.Add(n)
		}
		endBar = func() {
			if cur := int(bar.State().CurrentNum); !res.Interrupted && cur > 0 {
				bar.ChangeMax(cur) // the total was SQS's approximate count
				_ = bar.Finish()
			} else {
				_ = bar.Exit() // keep what was done; the summary says the rest
			}
			fmt.Fprintln(a.stderr)
		}
		// The bar's rate counts from here, not from its first Add: that
		// would leave out the wait for the first batch and count the batch
		// as moved in no time.
		bar.StartWithoutRender()
	}
	res, err = r.Run(ctx)
	endBar() // the bar ends its line before the summary starts one
	fmt.Fprintln(a.stdout, summary(res, c.DryRun))
	noteUnseen(ctx, a)
	if err != nil {
		return err
	}
	switch {
	case res.Interrupted:
		return errors.New("interrupted: every message sent was deleted from the DLQ; the rest is still there")
	case res.Problems() > 0:
		return fmt.Errorf("%d messages failed (listed above); they are still in the DLQ", res.Problems())
	}
	return nil
}

func summary(r dlq.ReplayResult, dry bool) string {
	rate := 0.0
	if r.Elapsed > 0 {
		rate = float64(r.Replayed) / r.Elapsed.Seconds()
	}
	head := fmt.Sprintf("replay: %d replayed, %d failed, %d sent but not deleted", r.Replayed, r.Failed, r.NotDeleted)
	if dry {
		head = fmt.Sprintf("dry run: %d would be replayed, nothing moved", r.WouldReplay)
	}
	return fmt.Sprintf("%s; skipped: %d by filter, %d at replay cap, %d came back during this run; %d scanned in %s (%.1f msg/s)",
		head, r.SkippedFilter, r.SkippedCap, r.Returned, r.Scanned, r.Elapsed.Round(time.Millisecond), rate)
}

// clearingWriter clears the progress bar before a line is printed.
type clearingWriter struct {
	mu  sync.Mutex
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (c *clearingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.bar.Clear()
	return c.w.Write(p)
}

// exportCmd is `worker dlq export`.
type exportCmd struct {
	File string `required:"" placeholder:"F" help:"File to write (JSON Lines; - for stdout)."`
	Max  int    `default:"0" help:"Most messages (0: all)."`
}

func (c *exportCmd) Run(ctx context.Context, a *app) (err error) {
	sc := dlq.NewScanner(a.dlq, 0, 0)
	defer func() { err = errors.Join(err, sc.Release(ctx)) }()
	msgs, err := sc.ScanAll(ctx, c.Max)
	if err != nil {
		return err
	}
	if c.File == "-" {
		if err := writeRecords(a.stdout, msgs); err != nil {
			return err
		}
	} else {
		if err := writeRecordsFile(c.File, msgs); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "exported %d messages to %s (they are still in the DLQ)\n", len(msgs), c.File)
	}
	if err := sc.Release(ctx); err != nil {
		return err
	}
	noteUnseen(ctx, a)
	return nil
}

// writeRecords writes msgs to w as JSON Lines, a dlq.Record each.
func writeRecords(w io.Writer, msgs []message.Message) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, m := range msgs {
		if err := enc.Encode(dlq.NewRecord(m)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// writeRecordsFile writes msgs to a new file at path (writeRecords) and
// syncs it to disk before it is closed.
func writeRecordsFile(path string, msgs []message.Message) error {
	f, err := os.Create(path) //nolint:gosec // G304: the operator names the file (worker dlq export --file)
	if err != nil {
		return err
	}
	err = writeRecords(f, msgs)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// noteUnseen warns about messages in flight in the DLQ once a command has
// released its own: another reader holds them (a peek, another replay), or
// a receive whose answer was lost hid them until their visibility timeout
// ends. Such messages were not seen by this run; they are not lost.
func noteUnseen(ctx context.Context, a *app) {
	if ctx.Err() != nil {
		return
	}
	s, err := a.dlq.Stats(ctx)
	if err == nil && s.InFlight > 0 {
		fmt.Fprintf(a.stderr, "note: %d messages of the DLQ are in flight and were not seen by this run "+
			"(another reader holds them, or they reappear after their visibility timeout): run it again later to include them\n", s.InFlight)
	}
}

// importCmd is `worker dlq import`.
type importCmd struct {
	File string `required:"" placeholder:"F" help:"JSON Lines file to read (- for stdin): one object per line with body and attributes. A message without a dlq_reason gets dlq_reason=imported, so it is not taken for one the redrive policy moved."`
}

func (c *importCmd) Run(ctx context.Context, a *app) error {
	var r io.Reader = os.Stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	recs, err := dlq.ReadRecords(r) // all lines are checked before anything is sent
	if err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	msgs := make([]message.Message, len(recs))
	unmarked := 0
	for i, rec := range recs {
		m, ok := dlq.MarkImported(rec.Message(), fmt.Sprintf("imported from %s line %d without a reason", filepath.Base(c.File), rec.Line))
		if !ok {
			unmarked++
		}
		msgs[i] = m
	}
	if unmarked > 0 {
		fmt.Fprintf(a.stderr, "note: %d messages have no dlq_reason and no room to add one (SQS's limits); "+
			"stats and peek will count them as moved by the redrive policy\n", unmarked)
	}
	failed, err := a.dlq.SendBatch(ctx, msgs)
	fmt.Fprintf(a.stdout, "imported %d of %d messages into %s\n", len(msgs)-len(failed), len(msgs), a.target.DLQURL)
	if len(failed) > 0 || err != nil {
		lines := make([]int, len(failed))
		for i, f := range failed {
			lines[i] = recs[f].Line
			fmt.Fprintf(a.stderr, "line %d not imported: %v\n", recs[f].Line, dlq.SendError(err, f))
		}
		return fmt.Errorf("%d not imported (lines %v; importing the file again duplicates the others): %w", len(failed), lines, err)
	}
	return nil
}

// purgeCmd is `worker dlq purge`.
type purgeCmd struct {
	Yes bool `help:"Really delete every message of the dead-letter queue."`
}

func (c *purgeCmd) Run(ctx context.Context, a *app) error {
	s, err := a.dlq.Stats(ctx)
	if err != nil {
		return err
	}
	if !c.Yes {
		fmt.Fprintf(a.stderr, "%s holds about %d messages (+%d in flight). purge deletes them for good; "+
			"keep a copy first with `worker dlq export --file F`, then run `worker dlq purge --yes`.\n",
			a.target.DLQURL, s.Visible, s.InFlight)
		return errors.New("refused without --yes; nothing was deleted")
	}
	deleted := 0
	for {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(a.stdout, "purge: %d messages deleted before the interrupt\n", deleted)
			return err
		}
		msgs, err := a.dlq.Receive(ctx, 10, time.Second)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			break
		}
		handles := make([]string, len(msgs))
		for i, m := range msgs {
			handles[i] = m.ReceiptHandle
		}
		failed, err := a.dlq.Delete(ctx, handles)
		deleted += len(handles) - len(failed)
		if err != nil {
			return fmt.Errorf("after %d deleted: %w", deleted, err)
		}
	}
	fmt.Fprintf(a.stdout, "purge: %d messages deleted from %s\n", deleted, a.target.DLQURL)
	return nil
}
