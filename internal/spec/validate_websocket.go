package spec

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// WebSocket is the ProtocolType of WebSocket APIs.
const WebSocket = "WEBSOCKET"

// WebSocket route keys with a meaning of their own.
const (
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
	RouteDefault    = "$default"
)

// routeSelection is what Portico evaluates of a routeSelectionExpression:
// a JSON path into the message body, as AWS's $request.body.NAME(.NAME)*.
var routeSelection = regexp.MustCompile(`^\$request\.body\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// RouteSelectionPath returns the body path of a valid route selection
// expression ("$request.body.a.b" -> ["a", "b"]).
func RouteSelectionPath(expr string) []string {
	return strings.Split(strings.TrimPrefix(expr, "$request.body."), ".")
}

// webSocketAPI validates a WEBSOCKET API: its selection expression, its
// AWS_PROXY integrations and its route keys. What WebSocket APIs do not
// have (CORS, authorizers Portico does not run on them yet) is refused
// where it is written.
func (v *validator) webSocketAPI(a *API) {
	switch e := a.RouteSelectionExpression; {
	case e == "":
		v.add(a.Pos, "api %q: routeSelectionExpression is required for WEBSOCKET APIs (e.g. $request.body.action)", a.Name)
	case !routeSelection.MatchString(e):
		v.add(v.pos.or(&a.RouteSelectionExpression, a.Pos), "routeSelectionExpression: must be $request.body.NAME (a JSON path of the message), got %q", e)
	}
	if p, ok := v.pos.at(&a.Cors); ok {
		v.add(p, "cors: not used by WEBSOCKET APIs")
	}
	for _, au := range sorted(a.Authorizers, func(au *Authorizer) Pos { return au.Pos }) {
		v.webSocketAuthorizer(au)
	}
	for _, i := range sorted(a.Integrations, func(i *Integration) Pos { return i.Pos }) {
		if v.broken[i] {
			continue
		}
		switch {
		case i.Type != AWSProxy:
			v.add(v.pos.or(&i.Type, i.Pos), "type: WEBSOCKET APIs support AWS_PROXY integrations only, got %q", i.Type)
		case i.Function == "":
			v.add(i.Pos, "integration %q: function is required for AWS_PROXY", i.Name)
		case v.spec.Functions[i.Function] == nil:
			v.add(v.pos.or(&i.Function, i.Pos), "function: no function named %q%s", i.Function, didYouMean(i.Function, slices.Collect(maps.Keys(v.spec.Functions))))
		}
		if i.TimeoutInMillis < 50 || i.TimeoutInMillis > 900000 {
			v.add(v.pos.or(&i.TimeoutInMillis, i.Pos), "timeoutInMillis: must be 50 to 900000, got %d", i.TimeoutInMillis)
		}
		if i.PayloadFormatVersion != "1.0" {
			v.add(v.pos.or(&i.PayloadFormatVersion, i.Pos), "payloadFormatVersion: WEBSOCKET APIs support only \"1.0\", got %q", i.PayloadFormatVersion)
		}
		for _, f := range []struct {
			name string
			ptr  any
		}{{"uri", &i.URI}, {"method", &i.Method}, {"upstreams", &i.Upstreams}, {"invokeMode", &i.InvokeMode},
			{"maxConcurrency", &i.MaxConcurrency}, {"openAICompatible", &i.OpenAICompatible}} {
			if p, ok := v.pos.at(f.ptr); ok {
				v.add(p, "%s: not used by WEBSOCKET APIs", f.name)
			}
		}
	}
	for _, r := range sorted(a.Routes, func(r *Route) Pos { return r.Pos }) {
		if v.broken[r] {
			continue
		}
		if strings.HasPrefix(r.Key, "$") && r.Key != RouteConnect && r.Key != RouteDisconnect && r.Key != RouteDefault {
			v.add(r.Pos, "route %q: WEBSOCKET route keys starting with $ are $connect, $disconnect and $default%s", r.Key,
				didYouMean(r.Key, []string{RouteConnect, RouteDisconnect, RouteDefault}))
		} else if r.Key == "" || len(r.Key) > 128 {
			v.add(r.Pos, "route %q: a route key is 1 to 128 characters", r.Key)
		}
		switch tp := v.pos.or(&r.AuthorizationType, r.Pos); {
		case r.AuthorizationType == AuthNone:
		case r.Key != RouteConnect:
			v.add(tp, "authorizationType: on WEBSOCKET APIs only $connect is authorized (the connection is), got %q on %q", r.AuthorizationType, r.Key)
		case r.AuthorizationType == AuthIAM:
		case r.AuthorizationType == AuthCustom:
			switch au := a.Authorizers[r.Authorizer]; {
			case r.Authorizer == "":
				v.add(tp, "route %q: authorizer is required for authorizationType CUSTOM", r.Key)
			case au == nil:
				v.add(v.pos.or(&r.Authorizer, r.Pos), "authorizer: no authorizer named %q in api %q%s", r.Authorizer, a.Name, didYouMean(r.Authorizer, slices.Collect(maps.Keys(a.Authorizers))))
			}
		default:
			v.add(tp, "authorizationType: WEBSOCKET $connect supports NONE, AWS_IAM or CUSTOM (a Lambda REQUEST authorizer), got %q", r.AuthorizationType)
		}
		if p, ok := v.pos.at(&r.Authorizer); ok && r.AuthorizationType != AuthCustom {
			v.add(p, "authorizer: only with authorizationType CUSTOM")
		}
		if p, ok := v.pos.at(&r.APIKeyRequired); ok {
			v.add(p, "apiKeyRequired: not supported on WEBSOCKET routes")
		}
		switch e := r.RouteResponseSelectionExpression; {
		case e == "":
		case e != RouteDefault:
			v.add(v.pos.or(&r.RouteResponseSelectionExpression, r.Pos), "routeResponseSelectionExpression: must be $default, got %q", e)
		case r.Key == RouteDisconnect:
			v.add(v.pos.or(&r.RouteResponseSelectionExpression, r.Pos), "routeResponseSelectionExpression: $disconnect has no client to answer")
		}
		switch {
		case r.Integration == "":
			v.add(r.Pos, "route %q: integration is required", r.Key)
		case a.Integrations[r.Integration] == nil:
			v.add(v.pos.or(&r.Integration, r.Pos), "integration: no integration named %q in api %q%s", r.Integration, a.Name, didYouMean(r.Integration, slices.Collect(maps.Keys(a.Integrations))))
		}
	}
	v.stages(a)
}

// httpOnly refuses WebSocket settings on an HTTP API.
func (v *validator) httpOnly(a *API) {
	if p, ok := v.pos.at(&a.RouteSelectionExpression); ok {
		v.add(p, "routeSelectionExpression: only for protocolType WEBSOCKET")
	}
	for _, r := range sorted(a.Routes, func(r *Route) Pos { return r.Pos }) {
		if p, ok := v.pos.at(&r.RouteResponseSelectionExpression); ok {
			v.add(p, "routeResponseSelectionExpression: only for WEBSOCKET APIs")
		}
	}
}

// wsIdentitySource is a WebSocket authorizer's identity source.
var wsIdentitySource = regexp.MustCompile(`^route\.request\.(header|querystring)\.[A-Za-z0-9._~!$&'*+-]+$`)

// webSocketAuthorizer validates a WebSocket API's authorizer: a Lambda
// REQUEST authorizer answering with an IAM policy, whose identity sources
// are route.request.header.NAME or route.request.querystring.NAME.
func (v *validator) webSocketAuthorizer(au *Authorizer) {
	if au.Type != AuthorizerRequest {
		v.add(v.pos.or(&au.Type, au.Pos), "type: WEBSOCKET APIs support REQUEST (Lambda) authorizers only, got %q", au.Type)
		return
	}
	switch {
	case au.Function == "":
		v.add(au.Pos, "authorizer %q: function is required", au.Name)
	case v.spec.Functions[au.Function] == nil:
		v.add(v.pos.or(&au.Function, au.Pos), "function: no function named %q%s", au.Function, didYouMean(au.Function, slices.Collect(maps.Keys(v.spec.Functions))))
	}
	for i, src := range au.IdentitySource {
		if !wsIdentitySource.MatchString(src) {
			v.add(v.pos.or(&au.IdentitySource, au.Pos), "identitySource[%d]: WEBSOCKET authorizers take route.request.header.NAME or route.request.querystring.NAME, got %q", i, src)
		}
	}
	for _, f := range []struct {
		name string
		ptr  any
	}{{"authorizerPayloadFormatVersion", &au.AuthorizerPayloadFormatVersion}, {"enableSimpleResponses", &au.EnableSimpleResponses}, {"jwtConfiguration", &au.JWTConfiguration}} {
		if p, ok := v.pos.at(f.ptr); ok {
			v.add(p, "%s: not used by WEBSOCKET authorizers (they answer with an IAM policy)", f.name)
		}
	}
}
