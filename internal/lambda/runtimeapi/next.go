package runtimeapi

import (
	"net/http"
	"strconv"
)

// handleNext serves GET /2018-06-01/runtime/invocation/next: it long-polls
// for the next invocation and answers 200 with the event as body and the
// invocation metadata as headers (each only when non-empty). A runtime that
// asks again while its current invocation is unanswered gets 403; a closed
// server answers 500 (the runtime should exit).
func (s *Server) handleNext(w http.ResponseWriter, r *http.Request) {
	s.readyOnce.Do(func() {
		s.readyAt = s.now()
		close(s.ready)
	})
	s.mu.Lock()
	busy := s.current != nil && (s.state == stateDelivered || s.state == stateAnswering)
	s.mu.Unlock()
	if busy {
		writeError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from RuntimeInvokeState to InvocationNext failed for runtime. Error: State transition is not allowed")
		return
	}

	var inv *Invocation
	select {
	case inv = <-s.next:
	case <-s.closed:
		writeError(w, http.StatusInternalServerError, "Runtime.Unavailable", "Internal Server Error")
		return
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	s.current = inv
	s.state = stateDelivered
	s.mu.Unlock()

	h := w.Header()
	setIf(h, HeaderRequestID, inv.RequestID)
	if !inv.Deadline.IsZero() {
		h[HeaderDeadline] = []string{strconv.FormatInt(inv.Deadline.UnixMilli(), 10)}
	}
	setIf(h, HeaderFunctionARN, inv.FunctionARN)
	setIf(h, HeaderTraceID, inv.TraceID)
	setIf(h, HeaderClientContext, inv.ClientContext)
	setIf(h, HeaderCognitoIdentity, inv.CognitoIdentity)
	ct := inv.ContentType
	if ct == "" {
		ct = "application/json"
	}
	h["Content-Type"] = []string{ct}
	h["Content-Length"] = []string{strconv.Itoa(len(inv.Payload))}
	w.WriteHeader(http.StatusOK)
	w.Write(inv.Payload)
}

// setIf sets a canonical header only when v is non-empty.
func setIf(h http.Header, k, v string) {
	if v != "" {
		h[k] = []string{v}
	}
}
