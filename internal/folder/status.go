package folder

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/vmihailenco/msgpack/v5"
)

// StatusKey is the presence key under which each device says how its
// folder stands: a [Status]. Any member or observer of the room sees it
// (synk folder -status, the observer page).
const StatusKey = "folder"

// Status is how a device's folder stands, as the device says at the start
// of a pass that has work to do and at the end of every pass whose
// outcome differs from the last it said.
type Status struct {
	// State is "syncing" while a pass works, "synced" once a pass left
	// every path in agreement, "failing" when it left some failing.
	State string `msgpack:"state"`
	// Files is how many of the room's files and directories this device
	// holds as the room has them; Total how many the room holds (less
	// those this device ignores).
	Files int `msgpack:"files"`
	Total int `msgpack:"total"`
	// Left is about how many bytes this device still has to download
	// or upload: the sizes of the files not in agreement.
	Left int64 `msgpack:"left"`
	// Failed is how many paths the last pass left failing, and Error the
	// first of them with its error.
	Failed int    `msgpack:"failed"`
	Error  string `msgpack:"error,omitempty"`
	// At is when the device said it, in Unix milliseconds.
	At int64 `msgpack:"at"`
}

// statusOf counts where the folder stands against the room's records:
// a path is in agreement when its entry is at the record's version and,
// where local is given, the local file is as the entry says.
func (f *Folder) statusOf(remote map[string]*record, local map[string]stat) Status {
	var st Status
	for p, r := range remote {
		st.Total++
		e := f.ix.Entries[p]
		ok := e != nil && r.equalAt(&e.Rec)
		if ok && local != nil {
			l, has := local[p]
			ok = has && unchanged(l, e)
		}
		if ok {
			st.Files++
		} else {
			st.Left += r.Size
		}
	}
	for p, l := range local {
		if e := f.ix.Entries[p]; remote[p] == nil && !l.Dir && !l.Other || e != nil && !unchanged(l, e) {
			st.Left += l.Size
		}
	}
	return st
}

// unchanged reports whether local file l is as entry e says, by what a
// scan tells (a racy entry, without a time, counts as unchanged).
func unchanged(l stat, e *entry) bool {
	switch {
	case l.Other || l.Dir != e.Rec.Dir || l.Link != e.Rec.Link:
		return false
	case l.Dir || l.Link != "":
		return modeOf(l) == e.Rec.Mode
	}
	return l.Size == e.LSize && (e.LMTime == 0 || l.MTime == e.LMTime) && syncedMode(l.Mode) == e.Rec.Mode
}

// statusWait bounds how long a pass waits for the server to take its
// status: the status is kept and carried by the next join if the
// connection is down, and the pass must not wait for that.
const statusWait = time.Second

// sayStatus publishes st in the room's presence unless it is what the
// device said last (whatever the time).
func (f *Folder) sayStatus(ctx context.Context, st Status) {
	last := f.said
	last.At = st.At
	if f.saidAny && last == st {
		return
	}
	f.said, f.saidAny = st, true
	ctx, cancel := context.WithTimeout(ctx, statusWait)
	defer cancel()
	if err := f.room.Set(ctx, map[string]any{StatusKey: st}); err != nil && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		f.log.Debug("folder: status not published", "err", err)
	}
}

// DeviceStatus is a device's [Status] as the room shows it.
type DeviceStatus struct {
	Device string
	Status
}

// Statuses returns the status of every device in the room that says one,
// by device name, as a member or observer sees the room's presence.
func Statuses(members []client.Member) ([]DeviceStatus, error) {
	var out []DeviceStatus
	var errs []error
	for _, m := range members {
		raw, ok := m.Entries[StatusKey]
		if !ok {
			continue
		}
		var st Status
		if err := msgpack.Unmarshal(raw, &st); err != nil {
			errs = append(errs, fmt.Errorf("device %s: status: %w", m.Client, err))
			continue
		}
		out = append(out, DeviceStatus{Device: m.Client, Status: st})
	}
	slices.SortFunc(out, func(a, b DeviceStatus) int { return strings.Compare(a.Device, b.Device) })
	return out, errors.Join(errs...)
}

// maxStatusError is the most bytes of an error a status carries.
const maxStatusError = 512

// passStatus is where the folder stands after a pass that did res.
func (f *Folder) passStatus(remote map[string]*record, res passResult) Status {
	st := f.statusOf(remote, nil)
	st.Failed = len(res.errs)
	switch {
	case st.Failed > 0:
		st.State, st.Error = "failing", res.errs[0].Error()
		if len(st.Error) > maxStatusError { // within the server's limit on a value
			st.Error = strings.ToValidUTF8(st.Error[:maxStatusError], "") + "…"
		}
	case st.Files == st.Total && st.Left == 0 && res.lost == 0:
		st.State = "synced"
	default:
		st.State = "syncing" // the next pass goes on
	}
	st.At = time.Now().UnixMilli()
	return st
}
