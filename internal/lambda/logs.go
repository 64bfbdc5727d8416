package lambda

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// tailBytes is how much of an invocation's log X-Amz-Log-Result carries.
const tailBytes = 4096

// subscriberBuffer is how many lines a follower may lag behind before lines
// are dropped for it.
const subscriberBuffer = 1024

// logBuffer is one function's log: a ring of the newest lines bounded by
// bytes, optionally appended to a file, that followers can subscribe to. It
// is safe for concurrent use.
type logBuffer struct {
	mu    sync.Mutex
	max   int
	lines [][]byte // oldest first
	size  int
	file  *os.File
	subs  map[*logSubscriber]struct{}
}

// logSubscriber receives every line written after it subscribed; when it
// lags more than subscriberBuffer lines, further lines are dropped and
// counted.
type logSubscriber struct {
	C       chan []byte
	dropped int
}

func newLogBuffer(max int, dir, name string) (*logBuffer, error) {
	b := &logBuffer{max: max, subs: map[*logSubscriber]struct{}{}}
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

// write appends one line (without its newline); line is copied.
func (b *logBuffer) write(line []byte) {
	l := make([]byte, len(line)+1)
	copy(l, line)
	l[len(line)] = '\n'
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, l)
	b.size += len(l)
	for b.size > b.max && len(b.lines) > 1 {
		b.size -= len(b.lines[0])
		b.lines[0] = nil
		b.lines = b.lines[1:]
	}
	if b.file != nil {
		b.file.Write(l) // best effort: the ring keeps the line anyway
	}
	for s := range b.subs {
		select {
		case s.C <- l:
		default:
			s.dropped++
		}
	}
}

// snapshot returns the buffered lines, each ending in a newline. The
// returned slices must not be modified.
func (b *logBuffer) snapshot() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.lines...)
}

// subscribe returns the buffered lines and a subscriber for every later
// line, atomically, so a follower sees no gap and no duplicate.
func (b *logBuffer) subscribe() ([][]byte, *logSubscriber) {
	s := &logSubscriber{C: make(chan []byte, subscriberBuffer)}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[s] = struct{}{}
	return append([][]byte(nil), b.lines...), s
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
	b := r.logBufferIfExists(name)
	if b == nil {
		return nil, false
	}
	var out []byte
	for _, l := range b.snapshot() {
		out = append(out, l...)
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
	b, err := newLogBuffer(r.cfg.LogBufferBytes, r.cfg.LogDir, name)
	if err != nil {
		return nil, fmt.Errorf("lambda %s: %w", name, err)
	}
	r.logs[name] = b
	return b, nil
}
