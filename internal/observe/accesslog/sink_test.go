package accesslog

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/observe"
)

// lockedBuffer is a bytes.Buffer safe for the sink's goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// blockingWriter blocks every Write until release is closed.
type blockingWriter struct {
	entered chan struct{} // receives once per Write call
	release chan struct{}
	lockedBuffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	<-w.release
	return w.lockedBuffer.Write(p)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func mustCompile(t testing.TB, format string) *Format {
	t.Helper()
	f, err := Compile(format)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSinkWritesAndCloseFlushes(t *testing.T) {
	var buf lockedBuffer
	s := NewSink(mustCompile(t, "$context.requestId $context.status"), &buf, Options{})
	for i := range 100 {
		s.Observe(&observe.Record{RequestID: "r", Status: 200 + i%3})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 100 || lines[0] != "r 200" || lines[1] != "r 201" {
		t.Fatalf("got %d lines, first %q", len(lines), lines[:2])
	}
	if s.Written() != 100 || s.Dropped() != 0 {
		t.Errorf("written %d dropped %d, want 100 and 0", s.Written(), s.Dropped())
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	s.Observe(&observe.Record{RequestID: "late"})
	if s.Dropped() != 1 {
		t.Errorf("Observe after Close: dropped %d, want 1", s.Dropped())
	}
}

func TestSinkBlockedWriterNeverBlocksObserve(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	const buffer, n = 16, 10000
	s := NewSink(mustCompile(t, ""), w, Options{Buffer: buffer})
	s.Observe(&observe.Record{RequestID: "first"})
	<-w.entered // the goroutine holds one record and is stuck in Write

	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for range n {
			s.Observe(&observe.Record{RequestID: "r", Status: 200})
		}
	}()
	select {
	case <-finished:
	case <-time.After(30 * time.Second): // liveness guard only, not a timing assertion
		t.Fatal("Observe blocked on a blocked writer")
	}
	if got := len(s.ch); got > buffer {
		t.Errorf("buffered %d records, more than the bound %d", got, buffer)
	}
	if got := s.Dropped(); got != n-buffer {
		t.Errorf("dropped %d, want %d", got, n-buffer)
	}
	close(w.release)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := s.Written(); got != buffer+1 {
		t.Errorf("written %d, want %d", got, buffer+1)
	}
	if got := strings.Count(w.String(), "\n"); got != buffer+1 {
		t.Errorf("%d lines, want %d", got, buffer+1)
	}
}

func TestSinkCloseTimesOutOnBlockedWriter(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s := NewSink(mustCompile(t, ""), w, Options{CloseTimeout: 20 * time.Millisecond})
	s.Observe(&observe.Record{RequestID: "a"})
	<-w.entered
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Errorf("Close = %v, want a timeout error", err)
	}
	close(w.release)
	<-s.done // the goroutine ends once the writer returns
}

func TestSinkWriteError(t *testing.T) {
	s := NewSink(mustCompile(t, ""), failingWriter{}, Options{})
	s.Observe(&observe.Record{RequestID: "a"})
	s.Observe(&observe.Record{RequestID: "b"})
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close = %v, want the write error", err)
	}
	if s.Dropped() != 2 || s.Written() != 0 || s.WriteErrors() == 0 {
		t.Errorf("dropped %d written %d errors %d, want 2, 0, >0", s.Dropped(), s.Written(), s.WriteErrors())
	}
}

func TestSinkConcurrentObserve(t *testing.T) {
	var buf lockedBuffer
	s := NewSink(mustCompile(t, PresetCLF), &buf, Options{Buffer: 1 << 12})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				s.Observe(full())
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := uint64(strings.Count(buf.String(), "\n")); got != s.Written() || got+s.Dropped() != 2000 {
		t.Errorf("lines %d, written %d, dropped %d; want lines = written and written+dropped = 2000", got, s.Written(), s.Dropped())
	}
}
