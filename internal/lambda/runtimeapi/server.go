// Package runtimeapi serves the Lambda Runtime API (version 2018-06-01) to
// one runtime process.
//
// A Server belongs to exactly one sandbox: the runner gives it its own
// loopback listener, so a runtime can only ever see and answer its own
// invocations. The runner hands an invocation to the runtime with Invoke,
// which blocks until the runtime's GET /next takes it and then until the
// runtime posts a response or an error, the invocation expires, the caller's
// context ends, or the runtime goes away (Close). Every endpoint lives in its
// own file: next.go, response.go, error.go, initerror.go.
package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// MaxPayloadBytes is the largest buffered response (and event) the Runtime
// API accepts: 6 MiB plus 100 bytes, as Lambda and RIE enforce it.
const MaxPayloadBytes = 6*1024*1024 + 100

// MaxStreamedResponseBytes caps a response sent in streaming mode, whether
// it is collected or passed to a Streamer; 20 MiB is Lambda's documented default
// cap for streamed responses.
const MaxStreamedResponseBytes = 20 * 1024 * 1024

// Paths served by a Server.
const (
	pathNext      = "GET /2018-06-01/runtime/invocation/next"
	pathResponse  = "POST /2018-06-01/runtime/invocation/{id}/response"
	pathError     = "POST /2018-06-01/runtime/invocation/{id}/error"
	pathInitError = "POST /2018-06-01/runtime/init/error"
)

// Header names of the Runtime API.
const (
	HeaderRequestID       = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadline        = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID         = "Lambda-Runtime-Trace-Id"
	HeaderClientContext   = "Lambda-Runtime-Client-Context"
	HeaderCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	HeaderErrorType       = "Lambda-Runtime-Function-Error-Type"
	HeaderErrorBody       = "Lambda-Runtime-Function-Error-Body"
	HeaderResponseMode    = "Lambda-Runtime-Function-Response-Mode"
)

// Errors Invoke returns besides the caller's context error.
var (
	// ErrNotDelivered: the server was closed (the runtime went away) before
	// the runtime took the invocation; it can be retried elsewhere.
	ErrNotDelivered = errors.New("runtime went away before taking the invocation")
	// ErrExited: the server was closed after the runtime took the invocation
	// and before it answered.
	ErrExited = errors.New("runtime went away during the invocation")
	// ErrTimeout: the invocation expired before the runtime answered.
	ErrTimeout = errors.New("invocation timed out")
	// ErrInit: the runtime reported an init error before taking the
	// invocation; the Result holds its error body.
	ErrInit = errors.New("runtime init failed")
)

// Invocation is one event for the runtime. The runner fills it; the server
// only reads it.
type Invocation struct {
	RequestID       string
	Deadline        time.Time // sent as Lambda-Runtime-Deadline-Ms
	FunctionARN     string
	TraceID         string
	ClientContext   string // JSON text
	CognitoIdentity string // JSON text
	ContentType     string // of the event; application/json when empty
	Payload         []byte
	// Stream, when not nil, receives a response the runtime sends in
	// streaming mode as it arrives instead of it being collected into
	// Result.Payload (see Streamer). Buffered responses and errors posted
	// to /error are unaffected.
	Stream Streamer
}

// Streamer receives the body of a response a runtime streams.
//
// StreamChunk is called from the Runtime API handler's goroutine for every
// piece of the body as it is read (one read of the chunked body, at most
// 32 KiB), in order, never concurrently; contentType is the response's
// Content-Type ("" when the runtime set none) and p is only valid during the
// call. Empty pieces are not passed on. An error stops the reading: the
// runtime's request is answered 400 and Result.StreamErr holds the error.
// The server may call StreamChunk after Invoke returned (the invocation
// expired or its caller went away meanwhile): implementations must then
// refuse the data, e.g. by returning an error.
type Streamer interface {
	StreamChunk(contentType string, p []byte) error
}

// Result is the runtime's answer to an invocation (or its init error).
type Result struct {
	Payload     []byte
	ContentType string // as the runtime sent it; "" when it sent none
	// Error is true when the runtime reported an error (POST /error, an
	// error trailer on a streamed response, an init error) or its response
	// was too large; Payload is then the error JSON.
	Error bool
	// ErrorType is the sanitised error type when Error is true, e.g.
	// "Function.ResponseSizeTooLarge" or "Runtime.Unknown".
	ErrorType string
	// Discard asks the runner not to reuse the sandbox (the runtime was told
	// something it usually treats as fatal, e.g. 413).
	Discard bool
	// Streamed is true when the runtime answered in streaming mode and the
	// body went to Invocation.Stream (Payload then holds at most the error
	// JSON); StreamedBytes counts what went there.
	Streamed      bool
	StreamedBytes int64
	// StreamErr is the Streamer's error that stopped a streamed response.
	StreamErr error
}

type result struct {
	id  string
	res Result
}

