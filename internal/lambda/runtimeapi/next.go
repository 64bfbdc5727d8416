package runtimeapi

import "net/http"

// handleNext serves GET /2018-06-01/runtime/invocation/next: it long-polls
// for the next invocation and answers 200 with the event as body and the
// invocation metadata as headers (each only when non-empty). A runtime that
// asks again while its current invocation is unanswered gets 403; a closed
// server answers 500 (the runtime should exit).
//
// gone, when it fires, means the runtime went away while waiting: the
// invocation is left for another /next.
func (s *Server) handleNext(w replier, gone <-chan struct{}) {
	if !s.nextAllowed(w) {
		return
	}
	var inv *Invocation
	select {
	case inv = <-s.next:
	case <-s.closed:
		writeError(w, http.StatusInternalServerError, "Runtime.Unavailable", "Internal Server Error")
		return
	case <-gone:
		return
	}
	s.deliver(w, inv)
}

// nextAllowed marks the runtime ready and checks that it may ask for an
// invocation now; it answers 403 when not.
func (s *Server) nextAllowed(w replier) bool {
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
		return false
	}

	return true
}

// deliver makes inv the current invocation and sends it to the runtime.
func (s *Server) deliver(w replier, inv *Invocation) {
	s.mu.Lock()
	s.current = inv
	s.state = stateDelivered
	s.mu.Unlock()
	w.replyNext(inv)
}
