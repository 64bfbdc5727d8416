package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/observe/trace"
	"github.com/portico-dev/portico/internal/openai"
	"github.com/portico-dev/portico/internal/queue"
	"github.com/portico-dev/portico/internal/router"
)

// TestPipelineWrapsInOrder: the gateway composes a route's compiled values
// around its integration in the documented order — token metering outside
// the concurrency queue, the queue around the integration.
func TestPipelineWrapsInOrder(t *testing.T) {
	q, err := queue.New(queue.Config{MaxConcurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	metered := make(chan openai.Usage, 4)
	meter := openai.MeterFunc(func(_ context.Context, _, _ string, u openai.Usage) { metered <- u })
	held, release := make(chan struct{}), make(chan struct{})
	hold := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		close(held)
		<-release
		return nil
	})
	chat := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		if got := q.Stats().InFlight; got != 1 {
			t.Errorf("integration ran with %d queue slots taken, want 1 (the queue wraps it)", got)
		}
		w.Header().Set("Content-Type", "application/json")
		_, err := io.WriteString(w, `{"model":"m","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`)
		return err
	})
	a := NewAPI("abc1234567", "llm", "000000000000")
	routes := []router.Route[*Route]{
		{Key: "POST /hold", Method: "POST", Path: "/hold", Value: &Route{Key: "POST /hold", Integration: hold, Queue: q}},
		{Key: "POST /v1/chat/completions", Method: "POST", Path: "/v1/chat/completions", Value: &Route{
			Key: "POST /v1/chat/completions", Integration: chat, Queue: q, Tokens: &openai.Config{Meter: meter}}},
	}
	if err := a.AddStage("$default", nil, routes); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{})
	s.Swap(NewDeployment([]*API{a}))
	post := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("POST", path, strings.NewReader(`{"model":"m"}`)))
		return w
	}

	if w := post("/v1/chat/completions"); w.Code != 200 {
		t.Fatalf("chat: status %d %s", w.Code, w.Body)
	}
	if u := <-metered; u.PromptTokens != 3 || u.CompletionTokens != 4 {
		t.Fatalf("metered %+v, want 3 prompt and 4 completion tokens", u)
	}

	// With the queue's one slot held, the token layer still sees the
	// request (it is outside the queue) and the queue refuses it.
	done := make(chan struct{})
	go func() { defer close(done); post("/hold") }()
	<-held
	if w := post("/v1/chat/completions"); w.Code != http.StatusTooManyRequests {
		t.Errorf("chat with the queue full: status %d, want 429 from the queue", w.Code)
	}
	select {
	case u := <-metered:
		if u.Known {
			t.Errorf("refused request metered %+v, want unknown usage", u)
		}
	default:
		t.Error("the token layer did not see the request the queue refused: it is not outside the queue")
	}
	close(release)
	<-done
}

// TestPipelineLeavesClientRequest: tracing adds its headers on the
// gateway's own copy; the client's request is left as it came.
func TestPipelineLeavesClientRequest(t *testing.T) {
	tr, err := trace.New(trace.Config{}, trace.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	var seen http.Header
	up := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		seen = r.HTTP.Header
		return nil
	})
	a := NewAPI("abc1234567", "p", "000000000000")
	rt := &Route{Key: "GET /x", Integration: up, TraceHeaders: true}
	if err := a.AddStage("$default", nil, []router.Route[*Route]{{Key: "GET /x", Method: "GET", Path: "/x", Value: rt}}); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Tracer: tr})
	s.Swap(NewDeployment([]*API{a}))
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("Accept", "text/plain")
	before := req.Header.Clone()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if seen.Get("X-Amzn-Trace-Id") == "" || seen.Get("Traceparent") == "" {
		t.Errorf("integration saw %v, want x-amzn-trace-id and traceparent", seen)
	}
	if len(req.Header) != len(before) || req.Header.Get("Accept") != "text/plain" {
		t.Errorf("client's request header changed: %v, was %v", req.Header, before)
	}
}

// streamer is an integration that streams request bodies
// (integration.BodyStreamer); it reports what the gateway handed it.
type streamer struct{ got chan *integration.Request }

func (s streamer) StreamsBody() bool { return true }
func (s streamer) Serve(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
	s.got <- &integration.Request{Body: append([]byte(nil), r.Body...), BodyRest: r.BodyRest}
	if r.BodyRest != nil {
		_, err := io.Copy(io.Discard, r.BodyRest)
		return err
	}
	return nil
}

// TestPipelineStreamsOnlyBare: a body past StreamAhead is streamed to an
// integration that streams, also behind the concurrency queue (which reads
// no body), and read whole when a wrapper composed around that integration
// needs it (token metering): the decision is made on what the route serves,
// not on the bare integration.
func TestPipelineStreamsOnlyBare(t *testing.T) {
	q, err := queue.New(queue.Config{MaxConcurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	it := streamer{got: make(chan *integration.Request, 1)}
	a := NewAPI("abc1234567", "up", "000000000000")
	routes := []router.Route[*Route]{
		{Key: "POST /bare", Method: "POST", Path: "/bare", Value: &Route{Key: "POST /bare", Integration: it}},
		{Key: "POST /queued", Method: "POST", Path: "/queued", Value: &Route{Key: "POST /queued", Integration: it, Queue: q}},
		{Key: "POST /metered", Method: "POST", Path: "/metered", Value: &Route{Key: "POST /metered", Integration: it, Queue: q, Tokens: &openai.Config{}}},
	}
	if err := a.AddStage("$default", nil, routes); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{})
	s.Swap(NewDeployment([]*API{a}))
	body := strings.Repeat("x", 3*StreamAhead)
	for _, tt := range []struct {
		path   string
		stream bool
	}{{"/bare", true}, {"/queued", true}, {"/metered", false}} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("POST", tt.path, strings.NewReader(body)))
		if w.Code != 200 {
			t.Fatalf("%s: status %d %s", tt.path, w.Code, w.Body)
		}
		got := <-it.got
		if streamed := got.BodyRest != nil; streamed != tt.stream || (!tt.stream && len(got.Body) != len(body)) {
			t.Errorf("%s: streamed %v with %d bytes read ahead, want streamed %v", tt.path, streamed, len(got.Body), tt.stream)
		}
	}
}
