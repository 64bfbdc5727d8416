package httpproxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkVsReverseProxy compares Proxy with a default
// httputil.ReverseProxy (default Transport settings) forwarding to the same
// loopback upstream, in the same run. For each case it runs both, then a
// "ratio" sub-benchmark reports portico/reverseproxy for ns/op and
// allocs/op (below 1 means Proxy is cheaper).
func BenchmarkVsReverseProxy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "hello, world\n")
	}))
	defer up.Close()
	upURL, _ := url.Parse(up.URL)

	tr, err := NewTransport(TransportConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	p, err := New(Config{URI: up.URL + "/{proxy}", Transport: tr})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	rp := httputil.NewSingleHostReverseProxy(upURL)
	rpTransport := http.DefaultTransport.(*http.Transport).Clone()
	defer rpTransport.CloseIdleConnections()
	rp.Transport = rpTransport

	type result struct{ ns, allocs float64 }
	var mu sync.Mutex
	results := map[string]result{}

	for _, size := range []struct {
		name   string
		method string
		body   []byte
	}{
		{"small", "GET", nil},
		{"1MiB", "POST", bytes.Repeat([]byte("x"), 1<<20)},
	} {
		for _, par := range []int{1, 64} {
			name := size.name + "/p" + itoa(par)
			run := func(b *testing.B, serve func(w *discardWriter)) {
				var ms0, ms1 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				start := time.Now()
				b.ResetTimer()
				if par == 1 {
					w := &discardWriter{h: http.Header{}}
					for b.Loop() {
						serve(w)
					}
				} else {
					b.SetParallelism((par + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
					b.RunParallel(func(pb *testing.PB) {
						w := &discardWriter{h: http.Header{}}
						for pb.Next() {
							serve(w)
						}
					})
				}
				elapsed := time.Since(start)
				b.StopTimer()
				runtime.ReadMemStats(&ms1)
				mu.Lock()
				results[b.Name()] = result{
					ns:     float64(elapsed.Nanoseconds()) / float64(b.N),
					allocs: float64(ms1.Mallocs-ms0.Mallocs) / float64(b.N),
				}
				mu.Unlock()
			}
			b.Run(name+"/portico", func(b *testing.B) {
				b.ReportAllocs()
				run(b, func(w *discardWriter) {
					w.reset()
					req := httptest.NewRequest(size.method, "/bench?x=1", nil)
					ir := front{params: map[string]string{"proxy": "bench"}}.request(req, size.body)
					if err := p.Serve(context.Background(), w, ir); err != nil || w.status != 200 {
						b.Errorf("Serve = %v, status %d", err, w.status)
					}
				})
			})
			b.Run(name+"/reverseproxy", func(b *testing.B) {
				b.ReportAllocs()
				run(b, func(w *discardWriter) {
					w.reset()
					var body io.Reader
					if size.body != nil {
						body = bytes.NewReader(size.body)
					}
					req := httptest.NewRequest(size.method, "/bench?x=1", body)
					rp.ServeHTTP(w, req)
					if w.status != 200 {
						b.Errorf("status %d", w.status)
					}
				})
			})
			b.Run(name+"/ratio", func(b *testing.B) {
				mu.Lock()
				ours := results[b.Name()[:len(b.Name())-len("ratio")]+"portico"]
				theirs := results[b.Name()[:len(b.Name())-len("ratio")]+"reverseproxy"]
				mu.Unlock()
				for b.Loop() {
				}
				if ours.ns == 0 || theirs.ns == 0 {
					b.Skip("run the portico and reverseproxy sub-benchmarks too")
				}
				b.ReportMetric(ours.ns/theirs.ns, "ns-ratio")
				if theirs.allocs > 0 {
					b.ReportMetric(ours.allocs/theirs.allocs, "allocs-ratio")
				}
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
