package apikey

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// HandlerPrefix is where Handler's endpoints live.
const HandlerPrefix = "/_portico/apikeys"

// Handler serves the management endpoints used by the CLI, as JSON:
//
//	GET    /_portico/apikeys[?includeValues=true]  {"keys":[Key...]} (values hidden unless asked)
//	POST   /_portico/apikeys  {"name":..., "plan":...}  201 Key (with its value)
//	DELETE /_portico/apikeys/{name}                     204
//	GET    /_portico/apikeys/{name}/usage              Usage
//
// Errors are {"message":...} with 400 (bad input, unknown plan, spec key),
// 404 (no such key), 409 (name taken) or 503 (storage failed). The handler
// does no authentication: mount it only where the management API is
// protected.
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HandlerPrefix, r.serveList)
	mux.HandleFunc("POST "+HandlerPrefix, r.serveCreate)
	mux.HandleFunc("DELETE "+HandlerPrefix+"/{name}", r.serveDelete)
	mux.HandleFunc("GET "+HandlerPrefix+"/{name}/usage", r.serveUsage)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusServiceUnavailable
	switch {
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrExists):
		status = http.StatusConflict
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrUnknownPlan), errors.Is(err, ErrSpecKey):
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]string{"message": err.Error()})
}

func (r *Registry) serveList(w http.ResponseWriter, req *http.Request) {
	keys, err := r.List(req.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	if req.URL.Query().Get("includeValues") != "true" {
		for i := range keys {
			keys[i].Value = ""
		}
	}
	writeJSON(w, http.StatusOK, map[string][]Key{"keys": keys})
}

func (r *Registry) serveCreate(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Name string `json:"name"`
		Plan string `json:"plan"`
	}
	dec := json.NewDecoder(io.LimitReader(req.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, fmt.Errorf("create api key: body: %w: %v", ErrInvalid, err))
		return
	}
	if dec.More() {
		writeError(w, fmt.Errorf("create api key: body: %w: trailing data", ErrInvalid))
		return
	}
	k, err := r.Create(req.Context(), strings.TrimSpace(body.Name), body.Plan)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, k)
}

func (r *Registry) serveDelete(w http.ResponseWriter, req *http.Request) {
	if err := r.Delete(req.Context(), req.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Registry) serveUsage(w http.ResponseWriter, req *http.Request) {
	u, err := r.Usage(req.Context(), req.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}
