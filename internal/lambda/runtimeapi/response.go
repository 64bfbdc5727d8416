package runtimeapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// handleResponse serves POST /2018-06-01/runtime/invocation/{id}/response.
//
// Buffered mode (no Lambda-Runtime-Function-Response-Mode header): the body
// is the result; above MaxPayloadBytes the runtime gets 413 and the invoker
// a Function.ResponseSizeTooLarge error. Streaming mode ("streaming"): the
// chunked body is collected up to MaxStreamedResponseBytes and the trailers
// Lambda-Runtime-Function-Error-Type / -Error-Body (base64 of the error
// JSON) turn it into a function error. Any other mode is 400
// InvalidFunctionResponseMode. An unknown or stale id is 400
// InvalidRequestID, a second answer 403 InvalidStateTransition. Success is
// 202 {"status":"OK"}.
func (s *Server) handleResponse(w replier, r *request) {
	mode := r.mode
	if mode != "" && mode != "streaming" {
		writeError(w, http.StatusBadRequest, "InvalidFunctionResponseMode", "Invalid function response mode")
		return
	}
	inv := s.beginAnswer(w, r.id)
	if inv == nil {
		return
	}
	if mode == "streaming" && inv.Stream != nil {
		s.streamResponse(w, r, inv)
		return
	}
	limit := int64(MaxPayloadBytes)
	if mode == "streaming" {
		limit = MaxStreamedResponseBytes
	}
	body, tooLarge, err := readLimited(r, limit)
	if err != nil {
		s.cancelAnswer(inv)
		writeError(w, http.StatusBadRequest, "InvalidRequest", fmt.Sprintf("reading response body: %v", err))
		return
	}
	if tooLarge {
		res := Result{
			Error:     true,
			ErrorType: "Function.ResponseSizeTooLarge",
			Payload: errorJSON("Function.ResponseSizeTooLarge",
				fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", limit)),
			ContentType: "application/json",
			Discard:     true,
		}
		if s.finishAnswer(w, inv, res) {
			writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
				fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", limit))
		}
		return
	}
	res := Result{Payload: body, ContentType: r.contentType}
	if mode == "streaming" {
		if et := r.trailer.Get(HeaderErrorType); et != "" {
			res.Error = true
			res.ErrorType = SanitizeErrorType(et)
			res.ContentType = "application/json"
			eb, err := base64.StdEncoding.DecodeString(r.trailer.Get(HeaderErrorBody))
			if err != nil || len(eb) == 0 {
				eb = errorJSON(et, "")
			}
			res.Payload = eb
		}
	}
	if s.finishAnswer(w, inv, res) {
		writeAccepted(w)
	}
}

// streamResponse passes a streaming-mode body to inv.Stream as it arrives,
// up to MaxStreamedResponseBytes, then applies the error trailers.
func (s *Server) streamResponse(w replier, r *request, inv *Invocation) {
	ct := r.contentType
	res := Result{ContentType: ct, Streamed: true}
	buf := make([]byte, 32*1024)
	for {
		n, err := r.body.Read(buf)
		if n > 0 {
			if res.StreamedBytes+int64(n) > MaxStreamedResponseBytes {
				n = int(MaxStreamedResponseBytes - res.StreamedBytes)
				if n > 0 {
					if serr := inv.Stream.StreamChunk(ct, buf[:n]); serr != nil {
						s.streamAborted(w, inv, res, serr)
						return
					}
					res.StreamedBytes += int64(n)
				}
				res.Error, res.ErrorType, res.ContentType, res.Discard = true, "Function.ResponseSizeTooLarge", "application/json", true
				res.Payload = errorJSON("Function.ResponseSizeTooLarge",
					fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxStreamedResponseBytes))
				if s.finishAnswer(w, inv, res) {
					writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
						fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxStreamedResponseBytes))
				}
				return
			}
			if serr := inv.Stream.StreamChunk(ct, buf[:n]); serr != nil {
				s.streamAborted(w, inv, res, serr)
				return
			}
			res.StreamedBytes += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			// The runtime went away mid-stream: leave the invocation
			// unanswered; its exit decides the outcome.
			s.cancelAnswer(inv)
			writeError(w, http.StatusBadRequest, "InvalidRequest", fmt.Sprintf("reading response body: %v", err))
			return
		}
	}
	if et := r.trailer.Get(HeaderErrorType); et != "" {
		res.Error = true
		res.ErrorType = SanitizeErrorType(et)
		res.ContentType = "application/json"
		eb, err := base64.StdEncoding.DecodeString(r.trailer.Get(HeaderErrorBody))
		if err != nil || len(eb) == 0 {
			eb = errorJSON(et, "")
		}
		res.Payload = eb
	}
	if s.finishAnswer(w, inv, res) {
		writeAccepted(w)
	}
}

// streamAborted ends a streamed response whose Streamer failed.
func (s *Server) streamAborted(w replier, inv *Invocation, res Result, err error) {
	res.StreamErr, res.Discard = err, true
	if s.finishAnswer(w, inv, res) {
		writeError(w, http.StatusBadRequest, "ResponseStreamAborted", "The invoker stopped reading the response stream.")
	}
}

// readLimited reads r's body up to limit bytes; tooLarge reports a body (or
// a declared Content-Length) above limit.
func readLimited(r *request, limit int64) (body []byte, tooLarge bool, err error) {
	if r.contentLength > limit {
		return nil, true, nil
	}
	if r.contentLength >= 0 {
		body = make([]byte, r.contentLength)
		if _, err := io.ReadFull(r.body, body); err != nil {
			return nil, false, err
		}
		return body, false, nil
	}
	body, err = io.ReadAll(io.LimitReader(r.body, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(body)) > limit {
		return nil, true, nil
	}
	return body, false, nil
}

// errorJSON is the canonical error payload {"errorMessage":..,"errorType":..}.
func errorJSON(typ, msg string) []byte {
	b, _ := json.Marshal(ErrorResponse{ErrorMessage: msg, ErrorType: typ})
	return b
}
