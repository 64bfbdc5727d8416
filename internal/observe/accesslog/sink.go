package accesslog

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/observe"
)

var _ observe.Sink = (*Sink)(nil)

// Options tune a Sink. The zero value is usable.
type Options struct {
	// Buffer is how many records may wait for the writer; 0 means 4096.
	// When it is full, records are dropped and counted. Memory is bounded
	// by Buffer records plus one batch being written.
	Buffer int
	// BatchBytes is the size at which a batch of lines is written in one
	// Write call; 0 means 64 KiB.
	BatchBytes int
	// CloseTimeout bounds how long Close waits for the writer to take what
	// is buffered; 0 means 5s.
	CloseTimeout time.Duration
}

// Sink writes one access log line per observed request to an io.Writer,
// asynchronously: Observe copies the record into a bounded buffer and
// returns at once; one goroutine formats the records and writes them in
// batches. When the buffer is full (the writer is slow or blocked), Observe
// drops the record and counts it. A Sink is safe for concurrent use.
type Sink struct {
	f    *Format
	w    io.Writer
	opts Options
	ch   chan observe.Record
	quit chan struct{}
	done chan struct{}
	once sync.Once

	closed  atomic.Bool
	dropped atomic.Uint64
	written atomic.Uint64
	errs    atomic.Uint64

	mu       sync.Mutex
	firstErr error
	closeErr error
}

// NewSink starts a Sink writing records formatted by f to w. w is written
// by one goroutine only, one or more whole lines per Write; the Sink does
// not close it. Call Close to flush and stop.
func NewSink(f *Format, w io.Writer, opts Options) *Sink {
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 64 << 10
	}
	if opts.CloseTimeout <= 0 {
		opts.CloseTimeout = 5 * time.Second
	}
	s := &Sink{
		f:    f,
		w:    w,
		opts: opts,
		ch:   make(chan observe.Record, opts.Buffer),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.run()
	return s
}

// Observe queues a copy of r for writing, or drops it (and counts it) when
// the buffer is full or the Sink is closed. It never blocks and does not
// keep r.
func (s *Sink) Observe(r *observe.Record) {
	if s.closed.Load() {
		s.dropped.Add(1)
		return
	}
	select {
	case s.ch <- *r:
	default:
		s.dropped.Add(1)
	}
}

// Dropped returns how many records were not written: dropped because the
// buffer was full or the Sink closed, or lost in a failed Write.
func (s *Sink) Dropped() uint64 { return s.dropped.Load() }

// Written returns how many records were written successfully.
func (s *Sink) Written() uint64 { return s.written.Load() }

// WriteErrors returns how many Write calls failed.
func (s *Sink) WriteErrors() uint64 { return s.errs.Load() }

// Close stops accepting records, writes what is buffered and stops the
// goroutine. It returns the first write error, or an error if the writer
// did not take the buffered records within Options.CloseTimeout (the
// goroutine then finishes on its own once the writer returns). Records
// observed concurrently with Close may be dropped. Close is idempotent.
func (s *Sink) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.quit)
		t := time.NewTimer(s.opts.CloseTimeout)
		defer t.Stop()
		select {
		case <-s.done:
			s.mu.Lock()
			if s.firstErr != nil {
				s.closeErr = fmt.Errorf("access log: write: %w", s.firstErr)
			}
			s.mu.Unlock()
		case <-t.C:
			s.closeErr = fmt.Errorf("access log: close: writer did not finish within %v; %d records buffered",
				s.opts.CloseTimeout, len(s.ch))
		}
	})
	return s.closeErr
}

func (s *Sink) run() {
	defer close(s.done)
	buf := make([]byte, 0, s.opts.BatchBytes+1024)
	var rec observe.Record
	for {
		select {
		case rec = <-s.ch:
		case <-s.quit:
			s.drain(buf)
			return
		}
		var n int
		buf, n = s.fill(buf[:0], &rec)
		s.write(buf, n)
	}
}

// fill appends rec and then whatever else is buffered, up to a batch.
func (s *Sink) fill(buf []byte, rec *observe.Record) ([]byte, int) {
	buf = s.line(buf, rec)
	n := 1
	for len(buf) < s.opts.BatchBytes {
		select {
		case *rec = <-s.ch:
			buf = s.line(buf, rec)
			n++
		default:
			return buf, n
		}
	}
	return buf, n
}

// drain writes everything left in the buffer after Close.
func (s *Sink) drain(buf []byte) {
	var rec observe.Record
	for {
		select {
		case rec = <-s.ch:
			b, n := s.fill(buf[:0], &rec)
			s.write(b, n)
		default:
			return
		}
	}
}

func (s *Sink) line(buf []byte, rec *observe.Record) []byte {
	buf = s.f.Append(buf, rec)
	return append(buf, '\n')
}

func (s *Sink) write(b []byte, n int) {
	if _, err := s.w.Write(b); err != nil {
		s.errs.Add(1)
		s.dropped.Add(uint64(n))
		s.mu.Lock()
		if s.firstErr == nil {
			s.firstErr = err
		}
		s.mu.Unlock()
		return
	}
	s.written.Add(uint64(n))
}