// state of the current invocation.
const (
	stateIdle      = iota // no invocation outstanding
	stateDelivered        // /next handed it out; waiting for an answer
	stateAnswering        // a /response or /error is being read
	stateAnswered         // answered; further answers get 403
)

// Server serves the Runtime API of one sandbox. It is safe for concurrent
// use. The zero value is not usable; call New.
type Server struct {
	mux     *http.ServeMux
	next    chan *Invocation // unbuffered hand-off from Invoke to /next
	results chan result      // buffered 1: one invocation at a time

	ready     chan struct{} // closed at the first /next
	readyOnce sync.Once
	readyAt   time.Time // written before ready is closed

	initFailed chan struct{} // closed at the first /init/error
	initOnce   sync.Once
	initResult Result // written before initFailed is closed

	closed    chan struct{}
	closeOnce sync.Once

	now func() time.Time

	mu      sync.Mutex
	current *Invocation
	state   int

	// Serve's listener and connections, guarded by lnMu.
	lnMu    sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	stopped bool

	date atomic.Pointer[cachedDate] // Serve's Date header
}

// New returns a Server. now is the clock used for the ready time; nil means
// time.Now.
func New(now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{
		mux:        http.NewServeMux(),
		next:       make(chan *Invocation),
		results:    make(chan result, 1),
		ready:      make(chan struct{}),
		initFailed: make(chan struct{}),
		closed:     make(chan struct{}),
		now:        now,
	}
	s.mux.HandleFunc(pathNext, func(w http.ResponseWriter, r *http.Request) {
		s.handleNext(httpReplier{w}, r.Context().Done())
	})
	s.mux.HandleFunc(pathResponse, func(w http.ResponseWriter, r *http.Request) {
		s.handleResponse(httpReplier{w}, fromHTTP(r))
	})
	s.mux.HandleFunc(pathError, func(w http.ResponseWriter, r *http.Request) {
		s.handleError(httpReplier{w}, fromHTTP(r))
	})
	s.mux.HandleFunc(pathInitError, func(w http.ResponseWriter, r *http.Request) {
		s.handleInitError(httpReplier{w}, fromHTTP(r))
	})
	return s
}

var _ http.Handler = (*Server)(nil)

// ServeHTTP serves the Runtime API through net/http. Serve does the same
// on a listener of its own at a fraction of the cost; both answer with the
// same statuses, headers and bodies.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// request is one POST to the Runtime API as a handler sees it, whichever
// transport (ServeHTTP or Serve) parsed it.
type request struct {
	id            string // the {id} path segment
	contentType   string // the Content-Type header's first value
	mode          string // Lambda-Runtime-Function-Response-Mode
	errorType     string // Lambda-Runtime-Function-Error-Type
	contentLength int64  // -1 when unknown (chunked)
	body          io.Reader
	trailer       trailerGetter // valid once body returned io.EOF
}

// trailerGetter reads a trailer of the request body (http.Header does).
type trailerGetter interface{ Get(key string) string }

func fromHTTP(r *http.Request) *request {
	return &request{
		id:            r.PathValue("id"),
		contentType:   r.Header.Get("Content-Type"),
		mode:          r.Header.Get(HeaderResponseMode),
		errorType:     r.Header.Get(HeaderErrorType),
		contentLength: r.ContentLength,
		body:          r.Body,
		trailer:       r.Trailer,
	}
}

// replier writes the one response to a request.
type replier interface {
	// reply writes a complete application/json response.
	reply(status int, body []byte)
	// replyNext writes the 200 answer to /next carrying inv.
	replyNext(inv *Invocation)
}

// httpReplier is the replier of ServeHTTP.
type httpReplier struct{ w http.ResponseWriter }

func (h httpReplier) reply(status int, body []byte) {
	h.w.Header().Set("Content-Type", "application/json")
	h.w.WriteHeader(status)
	h.w.Write(body)
}

func (h httpReplier) replyNext(inv *Invocation) {
	hd := h.w.Header()
	setIf(hd, HeaderRequestID, inv.RequestID)
	if !inv.Deadline.IsZero() {
		hd[HeaderDeadline] = []string{strconv.FormatInt(inv.Deadline.UnixMilli(), 10)}
	}
	setIf(hd, HeaderFunctionARN, inv.FunctionARN)
	setIf(hd, HeaderTraceID, inv.TraceID)
	setIf(hd, HeaderClientContext, inv.ClientContext)
	setIf(hd, HeaderCognitoIdentity, inv.CognitoIdentity)
	hd["Content-Type"] = []string{eventContentType(inv)}
	hd["Content-Length"] = []string{strconv.Itoa(len(inv.Payload))}
	h.w.WriteHeader(http.StatusOK)
	h.w.Write(inv.Payload)
}

// setIf sets a canonical header only when v is non-empty.
func setIf(h http.Header, k, v string) {
	if v != "" {
		h[k] = []string{v}
	}
}

