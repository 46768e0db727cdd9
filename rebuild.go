package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/projections"
)

// rebuildCommand is `foldboard rebuild`: it replays the whole log into fresh
// read models under a new name, with a progress bar, and saves them as the
// ones in use: the server reads them from its next start. (The dashboard's
// button does the same inside a running server, and swaps them in at once.)
func rebuildCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseCommandConfig("foldboard rebuild", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	b, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.close()
	d := b.deps
	current, err := projections.CurrentName(ctx, d.Settings)
	if err != nil {
		return err
	}
	setup := projections.NewSetup(d.Backend, handlers.NewReadSide, log)
	// The read models in use are the mark to reach where the feed cannot
	// count what is left (DynamoDB).
	inUse := setup.New(current, nil).Projector
	if err := inUse.Load(ctx); err != nil {
		return err
	}
	name := projections.NewName(time.Now())
	fmt.Fprintf(stdout, "rebuilding the read models of %s into %s (replacing %s)\n", d.StoreName, name, current)
	bar := progressBar{w: stdout}
	var last projections.Progress
	var runErr error
	rb := projections.Rebuild{
		Setup: setup, Settings: d.Settings, InUse: inUse, Every: 200 * time.Millisecond,
		Start: func(p *projections.Projector) func() {
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- p.Run(runCtx) }()
			return func() { stop(); runErr = <-done }
		},
		Report: func(pr projections.Progress) { last = pr; bar.draw(pr) },
	}
	_, stop, err := rb.Run(ctx, name)
	if err == nil {
		stop() // the last save
		err = runErr
	}
	bar.end()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted before the read models caught up")
		}
		return fmt.Errorf("rebuild: %w", err)
	}
	if err := projections.Drop(ctx, d.ReadModels, current); err != nil {
		log.Warn("dropping the replaced read models", "projector", current, "err", err)
	}
	fmt.Fprintf(stdout, "rebuilt %d events in %s (%s events/s); %s is now in use: a running server reads it from its next start\n",
		last.Applied, last.Elapsed.Round(time.Millisecond), rate(last.Rate), name)
	return nil
}

// progressBar draws a rebuild's progress on one terminal line, redrawn in
// place, at most every 100 ms.
type progressBar struct {
	w     io.Writer
	drawn time.Time
	any   bool
}

const barWidth = 30

func (b *progressBar) draw(pr projections.Progress) {
	if !pr.Done && time.Since(b.drawn) < 100*time.Millisecond {
		return
	}
	b.drawn, b.any = time.Now(), true
	frac := 0.0
	if pr.Total > 0 {
		frac = min(1, float64(pr.Applied)/float64(pr.Total))
	}
	if pr.Done {
		frac = 1
	}
	full := int(frac * barWidth)
	bar := strings.Repeat("█", full) + strings.Repeat("░", barWidth-full)
	total := "?"
	if pr.Total > 0 || pr.Done {
		total = fmt.Sprint(pr.Total)
	}
	fmt.Fprintf(b.w, "\r%s %3.0f%%  %d/%s events  %s events/s  %s \x1b[K", bar, frac*100, pr.Applied, total, rate(pr.Rate), pr.Elapsed.Round(100*time.Millisecond))
}

func (b *progressBar) end() {
	if b.any {
		fmt.Fprintln(b.w)
	}
}

func rate(r float64) string {
	if r < 10 {
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.0f", r)
}
