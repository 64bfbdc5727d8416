// Package invokeapi serves the Lambda Invoke API over a function runner:
// Invoke (RequestResponse, Event, DryRun), InvokeWithResponseStream, the
// FunctionEventInvokeConfig operations, and Portico's log stream. It talks
// to the runner only through the Runner interface, in the types of the leaf
// package invocation; internal/lambda's *Runner implements it.
package invokeapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portico-dev/portico/internal/invocation"
)

// Runner is the function runner as the Invoke API uses it. Its methods must
// be safe for concurrent use. Errors the API renders are
// *invocation.ServiceError (with their status and type); any other error is
// a 500 ServiceException.
type Runner interface {
	// Invoke runs one synchronous invocation; a function's own failure is
	// a result with FunctionError set, not an error.
	Invoke(ctx context.Context, req *invocation.Request) (*invocation.Result, error)
	// InvokeStream runs one synchronous invocation, passing the response
	// to w as it arrives (see invocation.StreamWriter).
	InvokeStream(ctx context.Context, req *invocation.Request, w invocation.StreamWriter, opts invocation.StreamOptions) (*invocation.StreamResult, error)
	// InvokeAsync queues one asynchronous invocation and returns its
	// request ID.
	InvokeAsync(req *invocation.Request) (requestID string, err error)
	// Resolve resolves a FunctionName and Qualifier to a deployed
	// function's name and unqualified ARN.
	Resolve(functionName, qualifier string) (name, arn string, err error)
	// FunctionARN is the unqualified ARN a function of that name has (or
	// would have) in the runner's region and account.
	FunctionARN(name string) string
	// WatchLogs passes a function's log lines that f selects to emit: the
	// buffered ones in one call, then, with follow, new ones until ctx
	// ends or emit fails.
	WatchLogs(ctx context.Context, function string, f invocation.LogFilter, follow bool, emit func([]byte) error) error
	// EventInvokeConfigOf returns a function's asynchronous configuration.
	EventInvokeConfigOf(function string) (c invocation.EventInvokeConfig, ok bool)
	// UpdateEventInvokeConfig replaces (or, with merge, updates the
	// present) asynchronous configuration with set; found is false when
	// merge finds none.
	UpdateEventInvokeConfig(function string, merge bool, set func(*invocation.EventInvokeConfig)) (c invocation.EventInvokeConfig, found bool, err error)
	// DeleteEventInvokeConfig removes it; found is false when there was none.
	DeleteEventInvokeConfig(function string) (found bool)
	// Now is the runner's clock, which a log query's since is relative to.
	Now() time.Time
}

// Handler serves the Lambda Invoke API,
// POST /2015-03-31/functions/{name}/invocations, InvokeWithResponseStream,
// POST /2021-11-15/functions/{name}/response-streaming-invocations (see
// serveInvokeStream), and Portico's log stream,
// GET /_portico/functions/{name}/logs[?follow=true][&since=10m][&filter=TEXT]
// [&requestId=ID], and the FunctionEventInvokeConfig operations (see
// eventconfig.go). Errors use Lambda's rest-json shape: the status, header
// x-amzn-ErrorType and a body {"Type":"User","message":...} (plus "Reason"
// for throttling). It is safe for concurrent use.
type Handler struct {
	r   Runner
	mux *http.ServeMux
}

var _ http.Handler = (*Handler)(nil)

