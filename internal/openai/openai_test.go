package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/openai/openaitest"
	"github.com/portico-dev/portico/internal/testtool"
)

// forward is a minimal streaming proxy to base: it flushes after every read,
// so the tee sees the upstream's writes as they come.
func forward(base string) integration.Integration {
	return integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		method := http.MethodPost
		if r.HTTP != nil {
			method = r.HTTP.Method
		}
		req, err := http.NewRequestWithContext(ctx, method, base+r.Path, bytes.NewReader(r.Body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return edge.New(edge.ServiceUnavailable, err)
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		rc := http.NewResponseController(w)
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return werr
				}
				_ = rc.Flush()
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
}

// recorder is a Meter that keeps what it receives.
type recorder struct {
	mu   sync.Mutex
	got  []rec
	done chan struct{}
}

type rec struct {
	route, key string
	u          Usage
}

func newRecorder() *recorder { return &recorder{done: make(chan struct{}, 100)} }

func (m *recorder) Record(_ context.Context, route, key string, u Usage) {
	m.mu.Lock()
	m.got = append(m.got, rec{route, key, u})
	m.mu.Unlock()
	m.done <- struct{}{}
}

func (m *recorder) last(t *testing.T) rec {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.got) == 0 {
		t.Fatal("nothing metered")
	}
	return m.got[len(m.got)-1]
}

func request(path, body string) *integration.Request {
	hr := httptest.NewRequest(http.MethodPost, "/v1"+path, strings.NewReader(body))
	return &integration.Request{HTTP: hr, Body: []byte(body), Path: path, RawPath: "/v1" + path, RouteKey: "POST /{proxy+}", Stage: "v1", APIID: "api"}
}

// testKey carries the API key name a test request presents.
type testKey struct{}

// WithAPIKey returns ctx naming the API key serve puts on its request (the
// gateway sets integration.Request.APIKey).
func WithAPIKey(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, testKey{}, name)
}

// serve runs integ for req and returns the recorded response and error.
func serve(ctx context.Context, integ integration.Integration, req *integration.Request) (*httptest.ResponseRecorder, error) {
	if k, _ := ctx.Value(testKey{}).(string); k != "" {
		req.APIKey = k
	}
	w := httptest.NewRecorder()
	err := integ.Serve(ctx, w, req)
	return w, err
}

const chatBody = `{"model":"m","messages":[{"role":"user","content":"say hello to me"}]}`

