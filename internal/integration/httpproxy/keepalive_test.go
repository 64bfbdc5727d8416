package httpproxy

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// discardWriter is a ResponseWriter that keeps only the status and size.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }
func (d *discardWriter) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }
func (d *discardWriter) Flush()                      {}
func (d *discardWriter) reset()                      { clear(d.h); d.status, d.n = 0, 0 }

// TestKeepAlivePOSTNoFailures sends 10 000 POSTs of 1 MiB over keep-alive
// connections to an upstream that closes idle connections after a few
// milliseconds, so that requests regularly race the upstream's close: the
// case where a plain httputil.ReverseProxy fails about 1% of requests with
// "use of closed network connection". Every request must succeed, whether
// its body is in memory (replayed on a fresh connection) or streamed
// (which cannot be replayed: a connection the upstream closed while idle
// must be passed over before the body starts; a close racing the request
// itself cannot be told apart, so the streamed case idles past the
// upstream's timeout, not up to it).
func TestKeepAlivePOSTNoFailures(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		t.Run(map[bool]string{false: "buffered", true: "streamed"}[streamed], func(t *testing.T) {
			keepAlivePOSTs(t, streamed)
		})
	}
}

func keepAlivePOSTs(t *testing.T, streamed bool) {
	total, workers := 10000, 8
	if testing.Short() {
		total = 1000
	}
	idle, pause := 2*time.Millisecond, time.Duration(0)
	if streamed {
		// One worker: a connection idles exactly as long as it pauses,
		// well past the upstream's idle timeout, or not at all (the
		// margin is for the scheduler of a loaded machine).
		total, workers = 200, 1
		idle, pause = 25*time.Millisecond, 50*time.Millisecond
	}
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil || n != 1<<20 {
			http.Error(w, "short body", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	}))
	up.Config.IdleTimeout = idle
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()

	tr, err := NewTransport(TransportConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	p := newProxy(t, Config{URI: up.URL + "/upload", Transport: tr})
	body := bytes.Repeat([]byte("x"), 1<<20)

	var failures atomic.Int64
	var firstErr atomic.Value
	next := atomic.Int64{}
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			w := &discardWriter{h: http.Header{}}
			for next.Add(1) <= int64(total) {
				req := httptest.NewRequest("POST", "/upload", nil)
				w.reset()
				ir := front{}.request(req, body)
				if streamed {
					ir.Body, ir.BodyRest, ir.BodyLength = body[:64<<10], bytes.NewReader(body[64<<10:]), int64(len(body))
				}
				err := p.Serve(context.Background(), w, ir)
				if err != nil || w.status != 200 || w.n != 2 {
					if failures.Add(1) == 1 {
						firstErr.Store(struct {
							err    error
							status int
						}{err, w.status})
					}
				}
				switch {
				case rand.IntN(4) != 0:
				case streamed:
					// Idle until the upstream surely closed: the race
					// with a close under way is the buffered case's.
					time.Sleep(pause)
				default: // idle about long enough for the upstream to close
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d requests in %v: %d upstream connections, %d replayed on a fresh connection",
		total, time.Since(start).Round(time.Millisecond), conns.Load(), tr.retries.Load())
	if n := failures.Load(); n != 0 {
		first := firstErr.Load().(struct {
			err    error
			status int
		})
		t.Fatalf("%d of %d requests failed; first: status %d, %v", n, total, first.status, first.err)
	}
}
