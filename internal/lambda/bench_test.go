package lambda

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda/invokeapi"
)

// reportLatencies adds p50 and p99 (microseconds) to b's metrics.
func reportLatencies(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func benchRunner(b *testing.B, reserved int) *Runner {
	f := fn(b, "echo", "goecho")
	f.ReservedConcurrency = reserved
	r := newRunner(b, Config{}, f)
	for i := 0; i < 3; i++ {
		invoke(b, r, "echo", `{}`)
	}
	return r
}

// BenchmarkInvokeWarm is a warm invocation of the Go echo function through
// Runner.Invoke: the runner's overhead plus the runtime's round trip.
func BenchmarkInvokeWarm(b *testing.B) {
	r := benchRunner(b, -1)
	req := &invocation.Request{FunctionName: "echo", Payload: []byte(`{"k":"v"}`)}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := r.Invoke(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatencies(b, lat)
}

// BenchmarkInvokeAPI is the same through the Invoke API over loopback HTTP.
func BenchmarkInvokeAPI(b *testing.B) {
	r := benchRunner(b, -1)
	ts := httptest.NewServer(invokeapi.New(r))
	defer ts.Close()
	url := ts.URL + "/2015-03-31/functions/echo/invocations"
	body := []byte(`{"k":"v"}`)
	c := ts.Client()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		resp, err := c.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatencies(b, lat)
}

// BenchmarkInvokeParallel runs b.N warm invocations from c concurrent
// callers (c sandboxes); compare invocations/s of c=1 and c=8.
func BenchmarkInvokeParallel(b *testing.B) {
	for _, c := range []int{1, 8} {
		b.Run("c"+strconv.Itoa(c), func(b *testing.B) {
			r := benchRunner(b, c)
			req := &invocation.Request{FunctionName: "echo", Payload: []byte(`{"k":"v"}`)}
			var warm sync.WaitGroup
			for i := 0; i < c; i++ { // start c sandboxes
				warm.Add(1)
				go func() { defer warm.Done(); r.Invoke(context.Background(), req) }()
			}
			warm.Wait()
			var n atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := 0; w < c; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n.Add(1) <= int64(b.N) {
						if _, err := r.Invoke(context.Background(), req); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "invokes/s")
		})
	}
}

// BenchmarkColdStart is a cold start (a new sandbox, its runtime's init and
// one invocation) of a Go and a Python echo, with and without sandboxes:
// the difference is the sandbox's set-up cost.
func BenchmarkColdStart(b *testing.B) {
	for _, rt := range []string{"go", "python"} {
		for _, iso := range []string{IsolationSandbox, IsolationNone} {
			b.Run(rt+"/isolation="+iso, func(b *testing.B) {
				f := fn(b, "cold", "goecho")
				if rt == "python" {
					dir := b.TempDir()
					if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte("def handler(event, context):\n    return event\n"), 0o644); err != nil {
						b.Fatal(err)
					}
					f = Function{Name: "cold", Runtime: "python3.12", Handler: "app.handler", CodeDir: dir,
						Timeout: 10 * time.Second, MemoryMB: 128, ReservedConcurrency: -1}
				}
				r := newRunner(b, Config{Isolation: iso}, f)
				req := &invocation.Request{FunctionName: "cold", Payload: []byte(`{"k":"v"}`)}
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := 0; i <= b.N; i++ {
					b.StopTimer()
					f.Revision = strconv.Itoa(i) // a new revision: the next invoke is cold
					if err := r.Deploy(context.Background(), []Function{f}); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					start := time.Now()
					res, err := r.Invoke(context.Background(), req)
					if err != nil || !res.Cold || res.FunctionError != "" {
						b.Fatalf("cold invoke: %v %+v", err, res)
					}
					if i > 0 { // the first one also compiles the Python bytecode cache
						lat = append(lat, time.Since(start))
					}
				}
				b.StopTimer()
				reportLatencies(b, lat)
			})
		}
	}
}
