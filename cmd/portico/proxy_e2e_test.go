package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHTTPProxyRoutes puts a real upstream behind HTTP_PROXY routes of a
// running `portico up`: path variables, streaming, large bodies over
// keep-alive connections, and an upstream that is down.
func TestHTTPProxyRoutes(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range 3 {
				fmt.Fprintf(w, "data: token%d\n\n", i)
				w.(http.Flusher).Flush()
				time.Sleep(100 * time.Millisecond)
			}
		case r.Method == http.MethodPost:
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
		default:
			fmt.Fprintf(w, "upstream %s %s host=%s", r.Method, r.URL.RequestURI(), r.Host)
		}
	}))
	defer upstream.Close()

	dir := t.TempDir()
	spec := fmt.Sprintf(`apis:
  models:
    integrations:
      server: {type: HTTP_PROXY, uri: "%s/{proxy}"}
      down:   {type: HTTP_PROXY, uri: "http://127.0.0.1:1/{proxy}"}
    routes:
      "ANY /models/{proxy+}": {integration: server}
      "GET /down/{proxy+}": {integration: down}
    stages:
      v1: {autoDeploy: true}
`, upstream.URL)
	specFile := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	in := up(t, specFile)
	ep := in.endpoints["models v1"]

	resp, body := get(t, ep+"/models/llama/info?verbose=1")
	if resp.StatusCode != 200 || body != "upstream GET /llama/info?verbose=1 host="+strings.TrimPrefix(upstream.URL, "http://") {
		t.Errorf("proxied GET: %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, ep+"/down/x")
	if resp.StatusCode != 503 || body != `{"message":"Service Unavailable"}` {
		t.Errorf("upstream down: %d %q", resp.StatusCode, body)
	}

	// Server-sent events arrive one by one, while the upstream still sends.
	start := time.Now()
	resp, err := http.Get(ep + "/models/events")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	var firstAt time.Duration
	events := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			if events == 0 {
				firstAt = time.Since(start)
			}
			events++
		}
	}
	resp.Body.Close()
	if events != 3 || firstAt > 150*time.Millisecond {
		t.Errorf("got %d events, first after %v; want 3, the first before the upstream finished (~200ms)", events, firstAt)
	}

	// 1 MiB POST bodies over keep-alive connections: none may fail.
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	want := fmt.Sprintf("%d %x", len(payload), sha256.Sum256(payload))
	const workers, perWorker = 8, 1250 // 10 000 in all
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				resp, err := client.Post(ep+"/models/upload", "application/octet-stream", bytes.NewReader(payload))
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != want {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %.80s", resp.StatusCode, b))
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d 1 MiB POSTs failed; first: %v", n, workers*perWorker, firstErr.Load())
	}
}
