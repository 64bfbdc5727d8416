package lambdaproxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/testtool"
)

// Streaming functions: each streams five chunks 100 ms apart unless the
// event says otherwise ({"fail":true} fails after two chunks, {"stall":true}
// stalls after one, {"early":true} fails before the first byte).
const nodeStream = `
exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  const q = (event.rawQueryString || '');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  if (q.includes('early')) throw new Error('early failure');
  if (q.includes('http')) {
    stream = awslambda.HttpResponseStream.from(stream, {statusCode: 201, headers: {'x-a': 'b', 'content-type': 'text/plain'}, cookies: ['c=1', 'd=2']});
  } else {
    stream.setContentType('text/event-stream');
  }
  for (let i = 0; i < 5; i++) {
    if (q.includes('fail') && i === 2) throw new Error('mid-stream failure');
    if (q.includes('stall') && i === 1) await sleep(5000);
    stream.write('data: ' + i + '\n\n');
    await sleep(100);
  }
  stream.end();
});
`

const pythonStream = `
import time

def handler(event, context):
    q = event.get("rawQueryString", "")
    if "early" in q:
        raise ValueError("early failure")
    return chunks(q)

def chunks(q):
    if "http" in q:
        yield {"statusCode": 201, "headers": {"x-a": "b", "content-type": "text/plain"}, "cookies": ["c=1", "d=2"]}
    for i in range(5):
        if "fail" in q and i == 2:
            raise ValueError("mid-stream failure")
        if "stall" in q and i == 1:
            time.sleep(5)
        yield "data: %d\n\n" % i
        time.sleep(0.1)
`

// streamRunner deploys the Node and Python streaming functions on a real
// runner.
func streamRunner(t *testing.T) *lambda.Runner {
	t.Helper()
	var fns []lambda.Function
	if _, err := exec.LookPath("node"); err == nil {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "index.js"), []byte(nodeStream), 0o644)
		fns = append(fns, lambda.Function{Name: "node", Runtime: "nodejs20.x", Handler: "index.handler", CodeDir: dir, Timeout: 10 * time.Second, ReservedConcurrency: -1})
	}
	if _, err := exec.LookPath("python3"); err == nil {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "app.py"), []byte(pythonStream), 0o644)
		fns = append(fns, lambda.Function{Name: "python", Runtime: "python3.12", Handler: "app.handler", CodeDir: dir, Timeout: 10 * time.Second, ReservedConcurrency: -1})
	}
	if len(fns) == 0 {
		testtool.Missing(t, "node, python3", "neither is installed")
	}
	r, err := lambda.New(lambda.Config{CacheDir: t.TempDir()}, lambda.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := r.Deploy(context.Background(), fns); err != nil {
		t.Fatal(err)
	}
	return r
}

