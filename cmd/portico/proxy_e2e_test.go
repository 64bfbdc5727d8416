package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	// The events upstream holds its last two events until the client has
	// read the first (or a guard long past any machine's speed runs out):
	// the client sees streaming by the order of events, not by a stopwatch.
	gotFirst := make(chan struct{}, 1)
	var upstreamDone atomic.Bool
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range 3 {
				fmt.Fprintf(w, "data: token%d\n\n", i)
				w.(http.Flusher).Flush()
				if i == 0 {
					select {
					case <-gotFirst:
					case <-time.After(30 * time.Second):
					}
				}
			}
			upstreamDone.Store(true)
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
	resp, err := http.Get(ep + "/models/events")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	firstEarly := false
	events := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			if events == 0 {
				firstEarly = !upstreamDone.Load()
				gotFirst <- struct{}{}
			}
			events++
		}
	}
	resp.Body.Close()
	if events != 3 || !firstEarly {
		t.Errorf("got %d events, the first before the upstream finished: %v; want 3, true", events, firstEarly)
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

// TestFunctionFailures calls real functions that misbehave through the
// gateway: each failure is API Gateway's error, and the function's sandbox
// is replaced so the next call works.
func TestFunctionFailures(t *testing.T) {
	in := up(t, filepath.Join("testdata", "failures", "portico.yaml"))
	ep := strings.TrimSuffix(in.endpoints["failures $default"], "/")
	const internal, unavailable = `{"message":"Internal Server Error"}`, `{"message":"Service Unavailable"}`
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/not-json", 500, internal},
		{"/too-large", 500, internal},
		{"/nothing", 200, "null"},
		{"/function-timeout", 500, internal},
		{"/integration-timeout", 503, unavailable},
		{"/crash", 500, internal},
		{"/raises", 500, internal},
		{"/bad-status", 500, internal},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			for range 2 { // the second call runs in a fresh or reused sandbox
				resp, body := get(t, ep+tt.path)
				if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
					t.Errorf("GET %s: %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
				}
			}
		})
	}
}

// TestMalformedRequests speaks raw HTTP/1.1 to the gateway: a malformed
// request line and oversized headers get clean errors and the server keeps
// serving.
func TestMalformedRequests(t *testing.T) {
	in := up(t, filepath.Join("..", "..", "examples", "seed", "portico.yaml"))
	addr := strings.TrimPrefix(in.gateway, "http://")
	tests := []struct {
		name, request, wantStatus string
	}{
		{"malformed request line", "GARBAGE\r\n\r\n", "HTTP/1.1 400"},
		{"bad method token", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400"},
		{"headers over API Gateway's limit", "GET /v1/ HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 11000) + "\r\n\r\n", "HTTP/1.1 431"},
		{"headers over the server's limit", "GET /v1/ HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70000) + "\r\n\r\n", "HTTP/1.1 431"},
		{"body over 10 MB", "POST /v1/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n", "HTTP/1.1 413"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tt.request); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, tt.wantStatus) {
				t.Errorf("status line %q (%v), want %s", line, err, tt.wantStatus)
			}
		})
	}
	if resp, _ := get(t, in.endpoints["aiServicesHttpApi v1"]+"/?text=still+fine"); resp.StatusCode != 200 {
		t.Errorf("gateway unhealthy after bad requests: %d", resp.StatusCode)
	}
}

// TestAccessLogs runs a stage with an access log in a file: one line per
// request in the stage's format, written by the time portico stops.
func TestAccessLogs(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer upstream.Close()
	dir := t.TempDir()
	spec := fmt.Sprintf(`apis:
  logged:
    integrations:
      up: {type: HTTP_PROXY, uri: "%s/{proxy}"}
    routes:
      "GET /{proxy+}": {integration: up}
    stages:
      json:
        accessLogSettings: {destination: ./logs/json.log}
      clf:
        accessLogSettings:
          destination: ./logs/clf.log
          format: '$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId'
`, upstream.URL)
	specFile := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "logs"), 0o755)
	in := up(t, specFile)
	for range 3 {
		get(t, in.endpoints["logged json"]+"/a/b")
	}
	get(t, in.endpoints["logged clf"]+"/x")
	get(t, in.endpoints["logged clf"]+"/../nope") // a 404 is logged too
	in.stop(t)

	jsonLog, err := os.ReadFile(filepath.Join(dir, "logs", "json.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(jsonLog)), "\n")
	if len(lines) != 3 {
		t.Fatalf("json log has %d lines:\n%s", len(lines), jsonLog)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("json log line %q: %v", lines[0], err)
	}
	if rec["routeKey"] != "GET /{proxy+}" || rec["stage"] != "json" || rec["status"] != float64(200) || rec["requestId"] == "" {
		t.Errorf("json record: %v", rec)
	}
	clf, err := os.ReadFile(filepath.Join(dir, "logs", "clf.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(clf), `"GET GET /{proxy+} HTTP/1.1" 200 2 `) || !strings.Contains(string(clf), "127.0.0.1 - - [") {
		t.Errorf("clf log:\n%s", clf)
	}
}

// TestObservability calls the seed and then reads what the admin listener
// shows: Prometheus metrics for the route and the function, the console's
// live data, and the function's log lines of one request.
func TestObservability(t *testing.T) {
	in := up(t, filepath.Join("..", "..", "examples", "seed", "portico.yaml"))
	for range 3 {
		get(t, in.endpoints["aiServicesHttpApi v1"]+"/?text=fine")
	}
	get(t, in.endpoints["aiServicesHttpApi v1"]+"/missing")

	_, metrics := get(t, in.console+"/metrics")
	for _, want := range []string{
		`portico_http_requests_total{api="aiServicesHttpApi",route="GET /",stage="v1",status_class="2xx"} 3`,
		`portico_lambda_invocations_total{function="aiServiceFunction"} 3`,
		`portico_lambda_cold_starts_total{function="aiServiceFunction"} 1`,
		`portico_http_request_duration_seconds_bucket{`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	resp, page := get(t, in.console+"/")
	if resp.StatusCode != 200 || !strings.Contains(page, "aiServicesHttpApi") || !strings.Contains(page, "aiServiceFunction") {
		t.Errorf("console page: %d\n%.400s", resp.StatusCode, page)
	}
	_, liveJSON := get(t, in.console+"/live.json")
	var live struct {
		Requests []struct {
			Status  int    `json:"status"`
			LogsURL string `json:"logs"`
		} `json:"requests"`
	}
	if err := json.Unmarshal([]byte(liveJSON), &live); err != nil {
		t.Fatalf("live.json: %v\n%.300s", err, liveJSON)
	}
	if len(live.Requests) != 4 {
		t.Fatalf("live.json lists %d requests, want 4:\n%.500s", len(live.Requests), liveJSON)
	}
	var logsURL string
	for _, r := range live.Requests {
		if r.Status == 200 && r.LogsURL != "" {
			logsURL = r.LogsURL
		}
	}
	if logsURL == "" {
		t.Fatalf("no request links to its function logs:\n%.500s", liveJSON)
	}
	_, logs := get(t, in.console+"/"+logsURL)
	if !strings.Contains(logs, "START RequestId:") || !strings.Contains(logs, "classified 1 words") {
		t.Errorf("invocation logs page:\n%.600s", logs)
	}
}
