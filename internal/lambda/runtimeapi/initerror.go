package runtimeapi

import (
	"fmt"
	"net/http"
)

// handleInitError serves POST /2018-06-01/runtime/init/error: the runtime
// failed to initialise and will exit. The error (body unchanged, sanitised
// type) goes to the invocation that triggered the init. Allowed only before
// the first /next (403 afterwards) and only once (403 on repeats); 202
// otherwise.
func (s *Server) handleInitError(w replier, r *request) {
	select {
	case <-s.ready:
		writeError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from Ready to InitError failed for runtime. Error: State transition is not allowed")
		return
	case <-s.initFailed:
		writeError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from InitError to InitError failed for runtime. Error: State transition is not allowed")
		return
	default:
	}
	body, tooLarge, err := readLimited(r, MaxPayloadBytes)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", fmt.Sprintf("reading init error body: %v", err))
		return
	}
	if tooLarge {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxPayloadBytes))
		return
	}
	res := Result{
		Payload:     body,
		ContentType: "application/json",
		Error:       true,
		ErrorType:   SanitizeErrorType(r.errorType),
		Discard:     true,
	}
	if len(body) == 0 {
		res.Payload = errorJSON(res.ErrorType, "")
	}
	first := false
	s.initOnce.Do(func() {
		s.initResult = res
		close(s.initFailed)
		first = true
	})
	if !first {
		writeError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from InitError to InitError failed for runtime. Error: State transition is not allowed")
		return
	}
	writeAccepted(w)
}