// New returns the Invoke API served over r.
func New(r Runner) *Handler {
	h := &Handler{r: r, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", h.serveInvoke)
	h.mux.HandleFunc("POST /2021-11-15/functions/{name}/response-streaming-invocations", h.serveInvokeStream)
	h.mux.HandleFunc("GET /_portico/functions/{name}/logs", h.serveLogs)
	h.eventConfigRoutes(h.mux)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, hr *http.Request) { h.mux.ServeHTTP(w, hr) }

// Handler reports which of the Invoke API's patterns matches hr ("" for
// none), as http.ServeMux.Handler does, so that a front handler can tell
// the Invoke API's requests from the ones it must answer itself.
func (h *Handler) Handler(hr *http.Request) (http.Handler, string) { return h.mux.Handler(hr) }

// maxClientContext is the largest X-Amz-Client-Context (base64) accepted.
const maxClientContext = 3583

// readInvokeRequest reads what Invoke and InvokeWithResponseStream share:
// the invocation type (one of types), log type, client context, qualifier
// and the JSON payload within the type's size limit. op names the
// operation in errors.
func readInvokeRequest(hr *http.Request, op string, types ...string) (*invocation.Request, string, *invocation.ServiceError) {
	h := hr.Header
	invType := h.Get("X-Amz-Invocation-Type")
	if invType == "" {
		invType = "RequestResponse"
	}
	if !slices.Contains(types, invType) {
		return nil, "", badParam(fmt.Sprintf("Invalid X-Amz-Invocation-Type %q: use %s or %s.", invType,
			strings.Join(types[:len(types)-1], ", "), types[len(types)-1]))
	}
	logType := h.Get("X-Amz-Log-Type")
	if logType != "" && logType != "None" && logType != "Tail" {
		return nil, "", badParam(fmt.Sprintf("Invalid X-Amz-Log-Type %q: use None or Tail.", logType))
	}
	req := &invocation.Request{
		FunctionName: hr.PathValue("name"),
		Qualifier:    hr.URL.Query().Get("Qualifier"),
		TraceID:      h.Get("X-Amzn-Trace-Id"),
		LogTail:      logType == "Tail" && invType != "Event",
	}
	if cc := h.Get("X-Amz-Client-Context"); cc != "" {
		dec, err := base64.StdEncoding.DecodeString(cc)
		if len(cc) > maxClientContext || err != nil || !json.Valid(dec) {
			return nil, "", badParam("Client context must be a valid Base64-encoded JSON object of at most 3583 bytes.")
		}
		req.ClientContext = string(dec)
	}
	limit := invocation.MaxSyncPayload
	if invType == "Event" {
		limit = invocation.MaxAsyncPayload
	}
	if op == "Invoke" {
		op = invokeOp(invType)
	}
	if hr.ContentLength > int64(limit) {
		return nil, "", invocation.RequestTooLarge(limit, op)
	}
	body, err := io.ReadAll(io.LimitReader(hr.Body, int64(limit)+1))
	if err != nil {
		return nil, "", &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidRequestContentException",
			Message: "Could not read request body: " + err.Error()}
	}
	if len(body) > limit {
		return nil, "", invocation.RequestTooLarge(limit, op)
	}
	if len(body) > 0 && !json.Valid(body) {
		return nil, "", &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidRequestContentException",
			Message: "Could not parse request body into json: " + jsonProblem(body)}
	}
	req.Payload = body
	return req, invType, nil
}

func (h *Handler) serveInvoke(w http.ResponseWriter, hr *http.Request) {
	req, invType, serr := readInvokeRequest(hr, "Invoke", "RequestResponse", "Event", "DryRun")
	if serr != nil {
		WriteError(w, serr)
		return
	}

	switch invType {
	case "DryRun":
		if _, _, err := h.r.Resolve(req.FunctionName, req.Qualifier); err != nil {
			WriteError(w, err)
			return
		}
		w.Header().Set("x-amzn-RequestId", invocation.NewRequestID())
		w.WriteHeader(http.StatusNoContent)
	case "Event":
		id, err := h.r.InvokeAsync(req)
		if err != nil {
			WriteError(w, err)
			return
		}
		w.Header().Set("x-amzn-RequestId", id)
		w.WriteHeader(http.StatusAccepted)
	default:
		res, err := h.r.Invoke(hr.Context(), req)
		if err != nil {
			if hr.Context().Err() != nil {
				return // the caller went away; nobody to answer
			}
			WriteError(w, err)
			return
		}
		wh := w.Header()
		wh["X-Amzn-Requestid"] = []string{res.RequestID}
		wh["X-Amz-Executed-Version"] = []string{res.ExecutedVersion}
		ct := res.ContentType
		if ct == "" {
			ct = "application/json"
		}
		wh["Content-Type"] = []string{ct}
		if res.FunctionError != "" {
			wh["X-Amz-Function-Error"] = []string{res.FunctionError}
		}
		if req.LogTail {
			wh["X-Amz-Log-Result"] = []string{base64.StdEncoding.EncodeToString(res.LogTail)}
		}
		wh["Content-Length"] = []string{strconv.Itoa(len(res.Payload))}
		w.WriteHeader(http.StatusOK)
		w.Write(res.Payload)
	}
}

