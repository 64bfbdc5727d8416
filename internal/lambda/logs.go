package lambda

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
)

// tailBytes is how much of an invocation's log X-Amz-Log-Result carries.
const tailBytes = 4096

// subscriberBuffer is how many lines a follower may lag behind before lines
// are dropped for it.
const subscriberBuffer = 1024

// logBuffer is one function's log: a ring of the newest lines bounded by
// bytes, optionally appended to a file, that followers can subscribe to.
// Each line is stamped with the time it was written and the invocations it
// belongs to. It is safe for concurrent use.
type logBuffer struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	lines []logEntry // oldest first
	size  int
	file  *os.File
	subs  map[*logSubscriber]struct{}
	open  []string          // invocations between START and REPORT; replaced, never modified
	echo  func(line []byte) // receives every line (with its newline) in order; nil: none
}

// logEntry is one line of a function's log.
type logEntry struct {
	t    time.Time
	line []byte // ends in a newline
	// reqs are the request ids of the invocations the line belongs to:
	// its own for START, END and REPORT lines; for the function's own
	// output, every invocation in progress when it was written (one,
	// unless invocations ran concurrently). Shared; never modified.
	reqs []string
}

// maxOpenInvocations bounds the invocations a log tracks as in progress
// (an invocation whose REPORT never came is forgotten, oldest first).
const maxOpenInvocations = 256

// logSubscriber receives every line written after it subscribed; when it
// lags more than subscriberBuffer lines, further lines are dropped and
// counted.
type logSubscriber struct {
	C       chan logEntry
	dropped int
}

func newLogBuffer(max int, dir, name string, now func() time.Time) (*logBuffer, error) {
	if now == nil {
		now = time.Now
	}
	b := &logBuffer{max: max, now: now, subs: map[*logSubscriber]struct{}{}}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("log dir: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("log file: %w", err)
		}
		b.file = f
	}
	return b, nil
}

// platformLine returns the kind ("START", "END", "REPORT") and request id
// of a platform line, or "" for any other line.
func platformLine(line []byte) (kind, id string) {
	for _, k := range [...]string{"START", "END", "REPORT"} {
		p := k + " RequestId: "
		if len(line) > len(p) && string(line[:len(p)]) == p {
			rest := line[len(p):]
			if i := bytes.IndexAny(rest, " \t\n"); i >= 0 {
				rest = rest[:i]
			}
			return k, string(rest)
		}
	}
	return "", ""
}

// write appends one line (without its newline); line is copied.
func (b *logBuffer) write(line []byte) {
	l := make([]byte, len(line)+1)
	copy(l, line)
	l[len(line)] = '\n'
	kind, id := platformLine(line)
	b.mu.Lock()
	defer b.mu.Unlock()
	e := logEntry{t: b.now(), line: l, reqs: b.open}
	switch kind {
	case "START":
		e.reqs = []string{id}
		open := b.open
		if len(open) >= maxOpenInvocations {
			open = open[1:]
		}
		b.open = append(append(make([]string, 0, len(open)+1), open...), id)
	case "END":
		e.reqs = []string{id}
	case "REPORT":
		e.reqs = []string{id}
		if i := slices.Index(b.open, id); i >= 0 {
			b.open = slices.Concat(b.open[:i], b.open[i+1:])
			if len(b.open) == 0 {
				b.open = nil
			}
		}
	}
	b.lines = append(b.lines, e)
	b.size += len(l)
	for b.size > b.max && len(b.lines) > 1 {
		b.size -= len(b.lines[0].line)
		b.lines[0] = logEntry{}
		b.lines = b.lines[1:]
	}
	if b.file != nil {
		b.file.Write(l) // best effort: the ring keeps the line anyway
	}
	if b.echo != nil {
		b.echo(l)
	}
	for s := range b.subs {
		select {
		case s.C <- e:
		default:
			s.dropped++
		}
	}
}

// snapshot returns the buffered lines. The returned entries must not be
// modified.
func (b *logBuffer) snapshot() []logEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]logEntry(nil), b.lines...)
}

// subscribe returns the buffered lines and a subscriber for every later
// line, atomically, so a follower sees no gap and no duplicate.
func (b *logBuffer) subscribe() ([]logEntry, *logSubscriber) {
	s := &logSubscriber{C: make(chan logEntry, subscriberBuffer)}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[s] = struct{}{}
	return append([]logEntry(nil), b.lines...), s
}

