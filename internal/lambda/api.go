package lambda

import (
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
)

// Handler serves the Lambda Invoke API,
// POST /2015-03-31/functions/{name}/invocations, InvokeWithResponseStream,
// POST /2021-11-15/functions/{name}/response-streaming-invocations (see
// serveInvokeStream), and Portico's log stream,
// GET /_portico/functions/{name}/logs[?follow=true][&since=10m][&filter=TEXT]
// [&requestId=ID], and the FunctionEventInvokeConfig operations (see
// api_eventconfig.go). Errors use Lambda's
// rest-json shape: the status, header x-amzn-ErrorType and a body
// {"Type":"User","message":...} (plus "Reason" for throttling).
func (r *Runner) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", r.serveInvoke)
	mux.HandleFunc("POST /2021-11-15/functions/{name}/response-streaming-invocations", r.serveInvokeStream)
	mux.HandleFunc("GET /_portico/functions/{name}/logs", r.serveLogs)
	r.eventConfigRoutes(mux)
	return mux
}

// maxClientContext is the largest X-Amz-Client-Context (base64) accepted.
const maxClientContext = 3583

// readInvokeRequest reads what Invoke and InvokeWithResponseStream share:
// the invocation type (one of types), log type, client context, qualifier
// and the JSON payload within the type's size limit. op names the
// operation in errors.
func readInvokeRequest(hr *http.Request, op string, types ...string) (*InvokeRequest, string, *ServiceError) {
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
	req := &InvokeRequest{
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
	limit := MaxSyncPayload
	if invType == "Event" {
		limit = MaxAsyncPayload
	}
	if op == "Invoke" {
		op = invokeOp(invType)
	}
	if hr.ContentLength > int64(limit) {
		return nil, "", requestTooLarge(limit, op)
	}
	body, err := io.ReadAll(io.LimitReader(hr.Body, int64(limit)+1))
	if err != nil {
		return nil, "", &ServiceError{Status: http.StatusBadRequest, Type: "InvalidRequestContentException",
			Message: "Could not read request body: " + err.Error()}
	}
	if len(body) > limit {
		return nil, "", requestTooLarge(limit, op)
	}
	if len(body) > 0 && !json.Valid(body) {
		return nil, "", &ServiceError{Status: http.StatusBadRequest, Type: "InvalidRequestContentException",
			Message: "Could not parse request body into json: " + jsonProblem(body)}
	}
	req.Payload = body
	return req, invType, nil
}

func (r *Runner) serveInvoke(w http.ResponseWriter, hr *http.Request) {
	req, invType, serr := readInvokeRequest(hr, "Invoke", "RequestResponse", "Event", "DryRun")
	if serr != nil {
		writeServiceError(w, serr)
		return
	}

	switch invType {
	case "DryRun":
		if _, _, err := r.findFunction(req.FunctionName, req.Qualifier); err != nil {
			writeServiceError(w, err)
			return
		}
		w.Header().Set("x-amzn-RequestId", newRequestID())
		w.WriteHeader(http.StatusNoContent)
	case "Event":
		id, err := r.InvokeAsync(req)
		if err != nil {
			writeServiceError(w, err)
			return
		}
		w.Header().Set("x-amzn-RequestId", id)
		w.WriteHeader(http.StatusAccepted)
	default:
		res, err := r.Invoke(hr.Context(), req)
		if err != nil {
			if hr.Context().Err() != nil {
				return // the caller went away; nobody to answer
			}
			writeServiceError(w, err)
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

func badParam(msg string) *ServiceError {
	return &ServiceError{Status: http.StatusBadRequest, Type: "InvalidParameterValueException", Message: msg}
}

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

// writeServiceError renders err in Lambda's rest-json error shape; errors
// that are not *ServiceError are a 500 ServiceException.
func writeServiceError(w http.ResponseWriter, err error) {
	var se *ServiceError
	if !errors.As(err, &se) {
		se = &ServiceError{Status: http.StatusInternalServerError, Type: "ServiceException", Message: err.Error()}
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
	wh.Set("x-amzn-RequestId", newRequestID())
	if se.Status == http.StatusTooManyRequests {
		wh.Set("Retry-After", "1")
	}
	w.WriteHeader(se.Status)
	w.Write(b)
}

// serveLogs streams a function's buffered log as plain text and, with
// ?follow=true, every new line until the client goes away. since (a
// duration back from now, e.g. 10m, or an RFC 3339 time), filter (text)
// and requestId select lines as LogFilter says.
func (r *Runner) serveLogs(w http.ResponseWriter, hr *http.Request) {
	name := hr.PathValue("name")
	b := r.logBufferIfExists(name)
	if b == nil {
		writeServiceError(w, notFound(FunctionARN(r.cfg.Region, r.cfg.AccountID, name)))
		return
	}
	q := hr.URL.Query()
	var f LogFilter
	if v := q.Get("since"); v != "" {
		t, err := ParseSince(v, r.now())
		if err != nil {
			writeServiceError(w, badParam("Invalid "+err.Error()+"."))
			return
		}
		f.Since = t
	}
	f.Text, f.RequestID = q.Get("filter"), q.Get("requestId")
	follow := false
	if v := q.Get("follow"); v != "" {
		var err error
		if follow, err = strconv.ParseBool(v); err != nil {
			writeServiceError(w, badParam(fmt.Sprintf("Invalid follow %q: use true or false.", v)))
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	lf := newLineFilter(f)
	var out []byte
	collect := func(l []byte) { out = append(out, l...) }
	if !follow {
		for _, e := range b.snapshot() {
			lf.add(e, collect)
		}
		w.Write(out)
		return
	}
	lines, sub := b.subscribe()
	defer b.unsubscribe(sub)
	for _, e := range lines {
		lf.add(e, collect)
	}
	w.Write(out)
	rc := http.NewResponseController(w)
	rc.Flush()
	for {
		select {
		case e := <-sub.C:
			out = out[:0]
			lf.add(e, collect)
			// Coalesce a burst into one write and flush.
			for n := len(sub.C); n > 0; n-- {
				lf.add(<-sub.C, collect)
			}
			if len(out) == 0 {
				continue
			}
			if _, err := w.Write(out); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		case <-hr.Context().Done():
			return
		case <-r.stop:
			return
		}
	}
}

// ParseSince reads a logs "since" value: a positive duration back from now
// ("10m", "1h30m") or an RFC 3339 time ("2025-01-02T15:04:05Z").
func ParseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("since %q: the duration must not be negative", v)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q: use a duration such as 10m or an RFC 3339 time", v)
}