func TestJSONUsage(t *testing.T) {
	tests := []struct {
		name string
		opts openaitest.Options
		path string
		body string
		want Usage
	}{
		{"chat", openaitest.Options{}, "/v1/chat/completions", chatBody,
			Usage{Endpoint: "chat/completions", Model: "fake-model", Known: true, PromptTokens: 4, CompletionTokens: 5, TotalTokens: 9}},
		{"completions", openaitest.Options{Model: "llama"}, "/v1/completions", `{"prompt":"once upon"}`,
			Usage{Endpoint: "completions", Model: "llama", Known: true, PromptTokens: 2, CompletionTokens: 5, TotalTokens: 7}},
		{"embeddings", openaitest.Options{}, "/v1/embeddings", `{"input":["a b","c"]}`,
			Usage{Endpoint: "embeddings", Model: "fake-model", Known: true, PromptTokens: 3, TotalTokens: 3}},
		{"large embeddings read from head and tail", openaitest.Options{EmbeddingDims: 40000}, "/v1/embeddings", `{"input":["a b","c","d"]}`,
			Usage{Endpoint: "embeddings", Model: "fake-model", Known: true, PromptTokens: 4, TotalTokens: 4}},
		{"route prefix", openaitest.Options{}, "/ai/v1/chat/completions", chatBody,
			Usage{Endpoint: "chat/completions", Model: "fake-model", Known: true, PromptTokens: 4, CompletionTokens: 5, TotalTokens: 9}},
		{"no usage is unknown", openaitest.Options{OmitUsage: true}, "/v1/chat/completions", chatBody,
			Usage{Endpoint: "chat/completions"}},
		{"upstream 429 is unknown", openaitest.Options{Status: 429}, "/v1/chat/completions", chatBody,
			Usage{Endpoint: "chat/completions"}},
		{"upstream 500 is unknown", openaitest.Options{Status: 500}, "/v1/completions", `{"prompt":"x"}`,
			Usage{Endpoint: "completions"}},
		{"bad request body is unknown", openaitest.Options{}, "/v1/chat/completions", `{not json`,
			Usage{Endpoint: "chat/completions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := openaitest.Start(t, tt.opts)
			m := newRecorder()
			path := strings.TrimPrefix(tt.path, "/ai")
			integ := Wrap(Config{Meter: m}, integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
				cp := *r
				cp.Path = path
				return forward(srv.URL).Serve(ctx, w, &cp)
			}))
			direct, _ := serve(context.Background(), forward(srv.URL), request(path, tt.body))
			w, err := serve(context.Background(), integ, request(tt.path, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w.Body.Bytes(), direct.Body.Bytes()) || w.Code != direct.Code {
				t.Fatalf("client got %d %q, want %d %q", w.Code, w.Body, direct.Code, direct.Body)
			}
			got := m.last(t)
			if got.u != tt.want || got.route != "POST /{proxy+}" || got.key != "" {
				t.Fatalf("metered %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNotMetered(t *testing.T) {
	srv := openaitest.Start(t, openaitest.Options{})
	m := newRecorder()
	integ := Wrap(Config{Meter: m}, forward(srv.URL))
	req := request("/v1/models", "")
	req.HTTP = httptest.NewRequest(http.MethodGet, "/v1/v1/models", nil)
	w, err := serve(context.Background(), integ, req)
	if err != nil || w.Code != 200 || !strings.Contains(w.Body.String(), "fake-model") {
		t.Fatalf("models: %d %q %v", w.Code, w.Body, err)
	}
	if len(m.got) != 0 {
		t.Fatalf("GET /v1/models metered: %+v", m.got)
	}
}

func TestStreamUsage(t *testing.T) {
	const (
		noOptions = `{"model":"m","stream":true,"messages":[{"role":"user","content":"say hello to me"}]}`
		asked     = `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"say hello to me"}]}`
		refused   = `{"model":"m","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"say hello to me"}]}`
		legacy    = `{"model":"m","stream":true,"prompt":"once upon a time"}`
	)
	known := Usage{Endpoint: "chat/completions", Model: "fake-model", Known: true, PromptTokens: 4, CompletionTokens: 5, TotalTokens: 9, Stream: true}
	tests := []struct {
		name         string
		opts         openaitest.Options
		path, body   string
		wantInjected bool
		want         Usage
		extra        string // bytes the client gets that it would not have without injection
	}{
		{"injected and stripped", openaitest.Options{}, "/v1/chat/completions", noOptions, true, known, ""},
		{"client asked: untouched", openaitest.Options{}, "/v1/chat/completions", asked, false, known, ""},
		{"client refused: injected and stripped", openaitest.Options{}, "/v1/chat/completions", refused, true, known, ""},
		{"legacy completions", openaitest.Options{}, "/v1/completions", legacy, true,
			Usage{Endpoint: "completions", Model: "fake-model", Known: true, PromptTokens: 4, CompletionTokens: 5, TotalTokens: 9, Stream: true}, ""},
		{"paced", openaitest.Options{Delay: 2 * time.Millisecond}, "/v1/chat/completions", noOptions, true, known, ""},
		{"no usage", openaitest.Options{OmitUsage: true}, "/v1/chat/completions", noOptions, true,
			Usage{Endpoint: "chat/completions", Model: "fake-model", Stream: true}, ""},
		{"malformed SSE", openaitest.Options{MalformedSSE: true}, "/v1/chat/completions", noOptions, true,
			Usage{Endpoint: "chat/completions", Model: "fake-model", Stream: true},
			"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":\n\n"},
		{"malformed SSE, client asked", openaitest.Options{MalformedSSE: true}, "/v1/chat/completions", asked, false,
			Usage{Endpoint: "chat/completions", Model: "fake-model", Stream: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := openaitest.Start(t, tt.opts)
			m := newRecorder()
			integ := Wrap(Config{Meter: m}, forward(srv.URL))
			direct, _ := serve(context.Background(), forward(srv.URL), request(tt.path, tt.body))
			w, err := serve(context.Background(), integ, request(tt.path, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Replace(w.Body.String(), tt.extra, "", 1), direct.Body.String(); got != want {
				t.Fatalf("client got\n%s\nwant (as without injection)\n%s", got, want)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("content-type %q", ct)
			}
			bodies := srv.Bodies()
			injected := bytes.Contains(bodies[len(bodies)-1], []byte(`"include_usage":true`)) && !strings.Contains(tt.body, `"include_usage":true`)
			if injected != tt.wantInjected {
				t.Fatalf("upstream body %s: injected %v, want %v", bodies[len(bodies)-1], injected, tt.wantInjected)
			}
			if got := m.last(t).u; got != tt.want {
				t.Fatalf("metered %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStallMidStream(t *testing.T) {
	srv := openaitest.Start(t, openaitest.Options{StallAfter: 2})
	m := newRecorder()
	integ := Wrap(Config{Meter: m}, forward(srv.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	w, err := serve(ctx, integ, request("/v1/chat/completions", `{"stream":true,"messages":[{"content":"hi"}]}`))
	if err == nil {
		t.Fatal("stalled stream: want the integration's error")
	}
	if n := strings.Count(w.Body.String(), "data: "); n != 3 {
		t.Fatalf("client got %d events before the stall, want 3:\n%s", n, w.Body)
	}
	if got := m.last(t).u; got.Known || got.Model != "fake-model" || !got.Stream {
		t.Fatalf("metered %+v, want unknown usage of fake-model", got)
	}
}

func TestClientDisconnect(t *testing.T) {
	up := openaitest.Start(t, openaitest.Options{Delay: 20 * time.Millisecond, Words: strings.Split(strings.Repeat("w ", 50), " ")})
	m := newRecorder()
	integ := Wrap(Config{Meter: m}, forward(up.URL))
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &integration.Request{HTTP: r, Body: body, Path: r.URL.Path, RouteKey: "POST /chat", APIKey: "alice"}
		_ = integ.Serve(r.Context(), w, req)
	}))
	defer front.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, front.URL+"/v1/chat/completions", strings.NewReader(`{"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	testtool.Await(t, "the request to be metered after its client went away", m.done)
	if got := m.last(t); got.key != "alice" || got.u.Known || got.route != "POST /chat" {
		t.Fatalf("metered %+v, want alice's request with unknown usage", got)
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/v1/chat/completions", "chat/completions"},
		{"/v1/chat/completions/", "chat/completions"},
		{"/openai/v1/completions", "completions"},
		{"/embeddings", "embeddings"},
		{"/v1/models", ""},
		{"/v1/chat/completionsx", ""},
		{"/v1/xcompletions", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := endpoint(tt.path); got != tt.want {
				t.Fatalf("endpoint(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestInjectIncludeUsage(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"no options", `{"stream":true,"model":"m"}`, `{"stream_options":{"include_usage":true},"stream":true,"model":"m"}`, true},
		{"spaces kept", ` { "stream" : true }`, ` {"stream_options":{"include_usage":true}, "stream" : true }`, true},
		{"null options", `{"stream":true,"stream_options":null}`, `{"stream":true,"stream_options":{"include_usage":true}}`, true},
		{"other options kept", `{"stream":true,"stream_options":{"x":1,"include_usage":false}}`, `{"stream":true,"stream_options":{"include_usage":true,"x":1}}`, true},
		{"html not escaped", `{"stream":true,"stream_options":{},"p":"<a>&"}`, `{"p":"<a>&","stream":true,"stream_options":{"include_usage":true}}`, true},
		{"already asked", `{"stream":true,"stream_options":{"include_usage":true}}`, "", false},
		{"not streaming", `{"stream":false}`, "", false},
		{"no stream field", `{"model":"m"}`, "", false},
		{"bad: not JSON", `{"stream":true`, "", false},
		{"bad: array", `[{"stream":true}]`, "", false},
		{"bad: stream not a bool", `{"stream":"yes"}`, "", false},
		{"bad: options not an object", `{"stream":true,"stream_options":[1]}`, "", false},
		{"bad: empty", ``, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got, ok := injectIncludeUsage(in)
			if ok != tt.ok || string(got) != tt.want {
				t.Fatalf("inject(%s) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if string(in) != tt.in {
				t.Fatal("input modified")
			}
		})
	}
}

// stream is an SSE response as an upstream that was asked for usage sends it.
const stream = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"model\":\"m\",\"usage\":null}\n\n" +
	": keep-alive comment\n\n" +
	"id: 7\r\nevent: message\r\ndata: {\"choices\":[{\"delta\":{}}],\"usage\":null}\r\n\r\n" +
	"id: 8\ndata: {\"choices\":[],\"model\":\"m2\",\"usage\": {\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n" +
	"data: [DONE]\n\n"

// stripped is stream without what include_usage added.
const stripped = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"model\":\"m\"}\n\n" +
	": keep-alive comment\n\n" +
	"id: 7\r\nevent: message\r\ndata: {\"choices\":[{\"delta\":{}}]}\r\n\r\n" +
	"data: [DONE]\n\n"

func runTee(strip bool, in string, size int) (string, Usage) {
	w := httptest.NewRecorder()
	w.Header().Set("Content-Type", "text/event-stream")
	tt := newTee(w, strip)
	tt.WriteHeader(200)
	for p := []byte(in); len(p) > 0; {
		n := min(size, len(p))
		if m, err := tt.Write(p[:n]); m != n || err != nil {
			panic("short write")
		}
		p = p[n:]
	}
	u := tt.finish()
	return w.Body.String(), u
}

func TestTeeSplitWrites(t *testing.T) {
	want := Usage{Model: "m2", Known: true, PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5, Stream: true}
	for size := 1; size <= len(stream); size++ {
		for _, strip := range []bool{false, true} {
			out, u := runTee(strip, stream, size)
			wantOut := stream
			if strip {
				wantOut = stripped
			}
			if out != wantOut || u != want {
				t.Fatalf("writes of %d bytes, strip %v: got %q %+v, want %q %+v", size, strip, out, u, wantOut, want)
			}
		}
	}
}

func TestTeeBounds(t *testing.T) {
	long := "data: {\"usage\":{\"total_tokens\":1},\"x\":\"" + strings.Repeat("a", 2*maxLine) + "\"}\n\n"
	in := long + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n"
	for _, strip := range []bool{false, true} {
		out, u := runTee(strip, in, 1000)
		want := in
		if strip {
			want = long + "data: [DONE]\n\n"
		}
		if out != want {
			t.Fatalf("strip %v: long line changed the output", strip)
		}
		if !u.Known || u.TotalTokens != 2 {
			t.Fatalf("strip %v: usage after a long line %+v, want total 2", strip, u)
		}
		tee := newTee(httptest.NewRecorder(), strip)
		tee.Header().Set("Content-Type", "text/event-stream")
		tee.Write([]byte(long[:len(long)-2]))
		if c := cap(tee.line) + cap(tee.held); c > 2*maxLine+maxHeld {
			t.Fatalf("strip %v: %d bytes buffered for one long line", strip, c)
		}
	}
	// A stream cut inside an event: the held bytes still reach the client.
	if out, _ := runTee(true, "id: 1\ndata: {\"cho", 3); out != "id: 1\ndata: {\"cho" {
		t.Fatalf("cut stream: client got %q", out)
	}
}

func TestTeeContentLengthDropped(t *testing.T) {
	w := httptest.NewRecorder()
	tee := newTee(w, true)
	tee.Header().Set("Content-Type", "text/event-stream")
	tee.Header().Set("Content-Length", "100")
	tee.WriteHeader(200)
	if w.Header().Get("Content-Length") != "" {
		t.Fatal("strip mode kept a Content-Length")
	}
}

func FuzzTee(f *testing.F) {
	f.Add([]byte(stream), 7)
	f.Add([]byte("data: {\"usage\":{}}\r\n\r\n"), 1)
	f.Fuzz(func(t *testing.T, in []byte, size int) {
		if size <= 0 {
			size = 1
		}
		out, _ := runTee(false, string(in), size)
		if out != string(in) {
			t.Fatalf("passthrough changed the bytes")
		}
		out, _ = runTee(true, string(in), size)
		if len(out) > len(in) {
			t.Fatalf("strip added bytes")
		}
	})
}

func BenchmarkTeeSSE(b *testing.B) {
	event := []byte("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token\"},\"finish_reason\":null}],\"usage\":null}\n\n")
	for _, strip := range []bool{false, true} {
		name := "passthrough"
		if strip {
			name = "strip"
		}
		b.Run(name, func(b *testing.B) {
			w := discard{h: http.Header{"Content-Type": {"text/event-stream"}}}
			tee := newTee(w, strip)
			tee.WriteHeader(200)
			b.SetBytes(int64(len(event)))
			b.ReportAllocs()
			for b.Loop() {
				tee.Write(event)
			}
		})
	}
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}

func TestNullUsageRemoved(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"last member", `data: {"a":1,"usage":null}` + "\n", `data: {"a":1}` + "\n"},
		{"first member", `data: {"usage" : null , "a":1}` + "\n", `data: {"a":1}` + "\n"},
		{"only member", `data: {"usage":null}` + "\n", `data: {}` + "\n"},
		{"nested kept", `data: {"x":{"usage":null},"a":"\"usage\":null"}` + "\n", `data: {"x":{"usage":null},"a":"\"usage\":null"}` + "\n"},
		{"object kept", `data: {"usage":{"total_tokens":1}}` + "\n", `data: {"usage":{"total_tokens":1}}` + "\n"},
		{"bad: not JSON", `data: usage null` + "\n", `data: usage null` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendWithoutNullUsage(nil, []byte(tt.in))); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
