// Package openai meters and limits the model tokens of routes whose upstream
// speaks the OpenAI API (vLLM, Ollama, llama.cpp, hosted models).
//
// Wrap puts a metering layer around any integration (in practice an
// HTTP_PROXY). For POST requests whose stage-relative path ends in
// /chat/completions, /completions or /embeddings it reads the token usage the
// upstream reports: from the "usage" object of a JSON response, or from the
// final usage chunk of a server-sent event stream. A streaming request that
// did not ask for stream_options.include_usage is rewritten to ask for it, and
// the extra usage-only chunk is removed from what the client receives, every
// other byte unchanged. Usage that cannot be read (an error, malformed SSE, a
// body that is not JSON, a server that reports none) is metered as unknown;
// it never fails the request.
//
// Token limits (per route and per API key, per minute and per day) are kept
// as quota counters in a throttle.Store, so replicas sharing a Redis store
// share the budgets. A request is refused (429 with Retry-After) before it
// reaches the backend when a budget is already spent; the tokens of a
// request are charged when its response ends, so the request that crosses a
// limit completes.
package openai

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/integration"
)

// Usage is the token usage of one request, as the upstream reported it.
type Usage struct {
	// Endpoint is "chat/completions", "completions" or "embeddings".
	Endpoint string
	// Model is the model the upstream named in its response ("" when
	// unknown).
	Model string
	// Known reports whether the upstream's usage was read; when false the
	// token counts are zero and the request is counted without tokens.
	Known            bool
	PromptTokens     int64
	CompletionTokens int64
	TotalTokens      int64
	// Stream reports a server-sent event response.
	Stream bool
}

// Meter receives the usage of every metered request once its response has
// ended (completely, cut short or failed). route is the request's route key
// and apiKey the API key's name ("" without one). Record must not block for
// long and is called from many goroutines at once; ctx is not cancelled when
// the client has gone away.
type Meter interface {
	Record(ctx context.Context, route, apiKey string, u Usage)
}

// MeterFunc adapts a function to the Meter interface.
type MeterFunc func(ctx context.Context, route, apiKey string, u Usage)

// Record calls f(ctx, route, apiKey, u).
func (f MeterFunc) Record(ctx context.Context, route, apiKey string, u Usage) {
	f(ctx, route, apiKey, u)
}

// Config configures Wrap.
type Config struct {
	// Meter receives each metered request's usage; nil discards it.
	Meter Meter
	// Limits are the token limits; the zero value enforces none and
	// counts nothing.
	Limits Limits
	// Now is the clock of the Retry-After computation; nil means time.Now.
	// The Store's windows follow the Store's own clock.
	Now func() time.Time
	// Logger receives token-counter failures tolerated by the store's
	// fail-open policy; nil discards them.
	Logger *slog.Logger
}

// Endpoints recognised by path suffix.
const (
	epChat        = "chat/completions"
	epCompletions = "completions"
	epEmbeddings  = "embeddings"
)

// endpoint names the OpenAI endpoint a stage-relative path ends with, or "".
// A trailing slash is ignored.
func endpoint(path string) string {
	path = strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return epChat
	case strings.HasSuffix(path, "/completions"):
		return epCompletions
	case strings.HasSuffix(path, "/embeddings"):
		return epEmbeddings
	}
	return ""
}

// Wrap returns an integration that meters and limits the tokens of next's
// OpenAI-compatible responses (see the package comment). Requests to other
// paths or with other methods go to next untouched. Build one per route.
func Wrap(cfg Config, next integration.Integration) integration.Integration {
	w := &wrapper{next: next, meter: cfg.Meter, lim: cfg.Limits, now: cfg.Now, log: cfg.Logger}
	if w.now == nil {
		w.now = time.Now
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	return w
}

type wrapper struct {
	next  integration.Integration
	meter Meter
	lim   Limits
	now   func() time.Time
	log   *slog.Logger
}

var _ integration.Integration = (*wrapper)(nil)

// Serve implements integration.Integration. Before calling next it returns
// an *edge.Error: 429 Too Many Requests (with Retry-After) when a token
// budget is spent, 503 when the token store failed closed. Otherwise it
// returns next's error unchanged.
func (w *wrapper) Serve(ctx context.Context, rw http.ResponseWriter, r *integration.Request) error {
	ep := ""
	if r.HTTP == nil || r.HTTP.Method == http.MethodPost {
		ep = endpoint(r.Path)
	}
	if ep == "" {
		return w.next.Serve(ctx, rw, r)
	}
	key := r.APIKey
	if err := w.admit(ctx, r, key); err != nil {
		return err
	}
	fwd, strip := r, false
	if ep != epEmbeddings {
		if body, ok := injectIncludeUsage(r.Body); ok {
			cp := *r
			cp.Body = body
			fwd, strip = &cp, true
		}
	}
	t := newTee(rw, strip)
	err := w.next.Serve(ctx, t, fwd)
	u := t.finish()
	u.Endpoint = ep
	bg := context.WithoutCancel(ctx)
	w.charge(bg, r, key, u)
	if rec := r.Record; rec != nil && u.Known {
		rec.PromptTokens, rec.CompletionTokens, rec.Model = u.PromptTokens, u.CompletionTokens, u.Model
	}
	if w.meter != nil {
		w.meter.Record(bg, r.RouteKey, key, u)
	}
	return err
}
