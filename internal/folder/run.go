package folder

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxPasses bounds Once: each pass settles at least the paths it
// changed, so a folder that keeps changing is the only way to reach it.
// maxFailing is how many passes in a row may only fail (a second apart)
// before Once gives up on those paths.
const (
	maxPasses  = 20
	maxFailing = 3
)

// Once syncs until the folder and the room agree, then returns: the
// room's changes are applied here and this device's go out (its offline
// edits among them). Paths that keep failing make it return an error
// that names them.
func (f *Folder) Once(ctx context.Context) error {
	// First the room's changes up to now: the server answers a Sub after
	// everything it queued for this device before it, so what another
	// device's Once wrote is in the cache before the first pass reads it
	// (without, a busy machine let a pass run before the change came).
	if err := f.room.Subscribe(ctx, []string{Area}, nil); err != nil {
		return fmt.Errorf("folder: catching up with the room: %w", err)
	}
	var last passResult
	failing := 0
	for range maxPasses {
		res, err := f.pass(ctx)
		if err != nil {
			return err
		}
		if res.changes == 0 && res.lost == 0 && len(res.errs) == 0 && len(f.room.Pending()) == 0 {
			return nil
		}
		last = res
		if res.changes > 0 {
			failing = 0
			continue
		}
		if failing++; failing == maxFailing {
			break
		}
		// Only errors or lost races: give a changing file a moment, or
		// the room the time to send what it changed.
		if err := f.wait(ctx, time.Second); err != nil {
			return err
		}
	}
	if len(last.errs) == 0 {
		return fmt.Errorf("folder: not settled: %d changes and %d writes refused (the room changed first) in the last pass, %d writes unanswered",
			last.changes, last.lost, len(f.room.Pending()))
	}
	return fmt.Errorf("folder: not settled: %w", errors.Join(last.errs...))
}

// wait waits for a change from the room or d, whichever comes first.
func (f *Folder) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-f.remote:
	case <-t.C:
	}
	return nil
}

// Timing of Run.
const (
	settle   = 200 * time.Millisecond // quiet time after a change before a pass
	busy     = time.Second            // but no longer after the first change than this
	rescan   = 5 * time.Minute        // a full pass even without events
	maxRetry = 30 * time.Second       // longest wait before retrying failed paths
)

// Run keeps the folder in sync until ctx ends: it watches the folder
// (fsnotify) and the room, and runs a pass shortly after each change,
// plus one at start (a rescan) and every few minutes. Failed paths are
// retried with backoff; a reconnect runs a pass at once.
func (f *Folder) Run(ctx context.Context) error {
	w, err := newWatcher(f.root, f.log)
	if err != nil {
		return err
	}
	defer w.close()
	retry := time.Duration(0)
	timer := time.NewTimer(0) // the first pass: a rescan at start
	defer timer.Stop()
	// A pass runs once changes have been quiet for settle, but at most
	// busy after the first of them: while another device uploads
	// thousands of files, this one downloads those already there instead
	// of waiting for the last.
	var first time.Time // the first change since the last pass
	changed := func() {
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		timer.Reset(max(0, min(settle, busy-now.Sub(first))))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.errs:
			return fmt.Errorf("folder: watching %s: %w", f.root, err)
		case <-w.changed:
			changed()
			continue
		case <-f.remote:
			changed()
			continue
		case <-timer.C:
		}
		first = time.Time{}
		res, err := f.pass(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range res.errs {
			f.log.Info("folder: will retry", "err", e)
		}
		if f.passed != nil {
			select {
			case f.passed <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
		if res.changes > 0 {
			f.log.Info("folder: synced", "changes", res.changes)
		}
		next := rescan
		if len(res.errs) > 0 || res.lost > 0 { // a lost race: the room's change should come first
			retry = min(max(2*retry, time.Second), maxRetry)
			next = retry
		} else {
			retry = 0
		}
		if res.changes > 0 {
			next = settle // what it changed may need a second look
		}
		timer.Reset(next)
	}
}
