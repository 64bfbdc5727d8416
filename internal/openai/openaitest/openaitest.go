// Package openaitest is a small OpenAI-compatible model server for tests and
// examples: /v1/chat/completions (JSON, or server-sent events at a
// controlled pace), /v1/completions, /v1/embeddings and /v1/models. It
// answers deterministically: the completion is Options.Words, one word per
// streamed chunk; a prompt's token count is its number of whitespace-separated
// words. Streams honour stream_options.include_usage as OpenAI does: every
// chunk then carries "usage":null and a last chunk with empty choices
// carries the usage, before "data: [DONE]".
//
// Options make it misbehave: stall mid-stream, send malformed SSE, omit the
// usage, or answer every request with an error status.
package openaitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options shape the server's answers.
type Options struct {
	// Model is the model named in responses; "" means "fake-model".
	Model string
	// Words are the completion, one per streamed chunk; nil means
	// "Hello", " from", " the", " fake", " model".
	Words []string
	// Delay is the pause before each streamed chunk.
	Delay time.Duration
	// StallAfter, when > 0, stops a stream after that many content chunks
	// and holds the connection open, sending nothing, until the client goes
	// away or the server closes.
	StallAfter int
	// MalformedSSE streams lines that are not valid JSON events (and a
	// broken usage chunk when usage was asked for).
	MalformedSSE bool
	// OmitUsage leaves usage out of every response.
	OmitUsage bool
	// Status, when non-zero, answers every request with this status and an
	// OpenAI error body (e.g. 429, 500, 503).
	Status int
	// EmbeddingDims is the length of each embedding; 0 means 3.
	EmbeddingDims int
}

// Created is the "created" timestamp of every response.
const Created = 1700000000

// Server is a running fake server.
type Server struct {
	*httptest.Server
	h *Handler
}

// Start starts a server on 127.0.0.1 that t closes when it ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	h := NewHandler(opts)
	s := &Server{Server: httptest.NewServer(h), h: h}
	t.Cleanup(s.Close)
	return s
}

// Close releases stalled streams and stops the server.
func (s *Server) Close() {
	s.h.Close()
	s.Server.Close()
}

// Bodies returns the bodies of the requests received so far.
func (s *Server) Bodies() [][]byte { return s.h.Bodies() }

// Handler serves the fake API. It is safe for concurrent use.
type Handler struct {
	opts   Options
	mux    *http.ServeMux
	mu     sync.Mutex
	bodies [][]byte
	done   chan struct{}
	once   sync.Once
}

// NewHandler returns the fake API as an http.Handler.
func NewHandler(opts Options) *Handler {
	if opts.Model == "" {
		opts.Model = "fake-model"
	}
	if opts.Words == nil {
		opts.Words = []string{"Hello", " from", " the", " fake", " model"}
	}
	if opts.EmbeddingDims <= 0 {
		opts.EmbeddingDims = 3
	}
	h := &Handler{opts: opts, mux: http.NewServeMux(), done: make(chan struct{})}
	h.mux.HandleFunc("POST /v1/chat/completions", h.chat)
	h.mux.HandleFunc("POST /v1/completions", h.completions)
	h.mux.HandleFunc("POST /v1/embeddings", h.embeddings)
	h.mux.HandleFunc("GET /v1/models", h.models)
	return h
}

// Close ends stalled streams.
func (h *Handler) Close() { h.once.Do(func() { close(h.done) }) }

// Bodies returns the bodies of the requests received so far.
func (h *Handler) Bodies() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.Status != 0 {
		w.Header().Set("Retry-After", "1")
		writeError(w, h.opts.Status, "fake_error", fmt.Sprintf("fake server answers %d", h.opts.Status))
		return
	}
	h.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
}