// eventContentType is the Content-Type /next sends with inv.
func eventContentType(inv *Invocation) string {
	if inv.ContentType == "" {
		return "application/json"
	}
	return inv.ContentType
}

// Ready is closed when the runtime first asks for an invocation, i.e. when
// its init phase is over.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// ReadyAt is when Ready was closed; zero before.
func (s *Server) ReadyAt() time.Time {
	select {
	case <-s.ready:
		return s.readyAt
	default:
		return time.Time{}
	}
}

// InitFailed is closed when the runtime posted /init/error; InitResult then
// holds the error.
func (s *Server) InitFailed() <-chan struct{} { return s.initFailed }

// InitResult is the error the runtime posted to /init/error, valid once
// InitFailed is closed.
func (s *Server) InitResult() Result {
	select {
	case <-s.initFailed:
		return s.initResult
	default:
		return Result{}
	}
}

// Close marks the runtime as gone: pending and future Invoke calls fail and
// waiting /next calls answer 500. It is idempotent.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closed) }) }

// Invoke hands inv to the runtime and waits for its answer. expired fires
// when the invocation's time is up (nil: never). It returns the Result with
// a nil error when the runtime answered; otherwise ErrNotDelivered,
// ErrExited, ErrTimeout, ErrInit (with the init error in the Result) or
// ctx.Err(). Only one Invoke may be outstanding at a time.
func (s *Server) Invoke(ctx context.Context, inv *Invocation, expired <-chan time.Time) (Result, error) {
	select {
	case s.next <- inv:
	case <-s.initFailed:
		return s.initResult, ErrInit
	case <-s.closed:
		if r := s.InitResult(); r.Error {
			return r, ErrInit
		}
		return Result{}, ErrNotDelivered
	case <-expired:
		return Result{}, ErrTimeout
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	for {
		select {
		case r := <-s.results:
			if r.id != inv.RequestID {
				continue // a late answer to an abandoned invocation
			}
			return r.res, nil
		case <-s.closed:
			// An answer that raced with the exit still counts.
			select {
			case r := <-s.results:
				if r.id == inv.RequestID {
					return r.res, nil
				}
			default:
			}
			s.abandon(inv)
			return Result{}, ErrExited
		case <-expired:
			s.abandon(inv)
			return Result{}, ErrTimeout
		case <-ctx.Done():
			s.abandon(inv)
			return Result{}, ctx.Err()
		}
	}
}

// abandon forgets inv so that a late answer gets 400 InvalidRequestID.
func (s *Server) abandon(inv *Invocation) {
	s.mu.Lock()
	if s.current == inv {
		s.current = nil
		s.state = stateIdle
	}
	s.mu.Unlock()
}

// beginAnswer checks that id names the outstanding, unanswered invocation
// and marks it as being answered. It writes the error response and returns
// nil when the answer must be rejected.
func (s *Server) beginAnswer(w replier, id string) *Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil || s.current.RequestID != id {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return nil
	}
	if s.state != stateDelivered {
		writeError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State transition is not allowed")
		return nil
	}
	s.state = stateAnswering
	return s.current
}

// finishAnswer records the answer to inv. It returns false (and answers 400)
// when inv was abandoned meanwhile (it timed out or its caller went away).
func (s *Server) finishAnswer(w replier, inv *Invocation, res Result) bool {
	s.mu.Lock()
	if s.current != inv || s.state != stateAnswering {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return false
	}
	s.state = stateAnswered
	s.mu.Unlock()
	select {
	case s.results <- result{id: inv.RequestID, res: res}:
	default: // cannot happen: one invocation at a time
	}
	return true
}

// cancelAnswer puts inv back to waiting for an answer after a rejected one.
func (s *Server) cancelAnswer(inv *Invocation) {
	s.mu.Lock()
	if s.current == inv && s.state == stateAnswering {
		s.state = stateDelivered
	}
	s.mu.Unlock()
}

var statusOK = []byte(`{"status":"OK"}` + "\n")

func writeAccepted(w replier) { w.reply(http.StatusAccepted, statusOK) }

// ErrorResponse is the body of the Runtime API's own errors.
type ErrorResponse struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

func writeError(w replier, status int, typ, msg string) {
	b, _ := json.Marshal(ErrorResponse{ErrorMessage: msg, ErrorType: typ})
	w.reply(status, b)
}

var errorTypePattern = regexp.MustCompile(`^(Runtime|Function)\.[A-Z][a-zA-Z]+$`)

// SanitizeErrorType maps the runtime's Lambda-Runtime-Function-Error-Type
// header to what the platform records: the value itself when it looks like
// Runtime.Xxx or Function.Xxx, Function.Unknown when it starts with
// "Function.", Runtime.Unknown otherwise (including when it is empty).
func SanitizeErrorType(v string) string {
	if errorTypePattern.MatchString(v) {
		return v
	}
	if len(v) >= len("Function.") && v[:len("Function.")] == "Function." {
		return "Function.Unknown"
	}
	return "Runtime.Unknown"
}
