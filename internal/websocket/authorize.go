package websocket

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/sigv4"
)

// Authorization types of a $connect route.
const (
	AuthIAM    = "AWS_IAM"
	AuthCustom = "CUSTOM"
)

// InvokeAction is the IAM action a $connect authorization allows.
const InvokeAction = "execute-api:Invoke"

// ConnectAuth is how a $connect route is authorized; the connection is
// authorized once, when it opens.
type ConnectAuth struct {
	// Type is AWS_IAM (the upgrade request is SigV4-signed for service
	// execute-api, in headers or a presigned query, by a principal allowed
	// execute-api:Invoke on the route) or CUSTOM (a Lambda REQUEST
	// authorizer answering with an IAM policy).
	Type string
	// Function is the CUSTOM authorizer's function.
	Function string
	// IdentitySource lists route.request.header.NAME and
	// route.request.querystring.NAME: a missing one refuses with 401
	// before the authorizer runs.
	IdentitySource []string
}

// routeARN is the execute-api resource of a route of a stage.
func (h *Handler) routeARN(stage, routeKey string) string {
	return "arn:aws:execute-api:" + h.cfg.Region + ":" + h.cfg.AccountID + ":" + h.cfg.APIID + "/" + stage + "/" + routeKey
}

// authorizeConnect runs the $connect route's authorization. It returns 0
// to let the connection through (with c's authorizer context or identity
// filled), else the status to refuse the handshake with: 401 for missing
// identity sources, 403 for a refusal, 500 for a failing authorizer.
func (h *Handler) authorizeConnect(ctx context.Context, r *http.Request, c *Conn, st *Stage, a *ConnectAuth) int {
	switch a.Type {
	case AuthIAM:
		return h.authorizeIAM(r, c, st)
	case AuthCustom:
		return h.authorizeLambda(ctx, r, c, st, a)
	}
	return 0
}

func (h *Handler) authorizeIAM(r *http.Request, c *Conn, st *Stage) int {
	if h.deps.Principals == nil {
		return http.StatusForbidden
	}
	v := &sigv4.Verifier{Lookup: func(k string) (sigv4.Credentials, bool) {
		p, ok := h.deps.Principals.Principal(k)
		if !ok {
			return sigv4.Credentials{}, false
		}
		return p.Credentials, true
	}, Now: h.deps.Now, Region: h.cfg.Region}
	id, err := v.Verify(r, nil, ManageService)
	if err != nil {
		h.deps.Logger.Debug("websocket $connect: signature refused", "api", h.cfg.APIID, "err", err)
		return http.StatusForbidden
	}
	p, ok := h.deps.Principals.Principal(id.AccessKeyID)
	if !ok {
		return http.StatusForbidden
	}
	if !p.Admin && iam.Evaluate(p.Policies, InvokeAction, h.routeARN(st.Name, "$connect")) != iam.Allow {
		return http.StatusForbidden
	}
	arn := p.ARN
	if arn == "" {
		arn = "arn:aws:iam::" + h.cfg.AccountID + ":user/" + p.Name
	}
	c.identity = &Identity{AccessKey: id.AccessKeyID, AccountID: h.cfg.AccountID, Caller: id.AccessKeyID, User: id.AccessKeyID, UserARN: arn}
	return 0
}

// authorizerResponse is a Lambda REQUEST authorizer's answer.
type authorizerResponse struct {
	PrincipalID    string         `json:"principalId"`
	PolicyDocument any            `json:"policyDocument"`
	Context        map[string]any `json:"context"`
}

func (h *Handler) authorizeLambda(ctx context.Context, r *http.Request, c *Conn, st *Stage, a *ConnectAuth) int {
	q := r.URL.Query()
	for _, src := range a.IdentitySource {
		switch {
		case strings.HasPrefix(src, "route.request.header."):
			if r.Header.Get(strings.TrimPrefix(src, "route.request.header.")) == "" {
				return http.StatusUnauthorized
			}
		case strings.HasPrefix(src, "route.request.querystring."):
			if q.Get(strings.TrimPrefix(src, "route.request.querystring.")) == "" {
				return http.StatusUnauthorized
			}
		}
	}
	now := h.deps.Now()
	ev := c.connectEvent(r, now, st.Variables)
	methodARN := h.routeARN(st.Name, "$connect")
	payload, err := json.Marshal(struct {
		Type      string `json:"type"`
		MethodARN string `json:"methodArn"`
		*Event
	}{"REQUEST", methodARN, ev})
	if err != nil {
		return http.StatusInternalServerError
	}
	res, err := h.deps.Invoker.Invoke(ctx, &invocation.Request{FunctionName: a.Function, Payload: payload})
	if err != nil || res.FunctionError != "" {
		h.deps.Logger.Warn("websocket authorizer failed", "api", h.cfg.APIID, "function", a.Function, "err", err)
		return http.StatusInternalServerError
	}
	var out authorizerResponse
	if err := json.Unmarshal(res.Payload, &out); err != nil || out.PolicyDocument == nil {
		h.deps.Logger.Warn("websocket authorizer: invalid answer", "function", a.Function, "answer", string(res.Payload))
		return http.StatusInternalServerError
	}
	pol, err := iam.ParsePolicy(out.PolicyDocument)
	if err != nil {
		h.deps.Logger.Warn("websocket authorizer: invalid policy", "function", a.Function, "err", err)
		return http.StatusInternalServerError
	}
	if iam.Evaluate([]*iam.Policy{pol}, InvokeAction, methodARN) != iam.Allow {
		return http.StatusForbidden
	}
	auth := map[string]any{"principalId": out.PrincipalID}
	for k, v := range out.Context {
		auth[k] = v
	}
	c.authorizer = auth
	return 0
}
