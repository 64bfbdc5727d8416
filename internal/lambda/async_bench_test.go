package lambda

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda/asyncq"
)

// BenchmarkAsyncDurable measures Event invocations through the durable
// (bbolt) queue end to end: accepted by InvokeAsync from concurrent
// callers (each acknowledged only once on disk), delivered to a warm Go
// function (4 sandboxes), removed from disk. It reports accepted events/s
// (the 202 rate) and delivered events/s (until the queue is empty).
func BenchmarkAsyncDurable(b *testing.B) {
	store, err := asyncq.Open(filepath.Join(b.TempDir(), "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	echo := fn(b, "echo", "goecho")
	echo.ReservedConcurrency = 4
	r, err := New(Config{CacheDir: b.TempDir()}, Deps{EventStore: store})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close(context.Background())
	if err := r.Deploy(context.Background(), []Function{echo}); err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"Records":[{"eventSource":"aws:s3","s3":{"object":{"key":"docs/a.pdf"}}}]}`)
	b.SetParallelism(16)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.InvokeAsync(&invocation.Request{FunctionName: "echo", Payload: payload}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	accepted := time.Since(start)
	for {
		if q := r.Queues(); len(q) == 0 || q[0].Depth == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	delivered := time.Since(start)
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted/s")
	b.ReportMetric(float64(b.N)/delivered.Seconds(), "delivered/s")
}