// streamServer serves one Proxy per function on loopback, rendering errors
// as the gateway does; each request's outcome goes to errs.
func streamServer(t *testing.T, r *lambda.Runner, function string, idle time.Duration, errs chan<- error) *httptest.Server {
	t.Helper()
	p := New(Config{Function: function, PayloadFormatVersion: "2.0", InvokeMode: InvokeModeResponseStream, IdleTimeout: idle}, r)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		ir := &integration.Request{HTTP: hr, RawPath: hr.URL.Path, Path: hr.URL.Path, RouteKey: "$default", Stage: "$default",
			RequestID: "req", Time: time.Now(), APIID: "api"}
		var err error
		defer func() {
			if p := recover(); p != nil {
				errs <- errAborted
				panic(p)
			}
			errs <- err
		}()
		err = p.Serve(hr.Context(), w, ir)
		if err != nil && hr.Context().Err() == nil {
			edge.Render(w, err)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

var errAborted = errors.New("aborted")

type chunk struct {
	at   time.Duration
	line string
}

// readChunks reads the body line by line, timing each line.
func readChunks(t *testing.T, body io.Reader, start time.Time) ([]chunk, error) {
	var out []chunk
	br := bufio.NewReader(body)
	for {
		l, err := br.ReadString('\n')
		if l != "" && l != "\n" {
			out = append(out, chunk{time.Since(start), strings.TrimSpace(l)})
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestStreamRealRuntimes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real runtimes")
	}
	r := streamRunner(t)
	for _, name := range []string{"node", "python"} {
		t.Run(name, func(t *testing.T) {
			if _, err := exec.LookPath(map[string]string{"node": "node", "python": "python3"}[name]); err != nil {
				t.Skip(err)
			}
			errs := make(chan error, 8)
			ts := streamServer(t, r, name, 2*time.Second, errs)
			get := func(query string) (*http.Response, time.Time) {
				t.Helper()
				start := time.Now()
				resp, err := http.Get(ts.URL + "/chat?" + query)
				if err != nil {
					t.Fatal(err)
				}
				return resp, start
			}

			t.Run("chunks arrive as they are produced", func(t *testing.T) {
				resp, start := get("go")
				defer resp.Body.Close()
				got, err := readChunks(t, resp.Body, start)
				if err != nil || len(got) != 5 {
					t.Fatalf("chunks %v, err %v", got, err)
				}
				if got[4].at-got[0].at < 300*time.Millisecond {
					t.Errorf("first chunk at %v, last at %v: the body was buffered", got[0].at, got[4].at)
				}
				if err := <-errs; err != nil {
					t.Errorf("Serve: %v", err)
				}
				if name == "node" && resp.Header.Get("Content-Type") != "text/event-stream" {
					t.Errorf("Content-Type = %q, want text/event-stream", resp.Header.Get("Content-Type"))
				}
				if resp.StatusCode != 200 || resp.Header.Get("Content-Length") != "" {
					t.Errorf("status %d, Content-Length %q", resp.StatusCode, resp.Header.Get("Content-Length"))
				}
			})
			t.Run("HTTP response prelude", func(t *testing.T) {
				resp, start := get("http")
				defer resp.Body.Close()
				got, err := readChunks(t, resp.Body, start)
				<-errs
				if err != nil || len(got) != 5 || got[0].line != "data: 0" {
					t.Fatalf("chunks %v, err %v", got, err)
				}
				if resp.StatusCode != 201 || resp.Header.Get("X-A") != "b" || resp.Header.Get("Content-Type") != "text/plain" ||
					strings.Join(resp.Header.Values("Set-Cookie"), ",") != "c=1,d=2" {
					t.Errorf("status %d, header %v", resp.StatusCode, resp.Header)
				}
			})
			t.Run("error before the first byte is a 500", func(t *testing.T) {
				resp, _ := get("early")
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				<-errs
				if resp.StatusCode != 500 || string(b) != `{"message":"Internal Server Error"}` {
					t.Errorf("got %d %s", resp.StatusCode, b)
				}
			})
			t.Run("error mid-stream aborts the response", func(t *testing.T) {
				resp, start := get("fail")
				got, err := readChunks(t, resp.Body, start)
				resp.Body.Close()
				if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 2 {
					t.Errorf("chunks %v, err %v; want 2 chunks then unexpected EOF", got, err)
				}
				if err := <-errs; err != errAborted {
					t.Errorf("Serve: %v, want an abort", err)
				}
			})
			t.Run("idle timeout aborts the response", func(t *testing.T) {
				resp, start := get("stall")
				got, err := readChunks(t, resp.Body, start)
				resp.Body.Close()
				// The function stalls 5 s after its first chunk, then sends
				// the rest: one chunk and an abort show the idle timeout cut
				// it, without timing the call.
				if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 1 {
					t.Errorf("chunks %v, err %v; want 1 chunk then unexpected EOF", got, err)
				}
				<-errs
			})
			t.Run("client disconnect cancels the invocation", func(t *testing.T) {
				// Three rounds: goroutines must not grow from round to round.
				var after1 int
				for round := 0; round < 3; round++ {
					ctx, cancel := context.WithCancel(context.Background())
					req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/chat?stall", nil)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					br := bufio.NewReader(resp.Body)
					if l, err := br.ReadString('\n'); err != nil || l != "data: 0\n" {
						t.Fatalf("first line %q, %v", l, err)
					}
					cancel()
					resp.Body.Close()
					// The function stalls 5 s: Serve ending with
					// context.Canceled shows the disconnect cut it.
					if err := testtool.Await(t, "the invocation to end after the client left", errs); !errors.Is(err, context.Canceled) {
						t.Errorf("Serve: %v, want context.Canceled", err)
					}
					// The next invocation works on a fresh sandbox.
					resp, start := get("go")
					got, err := readChunks(t, resp.Body, start)
					resp.Body.Close()
					<-errs
					if err != nil || len(got) != 5 {
						t.Errorf("after disconnect: chunks %v, err %v", got, err)
					}
					http.DefaultClient.CloseIdleConnections()
					if round == 0 {
						time.Sleep(300 * time.Millisecond)
						after1 = runtime.NumGoroutine()
						continue
					}
				}
				deadline := time.Now().Add(3 * time.Second)
				for runtime.NumGoroutine() > after1 && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if n := runtime.NumGoroutine(); n > after1 {
					t.Errorf("goroutines grew from %d after round 1 to %d after round 3", after1, n)
				}
			})
		})
	}
}

func TestStreamConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "stream", cfg: Config{Function: "f", PayloadFormatVersion: "2.0", InvokeMode: InvokeModeResponseStream, IdleTimeout: time.Second}},
		{name: "buffered", cfg: Config{Function: "f", PayloadFormatVersion: "2.0", InvokeMode: InvokeModeBuffered}},
		{name: "bad mode", cfg: Config{Function: "f", PayloadFormatVersion: "2.0", InvokeMode: "STREAM"}, wantErr: `invokeMode "STREAM"`},
		{name: "negative idle", cfg: Config{Function: "f", PayloadFormatVersion: "2.0", IdleTimeout: -1}, wantErr: "idle timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// fakeStream is a StreamInvoker that writes given chunks.
type fakeStream struct {
	ct     string
	chunks []string
}

func (f fakeStream) Invoke(context.Context, *invocation.Request) (*invocation.Result, error) {
	return nil, errors.New("not buffered")
}

func (f fakeStream) InvokeStream(ctx context.Context, req *invocation.Request, w invocation.StreamWriter, _ invocation.StreamOptions) (*invocation.StreamResult, error) {
	res := &invocation.StreamResult{Streamed: true}
	res.ContentType = f.ct
	if len(f.chunks) > 0 {
		if err := w.Begin(f.ct); err != nil {
			return res, err
		}
	}
	for _, c := range f.chunks {
		if _, err := w.Write([]byte(c)); err != nil {
			return res, err
		}
	}
	return res, nil
}

func TestStreamPrelude(t *testing.T) {
	nul := "\x00\x00\x00\x00\x00\x00\x00\x00"
	tests := []struct {
		name       string
		inv        fakeStream
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{name: "prelude split over chunks", inv: fakeStream{HTTPIntegrationContentType, []string{`{"statusCode":404,"hea`, `ders":{"x-k":"v"}}` + nul[:3], nul[3:] + "body", "more"}},
			wantStatus: 404, wantBody: "bodymore", wantHeader: map[string]string{"X-K": "v", "Content-Type": "application/octet-stream"}},
		{name: "scalar header values", inv: fakeStream{HTTPIntegrationContentType, []string{`{"headers":{"x-n":12,"x-b":true,"x-nil":null}}` + nul + "x"}},
			wantStatus: 200, wantBody: "x", wantHeader: map[string]string{"X-N": "12", "X-B": "true", "X-Nil": ""}},
		{name: "object header value", inv: fakeStream{HTTPIntegrationContentType, []string{`{"headers":{"x":{}}}` + nul + "x"}}, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`},
		{name: "no statusCode means 200", inv: fakeStream{HTTPIntegrationContentType, []string{`{}` + nul + "x"}}, wantStatus: 200, wantBody: "x"},
		{name: "plain stream", inv: fakeStream{"text/plain", []string{"a", "b"}}, wantStatus: 200, wantBody: "ab", wantHeader: map[string]string{"Content-Type": "text/plain"}},
		{name: "empty stream", inv: fakeStream{"", nil}, wantStatus: 200, wantBody: ""},
		{name: "bad prelude JSON", inv: fakeStream{HTTPIntegrationContentType, []string{`{"statusCode":"x"}` + nul + "b"}}, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`},
		{name: "1xx prelude status", inv: fakeStream{HTTPIntegrationContentType, []string{`{"statusCode":101}` + nul}}, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`},
		{name: "prelude never ends", inv: fakeStream{HTTPIntegrationContentType, []string{strings.Repeat("a", maxPrelude+1)}}, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := serve(t, context.Background(), Config{Function: "f", PayloadFormatVersion: "2.0", InvokeMode: InvokeModeResponseStream}, tt.inv)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
	t.Run("invoker that cannot stream", func(t *testing.T) {
		rec, _ := serve(t, context.Background(), Config{Function: "f", PayloadFormatVersion: "2.0", InvokeMode: InvokeModeResponseStream}, returning(`{}`))
		if rec.Code != 500 {
			t.Errorf("got %d", rec.Code)
		}
	})
}