// unsubscribe stops s and returns how many lines it missed by lagging.
func (b *logBuffer) unsubscribe(s *logSubscriber) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, s)
	return s.dropped
}

func (b *logBuffer) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file == nil {
		return nil
	}
	err := b.file.Close()
	b.file = nil
	return err
}

// lineFilter applies a invocation.LogFilter to a stream of entries, in order. It
// remembers the START lines of invocations in progress, to print them
// before an invocation's first matching line.
type lineFilter struct {
	f     invocation.LogFilter
	text  []byte
	start map[string][]byte // pending START lines, by request id
	shown map[string]bool   // invocations whose START was printed
}

func newLineFilter(f invocation.LogFilter) *lineFilter {
	return &lineFilter{f: f, text: []byte(f.Text), start: map[string][]byte{}, shown: map[string]bool{}}
}

// add passes e through the filter, calling emit for each line to print.
func (lf *lineFilter) add(e logEntry, emit func([]byte)) {
	if !lf.f.Since.IsZero() && e.t.Before(lf.f.Since) {
		return
	}
	if lf.f.RequestID != "" && !slices.Contains(e.reqs, lf.f.RequestID) {
		return
	}
	if len(lf.text) == 0 {
		emit(e.line)
		return
	}
	match := bytes.Contains(e.line, lf.text)
	kind, id := platformLine(e.line)
	switch kind {
	case "START":
		if len(lf.start) >= maxOpenInvocations {
			clear(lf.start) // invocations that never reported
		}
		lf.start[id] = e.line
		if match {
			lf.shown[id] = true
			emit(e.line)
		}
	case "END", "REPORT":
		if match || lf.shown[id] {
			emit(e.line)
		}
		if kind == "REPORT" {
			delete(lf.start, id)
			delete(lf.shown, id)
		}
	default:
		if !match {
			return
		}
		for _, id := range e.reqs {
			if s, ok := lf.start[id]; ok && !lf.shown[id] {
				lf.shown[id] = true
				emit(s)
			}
		}
		emit(e.line)
	}
}

// tailBuf keeps the last tailBytes bytes written to it.
type tailBuf struct{ b []byte }

func (t *tailBuf) writeLine(line []byte) {
	t.b = append(t.b, line...)
	t.b = append(t.b, '\n')
	if len(t.b) > 2*tailBytes {
		n := copy(t.b, t.b[len(t.b)-tailBytes:])
		t.b = t.b[:n]
	}
}

func (t *tailBuf) bytes() []byte {
	b := t.b
	if len(b) > tailBytes {
		b = b[len(b)-tailBytes:]
	}
	return append([]byte(nil), b...)
}

// Logs returns the buffered log of a function (lines ending in newlines),
// or false when the runner has never had a function of that name.
func (r *Runner) Logs(name string) ([]byte, bool) {
	return r.FilterLogs(name, invocation.LogFilter{})
}

// FilterLogs returns the lines of a function's buffered log that f
// selects (each ending in a newline), or false when the runner has never
// had a function of that name.
func (r *Runner) FilterLogs(name string, f invocation.LogFilter) ([]byte, bool) {
	b := r.logBufferIfExists(name)
	if b == nil {
		return nil, false
	}
	var out []byte
	lf := newLineFilter(f)
	for _, e := range b.snapshot() {
		lf.add(e, func(l []byte) { out = append(out, l...) })
	}
	return out, true
}

func (r *Runner) logBufferIfExists(name string) *logBuffer {
	r.logsMu.Lock()
	defer r.logsMu.Unlock()
	return r.logs[name]
}

// logBufferFor returns (creating) the log of a function. Logs outlive
// redeploys of the function.
func (r *Runner) logBufferFor(name string) (*logBuffer, error) {
	r.logsMu.Lock()
	defer r.logsMu.Unlock()
	if b := r.logs[name]; b != nil {
		return b, nil
	}
	b, err := newLogBuffer(r.cfg.LogBufferBytes, r.cfg.LogDir, name, r.now)
	if err != nil {
		return nil, fmt.Errorf("lambda %s: %w", name, err)
	}
	if r.output != nil {
		b.echo = r.output.echo(name)
	}
	r.logs[name] = b
	return b, nil
}
