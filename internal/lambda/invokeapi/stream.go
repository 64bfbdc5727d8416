package invokeapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/portico-dev/portico/internal/invocation"
)

// Event stream framing of InvokeWithResponseStream (rest-json event
// streams, as the AWS SDKs decode them): every message has the headers
// :event-type, :content-type and :message-type "event".
const (
	eventStreamContentType = "application/vnd.amazon.eventstream"
	eventPayloadChunk      = "PayloadChunk"   // payload: raw bytes of the chunk
	eventInvokeComplete    = "InvokeComplete" // payload: JSON {ErrorCode, ErrorDetails, LogResult}
)

// serveInvokeStream serves InvokeWithResponseStream,
// POST /2021-11-15/functions/{name}/response-streaming-invocations.
//
// X-Amz-Invocation-Type is RequestResponse (default) or DryRun (204); the
// request checks are those of Invoke. The answer is 200 with the
// function's response content type as Content-Type (the SDKs expose it as
// ResponseStreamContentType), X-Amz-Executed-Version and x-amzn-RequestId,
// and a body of event stream messages: one PayloadChunk per chunk the
// function sent, flushed at once, then one InvokeComplete whose ErrorCode
// and ErrorDetails are the error type and message when the function failed
// (before or after sending bytes) and whose LogResult is the base64 log tail
// when X-Amz-Log-Type is Tail. Service errors before anything ran are
// rest-json errors as for Invoke.
func (h *Handler) serveInvokeStream(w http.ResponseWriter, hr *http.Request) {
	req, invType, serr := readInvokeRequest(hr, "InvokeWithResponseStream", "RequestResponse", "DryRun")
	if serr != nil {
		WriteError(w, serr)
		return
	}
	if invType == "DryRun" {
		if _, _, err := h.r.Resolve(req.FunctionName, req.Qualifier); err != nil {
			WriteError(w, err)
			return
		}
		w.Header().Set("x-amzn-RequestId", invocation.NewRequestID())
		w.WriteHeader(http.StatusNoContent)
		return
	}

	id := invocation.NewRequestID()
	es := &eventStreamWriter{w: w, rc: http.NewResponseController(w), enc: eventstream.NewEncoder(), requestID: id}
	res, err := h.r.InvokeStream(hr.Context(), req, es, invocation.StreamOptions{RequestID: id})
	if err != nil {
		if hr.Context().Err() != nil || es.err != nil {
			return // the caller went away; nobody to answer
		}
		var se *invocation.ServiceError
		if !es.begun {
			WriteError(w, err)
			return
		}
		// Cut mid-stream by something other than the function: end the
		// stream with an error the SDK surfaces.
		code := "ServiceException"
		if errors.As(err, &se) {
			code = se.Type
		}
		es.complete(code, err.Error(), nil)
		return
	}
	if !es.begun {
		ct := res.ContentType
		if res.FunctionError != "" {
			ct = "application/json"
		}
		if es.Begin(ct) != nil {
			return
		}
	}
	var tail []byte
	if req.LogTail {
		tail = res.LogTail
		if tail == nil {
			tail = []byte{}
		}
	}
	if res.FunctionError != "" {
		es.complete(res.ErrorType, errorMessageOf(res.Payload), tail)
		return
	}
	es.complete("", "", tail)
}

// errorMessageOf reads errorMessage from an error payload, or returns the
// payload itself when it has none.
func errorMessageOf(payload []byte) string {
	var e struct {
		ErrorMessage *string `json:"errorMessage"`
	}
	if json.Unmarshal(payload, &e) != nil || e.ErrorMessage == nil {
		return string(payload)
	}
	return *e.ErrorMessage
}

// eventStreamWriter is the StreamWriter of InvokeWithResponseStream: it
// frames every chunk as a PayloadChunk event and flushes it.
type eventStreamWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	enc       *eventstream.Encoder
	requestID string
	begun     bool
	err       error // the first write error: the client went away
}

var _ invocation.StreamWriter = (*eventStreamWriter)(nil)

// Begin sends the response head.
func (e *eventStreamWriter) Begin(contentType string) error {
	e.begun = true
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	wh := e.w.Header()
	wh["Content-Type"] = []string{contentType}
	wh["X-Amz-Executed-Version"] = []string{invocation.LatestVersion}
	wh["X-Amzn-Requestid"] = []string{e.requestID}
	e.w.WriteHeader(http.StatusOK)
	if err := e.rc.Flush(); err != nil {
		e.err = err
	}
	return e.err
}

// Write sends p as one PayloadChunk event.
func (e *eventStreamWriter) Write(p []byte) (int, error) {
	if err := e.send(eventPayloadChunk, "application/octet-stream", p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// complete sends the final InvokeComplete event.
func (e *eventStreamWriter) complete(code, details string, logResult []byte) {
	var c struct {
		ErrorCode    string  `json:",omitempty"`
		ErrorDetails string  `json:",omitempty"`
		LogResult    *string `json:",omitempty"`
	}
	c.ErrorCode, c.ErrorDetails = code, details
	if logResult != nil {
		s := base64.StdEncoding.EncodeToString(logResult)
		c.LogResult = &s
	}
	b, _ := json.Marshal(c)
	e.send(eventInvokeComplete, "application/json", b)
}

func (e *eventStreamWriter) send(eventType, contentType string, payload []byte) error {
	if e.err != nil {
		return e.err
	}
	var msg eventstream.Message
	msg.Headers.Set(":event-type", eventstream.StringValue(eventType))
	msg.Headers.Set(":content-type", eventstream.StringValue(contentType))
	msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	msg.Payload = payload
	if err := e.enc.Encode(e.w, msg); err != nil {
		e.err = err
		return err
	}
	if err := e.rc.Flush(); err != nil {
		e.err = err
	}
	return e.err
}
