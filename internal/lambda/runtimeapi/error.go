package runtimeapi

import (
	"fmt"
	"net/http"
)

// handleError serves POST /2018-06-01/runtime/invocation/{id}/error: the
// runtime reports a function or runtime error. The body (the error JSON) is
// passed to the invoker unchanged; the Lambda-Runtime-Function-Error-Type
// header is sanitised (see SanitizeErrorType). Statuses as for /response:
// 202, 400 InvalidRequestID, 403 InvalidStateTransition, 413.
func (s *Server) handleError(w replier, r *request) {
	inv := s.beginAnswer(w, r.id)
	if inv == nil {
		return
	}
	body, tooLarge, err := readLimited(r, MaxPayloadBytes)
	if err != nil {
		s.cancelAnswer(inv)
		writeError(w, http.StatusBadRequest, "InvalidRequest", fmt.Sprintf("reading error body: %v", err))
		return
	}
	if tooLarge {
		s.cancelAnswer(inv)
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxPayloadBytes))
		return
	}
	res := Result{
		Payload:     body,
		ContentType: "application/json",
		Error:       true,
		ErrorType:   SanitizeErrorType(r.errorType),
	}
	if len(body) == 0 {
		res.Payload = errorJSON(res.ErrorType, "")
	}
	if s.finishAnswer(w, inv, res) {
		writeAccepted(w)
	}
}
