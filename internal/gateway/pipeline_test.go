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
