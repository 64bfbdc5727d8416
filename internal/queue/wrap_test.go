package queue

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
)

// serve runs in the way the gateway does: errors rendered when nothing was
// written, the queue wait reported through WithWaitReport.
func serve(t *testing.T, in integration.Integration, waits chan<- time.Duration) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var waited time.Duration
		ctx := WithWaitReport(r.Context(), &waited)
		if err := in.Serve(ctx, w, &integration.Request{HTTP: r}); err != nil {
			edge.Render(w, err)
		}
		if waits != nil {
			waits <- waited
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// TestWrapHoldsSlotForStream: a streamed response keeps its slot until the
// stream ends; meanwhile another request is refused, and admitted after.
func TestWrapHoldsSlotForStream(t *testing.T) {
	l := newLimiter(t, Config{MaxConcurrency: 1})
	finish := make(chan struct{})
	slow := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		if r.HTTP.URL.Query().Get("wait") != "" {
			select {
			case <-finish:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		io.WriteString(w, "data: last\n\n")
		return nil
	})
	s := serve(t, Wrap(l, slow), nil)

	resp, err := s.Client().Get(s.URL + "/?wait=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, _ := br.ReadString('\n'); line != "data: first\n" {
		t.Fatalf("first line %q", line)
	}
	// The stream is open: the only slot is taken and there is no queue.
	r2, err := s.Client().Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 429 || string(b) != `{"message":"Too Many Requests"}` || r2.Header.Get("Retry-After") == "" {
		t.Fatalf("second request during the stream: %d %q %v", r2.StatusCode, b, r2.Header)
	}
	close(finish)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: last\n\n" {
		t.Fatalf("rest of stream %q", rest)
	}
	waitFor(t, "slot release", func() bool { return l.Stats().InFlight == 0 })
	r3, err := s.Client().Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r3.Body)
	r3.Body.Close()
	if r3.StatusCode != 200 {
		t.Fatalf("after the stream: %d", r3.StatusCode)
	}
}

func TestWrapReportsWait(t *testing.T) {
	l := newLimiter(t, Config{MaxConcurrency: 1, MaxQueue: 1})
	hold := mustAcquire(t, l)
	var got time.Duration
	ctx := WithWaitReport(context.Background(), &got)
	done := make(chan error, 1)
	ok := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error { return nil })
	go func() { done <- Wrap(l, ok).Serve(ctx, httptest.NewRecorder(), &integration.Request{}) }()
	waitFor(t, "request to queue", func() bool { return l.Stats().Queued == 1 })
	time.Sleep(10 * time.Millisecond)
	hold()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got < 10*time.Millisecond {
		t.Fatalf("reported queue wait %v, want at least 10ms", got)
	}
	if s := l.Stats(); s.Waited < got {
		t.Fatalf("Stats.Waited %v < reported %v", s.Waited, got)
	}
}

func TestWrapPassesErrorsAndUnwraps(t *testing.T) {
	l := newLimiter(t, Config{MaxConcurrency: 1})
	boom := errors.New("boom")
	next := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error { return boom })
	in := Wrap(l, next)
	if err := in.Serve(context.Background(), httptest.NewRecorder(), &integration.Request{}); !errors.Is(err, boom) {
		t.Fatalf("Serve = %v, want the integration's error", err)
	}
	if l.Stats().InFlight != 0 {
		t.Fatal("slot kept after a failed request")
	}
	u, ok := in.(interface {
		Unwrap() integration.Integration
	})
	if !ok || u.Unwrap() == nil {
		t.Fatal("Wrap result does not unwrap to its integration")
	}
}