// request is the part of a request body the server reads.
type request struct {
	Model    string `json:"model"`
	Messages []struct {
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Prompt        json.RawMessage `json:"prompt"`
	Input         json.RawMessage `json:"input"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (h *Handler) read(w http.ResponseWriter, r *http.Request) (*request, bool) {
	var req request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "body: "+err.Error())
		return nil, false
	}
	h.mu.Lock()
	h.bodies = append(h.bodies, append([]byte(nil), raw...))
	h.mu.Unlock()
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "body: "+err.Error())
		return nil, false
	}
	return &req, true
}

// words counts the whitespace-separated words of a JSON string or array of
// strings (other values count nothing).
func words(raw json.RawMessage) (n int64, items int) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return int64(len(strings.Fields(s))), 1
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		for _, s := range ss {
			n += int64(len(strings.Fields(s)))
		}
		return n, len(ss)
	}
	return 0, 0
}

func (h *Handler) usage(prompt, completion int64) map[string]any {
	return map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
}

func (h *Handler) chat(w http.ResponseWriter, r *http.Request) {
	req, ok := h.read(w, r)
	if !ok {
		return
	}
	var prompt int64
	for _, m := range req.Messages {
		n, _ := words(m.Content)
		prompt += n
	}
	h.answer(w, r, req, prompt, true)
}

func (h *Handler) completions(w http.ResponseWriter, r *http.Request) {
	req, ok := h.read(w, r)
	if !ok {
		return
	}
	prompt, _ := words(req.Prompt)
	h.answer(w, r, req, prompt, false)
}

func (h *Handler) answer(w http.ResponseWriter, r *http.Request, req *request, prompt int64, chat bool) {
	completion := int64(len(h.opts.Words))
	id, object := "cmpl-fake", "text_completion"
	if chat {
		id, object = "chatcmpl-fake", "chat.completion"
	}
	if !req.Stream {
		text := strings.Join(h.opts.Words, "")
		choice := map[string]any{"index": 0, "logprobs": nil, "finish_reason": "stop"}
		if chat {
			choice["message"] = map[string]any{"role": "assistant", "content": text}
		} else {
			choice["text"] = text
		}
		resp := map[string]any{"id": id, "object": object, "created": Created, "model": h.opts.Model, "choices": []any{choice}}
		if !h.opts.OmitUsage {
			resp["usage"] = h.usage(prompt, completion)
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if chat {
		object = "chat.completion.chunk"
	}
	send := func(v any) bool {
		if h.opts.Delay > 0 {
			select {
			case <-time.After(h.opts.Delay):
			case <-r.Context().Done():
				return false
			case <-h.done:
				return false
			}
		}
		var b []byte
		if s, ok := v.(string); ok {
			b = []byte(s)
		} else {
			b, _ = json.Marshal(v)
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	chunk := func(choice map[string]any) map[string]any {
		c := map[string]any{"id": id, "object": object, "created": Created, "model": h.opts.Model, "choices": []any{choice}}
		if includeUsage {
			c["usage"] = nil
		}
		return c
	}
	piece := func(text string, finish any) map[string]any {
		ch := map[string]any{"index": 0, "logprobs": nil, "finish_reason": finish}
		if chat {
			ch["delta"] = map[string]any{"content": text}
		} else {
			ch["text"] = text
		}
		return ch
	}
	if chat {
		first := piece("", nil)
		first["delta"] = map[string]any{"role": "assistant", "content": ""}
		if !send(chunk(first)) {
			return
		}
	}
	for i, word := range h.opts.Words {
		if h.opts.StallAfter > 0 && i == h.opts.StallAfter {
			select {
			case <-r.Context().Done():
			case <-h.done:
			}
			return
		}
		var v any = chunk(piece(word, nil))
		if h.opts.MalformedSSE {
			v = `{"choices": [ not json ` + word
		}
		if !send(v) {
			return
		}
	}
	if h.opts.MalformedSSE {
		_, _ = fmt.Fprint(w, "this line is not an SSE field\n\n")
	}
	last := piece("", "stop")
	if chat {
		last["delta"] = map[string]any{}
	}
	if !send(chunk(last)) {
		return
	}
	if includeUsage && !h.opts.OmitUsage {
		var v any = map[string]any{"id": id, "object": object, "created": Created, "model": h.opts.Model, "choices": []any{}, "usage": h.usage(prompt, completion)}
		if h.opts.MalformedSSE {
			v = `{"choices":[],"usage":{"prompt_tokens":` // cut short
		}
		if !send(v) {
			return
		}
	}
	send("[DONE]")
}

func (h *Handler) embeddings(w http.ResponseWriter, r *http.Request) {
	req, ok := h.read(w, r)
	if !ok {
		return
	}
	prompt, items := words(req.Input)
	if items == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "input: want a string or an array of strings")
		return
	}
	data := make([]any, items)
	for i := range data {
		vec := make([]float64, h.opts.EmbeddingDims)
		for j := range vec {
			vec[j] = float64(i+j+1) / 10
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": vec}
	}
	resp := map[string]any{"object": "list", "data": data, "model": h.opts.Model}
	if !h.opts.OmitUsage {
		resp["usage"] = map[string]any{"prompt_tokens": prompt, "total_tokens": prompt}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{
		map[string]any{"id": h.opts.Model, "object": "model", "created": Created, "owned_by": "portico-fake"},
	}})
}