func invokeOp(invType string) string {
	if invType == "Event" {
		return "InvokeAsync"
	}
	return "Invoke"
}

func badParam(msg string) *invocation.ServiceError { return invocation.InvalidParameter(msg) }

// jsonProblem describes why body is not JSON.
func jsonProblem(body []byte) string {
	var v any
	err := json.Unmarshal(body, &v)
	if err == nil {
		return "invalid JSON"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset > 0 && se.Offset <= int64(len(body)) {
		c, _ := utf8.DecodeRune(body[se.Offset-1:])
		return fmt.Sprintf("Unexpected character (%q) at offset %d: %v", c, se.Offset-1, err)
	}
	return err.Error()
}

// WriteError renders err in Lambda's rest-json error shape, as the Invoke
// API does: a *invocation.ServiceError with its status and type, anything
// else a 500 ServiceException. The management API (internal/control)
// answers with it.
func WriteError(w http.ResponseWriter, err error) {
	var se *invocation.ServiceError
	if !errors.As(err, &se) {
		se = &invocation.ServiceError{Status: http.StatusInternalServerError, Type: "ServiceException", Message: err.Error()}
	}
	body := struct {
		Type    string `json:"Type"`
		Message string `json:"message"`
		Reason  string `json:"Reason,omitempty"`
	}{Type: "User", Message: se.Message, Reason: se.Reason}
	if se.Status >= 500 {
		body.Type = "Service"
	}
	b, _ := json.Marshal(body)
	wh := w.Header()
	wh.Set("Content-Type", "application/json")
	wh.Set("x-amzn-ErrorType", se.Type)
	wh.Set("x-amzn-RequestId", invocation.NewRequestID())
	if se.Status == http.StatusTooManyRequests {
		wh.Set("Retry-After", "1")
	}
	w.WriteHeader(se.Status)
	w.Write(b)
}

// serveLogs streams a function's buffered log as plain text and, with
// ?follow=true, every new line until the client goes away. since (a
// duration back from now, e.g. 10m, or an RFC 3339 time), filter (text)
// and requestId select lines as invocation.LogFilter says.
func (h *Handler) serveLogs(w http.ResponseWriter, hr *http.Request) {
	name := hr.PathValue("name")
	q := hr.URL.Query()
	var f invocation.LogFilter
	if v := q.Get("since"); v != "" {
		t, err := invocation.ParseSince(v, h.r.Now())
		if err != nil {
			WriteError(w, badParam("Invalid "+err.Error()+"."))
			return
		}
		f.Since = t
	}
	f.Text, f.RequestID = q.Get("filter"), q.Get("requestId")
	follow := false
	if v := q.Get("follow"); v != "" {
		var err error
		if follow, err = strconv.ParseBool(v); err != nil {
			WriteError(w, badParam(fmt.Sprintf("Invalid follow %q: use true or false.", v)))
			return
		}
	}
	rc := http.NewResponseController(w)
	begun := false
	err := h.r.WatchLogs(hr.Context(), name, f, follow, func(b []byte) error {
		if !begun {
			begun = true
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		if follow {
			return rc.Flush()
		}
		return nil
	})
	if err != nil && !begun {
		WriteError(w, err)
	}
}
