package spec

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const wsAPI = fn + "apis:\n  chat:\n    protocolType: WEBSOCKET\n    routeSelectionExpression: $request.body.action\n" +
	"    integrations:\n      f: {type: AWS_PROXY, function: fn}\n    stages:\n      dev: {}\n    routes:\n"

func TestWebSocketSpec(t *testing.T) {
	s, _, err := parseInDir(t, wsAPI+"      $connect: {integration: f}\n      send: {integration: f, routeResponseSelectionExpression: $default}\n")
	if err != nil {
		t.Fatal(err)
	}
	a := s.APIs["chat"]
	if a.ProtocolType != WebSocket || a.RouteSelectionExpression != "$request.body.action" {
		t.Errorf("api = %+v", a)
	}
	if r := a.Routes["send"]; r.RouteResponseSelectionExpression != "$default" || r.Method != "" || r.AuthorizationType != AuthNone {
		t.Errorf("route send = %+v", r)
	}
	if got := RouteSelectionPath("$request.body.a.b"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("RouteSelectionPath = %q", got)
	}
}

func TestWebSocketSpecErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"no selection expression", fn + "apis:\n  a: {protocolType: WEBSOCKET}\n", []string{`4:3: api "a": routeSelectionExpression is required for WEBSOCKET APIs (e.g. $request.body.action)`}},
		{"bad selection expression", fn + "apis:\n  a: {protocolType: WEBSOCKET, routeSelectionExpression: action}\n", []string{
			`4:58: routeSelectionExpression: must be $request.body.NAME (a JSON path of the message), got "action"`}},
		{"selection expression on HTTP", fn + "apis:\n  a: {routeSelectionExpression: $request.body.action}\n", []string{`4:33: routeSelectionExpression: only for protocolType WEBSOCKET`}},
		{"unknown $ key", wsAPI + "      $conect: {integration: f}\n", []string{`12:7: route "$conect": WEBSOCKET route keys starting with $ are $connect, $disconnect and $default (did you mean "$connect"?)`}},
		{"two-way disconnect", wsAPI + "      $disconnect: {integration: f, routeResponseSelectionExpression: $default}\n", []string{
			`12:71: routeResponseSelectionExpression: $disconnect has no client to answer`}},
		{"bad route response", wsAPI + "      send: {integration: f, routeResponseSelectionExpression: $request.body.x}\n", []string{
			`12:64: routeResponseSelectionExpression: must be $default, got "$request.body.x"`}},
		{"authorizer off $connect", wsAPI + "      send: {integration: f, authorizationType: AWS_IAM}\n", []string{
			`12:49: authorizationType: on WEBSOCKET APIs only $connect is authorized (the connection is), got "AWS_IAM" on "send"`}},
		{"JWT on $connect", wsAPI + "      $connect: {integration: f, authorizationType: JWT, authorizer: a}\n    authorizers:\n      a: {type: REQUEST, function: fn}\n", []string{
			`12:53: authorizationType: WEBSOCKET $connect supports NONE, AWS_IAM or CUSTOM (a Lambda REQUEST authorizer), got "JWT"`,
			`12:70: authorizer: only with authorizationType CUSTOM`}},
		{"bad authorizer", wsAPI + "      $connect: {integration: f, authorizationType: CUSTOM, authorizer: a}\n    authorizers:\n      a: {type: JWT, identitySource: [$request.header.Authorization]}\n", []string{
			`14:17: type: WEBSOCKET APIs support REQUEST (Lambda) authorizers only, got "JWT"`}},
		{"bad identity source", wsAPI + "      $connect: {integration: f, authorizationType: CUSTOM, authorizer: a}\n    authorizers:\n      a: {type: REQUEST, function: fn, identitySource: [$request.header.Auth], enableSimpleResponses: true}\n", []string{
			`14:56: identitySource[0]: WEBSOCKET authorizers take route.request.header.NAME or route.request.querystring.NAME, got "$request.header.Auth"`,
			`14:103: enableSimpleResponses: not used by WEBSOCKET authorizers (they answer with an IAM policy)`}},
		{"missing integration", wsAPI + "      send: {integration: g}\n", []string{`12:27: integration: no integration named "g" in api "chat"`}},
		{"http route response", fn + "apis:\n  a:\n    integrations: {f: {type: AWS_PROXY, function: fn}}\n    routes:\n      'GET /': {integration: f, routeResponseSelectionExpression: $default}\n", []string{
			`7:67: routeResponseSelectionExpression: only for WEBSOCKET APIs`}},
		{"cors", wsAPI + "      send: {integration: f}\n    cors: {allowOrigins: ['*']}\n", []string{`13:11: cors: not used by WEBSOCKET APIs`}},
	}
	for _, tt := range tests {
		if tt.want == nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := parseInDir(t, tt.yaml)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			got := positioned(t, err, filepath.Join(dir, "portico.yaml"))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
