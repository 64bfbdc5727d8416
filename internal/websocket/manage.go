package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gobwas/ws"

	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/sigv4"
)

// ManageAction is the IAM action the @connections API needs.
const ManageAction = "execute-api:ManageConnections"

// ManageService is the SigV4 signing name of the @connections API.
const ManageService = "execute-api"

// manage serves POST, GET and DELETE /@connections/{id}: the request must
// be signed (SigV4, service execute-api) by a principal allowed
// execute-api:ManageConnections on
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/@connections/{id}.
// A connection that is not open (or belongs to another API) is 410
// GoneException.
func (h *Handler) manage(w http.ResponseWriter, r *http.Request, st *Stage, id string) {
	switch r.Method {
	case http.MethodPost, http.MethodGet, http.MethodDelete:
	default:
		writeJSONError(w, http.StatusMethodNotAllowed, "", "Method Not Allowed")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.Limits.MaxMessageBytes+1))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "BadRequestException", "could not read the request body")
		return
	}
	c := h.deps.Registry.Get(id)
	if c != nil && c.APIID != h.cfg.APIID {
		c = nil
	}
	stage := ""
	switch {
	case st != nil:
		stage = st.Name
	case c != nil:
		stage = c.Stage
	}
	if e := h.authorizeManage(r, body, stage, id); e != nil {
		writeJSONError(w, e.status, e.errType, e.msg)
		return
	}
	if c == nil || (st != nil && c.Stage != st.Name) {
		writeJSONError(w, http.StatusGone, "GoneException", "")
		return
	}
	switch r.Method {
	case http.MethodPost:
		if int64(len(body)) > h.cfg.Limits.MaxMessageBytes {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException",
				fmt.Sprintf("Message must be at most %d bytes", h.cfg.Limits.MaxMessageBytes))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := c.Send(ctx, body); err != nil {
			writeJSONError(w, http.StatusGone, "GoneException", "")
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		info := c.info()
		b, _ := json.Marshal(map[string]any{
			"connectedAt":  info.ConnectedAt.UTC().Format(time.RFC3339Nano),
			"lastActiveAt": info.LastSeen.UTC().Format(time.RFC3339Nano),
			"identity":     map[string]string{"sourceIp": info.SourceIP, "userAgent": info.UserAgent},
		})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case http.MethodDelete:
		c.close(ws.StatusNormalClosure, "")
		w.WriteHeader(http.StatusNoContent)
	}
}

type manageError struct {
	status       int
	errType, msg string
}

// authorizeManage checks the signature and the IAM decision; nil allows.
func (h *Handler) authorizeManage(r *http.Request, body []byte, stage, id string) *manageError {
	if r.Header.Get("Authorization") == "" && !r.URL.Query().Has("X-Amz-Credential") {
		return &manageError{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	if h.deps.Principals == nil {
		return &manageError{http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	v := &sigv4.Verifier{Lookup: func(k string) (sigv4.Credentials, bool) {
		p, ok := h.deps.Principals.Principal(k)
		if !ok {
			return sigv4.Credentials{}, false
		}
		return p.Credentials, true
	}, Now: h.deps.Now, Region: h.cfg.Region}
	ident, err := v.Verify(r, body, ManageService)
	if err != nil {
		return &manageError{http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided."}
	}
	p, ok := h.deps.Principals.Principal(ident.AccessKeyID)
	if !ok {
		return &manageError{http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if p.Admin {
		return nil
	}
	arn := ConnectionARN(h.cfg.Region, h.cfg.AccountID, h.cfg.APIID, stage, r.Method, id)
	if iam.Evaluate(p.Policies, ManageAction, arn) != iam.Allow {
		who := p.ARN
		if who == "" {
			who = p.Name
		}
		return &manageError{http.StatusForbidden, "AccessDeniedException",
			"User: " + who + " is not authorized to perform: " + ManageAction + " on resource: " + arn}
	}
	return nil
}

// ConnectionARN is the resource an @connections call is authorized on.
func ConnectionARN(region, account, apiID, stage, method, id string) string {
	return "arn:aws:execute-api:" + region + ":" + account + ":" + apiID + "/" + stage + "/" + method + "/@connections/" + id
}
