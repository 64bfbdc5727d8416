package pulumiyaml

import (
	"strings"
	"testing"
)

// TestWebSocketAPI: a WEBSOCKET Api with its selection expression, a
// two-way route and its RouteResponse translate to the spec's WebSocket
// API; a bad expression is reported at its line.
func TestWebSocketAPI(t *testing.T) {
	const ws = `  api:
    type: aws:apigatewayv2:Api
    properties:
      protocolType: WEBSOCKET
      routeSelectionExpression: $request.body.action
  integ:
    type: aws:apigatewayv2:Integration
    properties:
      apiId: ${api.id}
      integrationType: AWS_PROXY
      integrationUri: ${fn.invokeArn}
  ping:
    type: aws:apigatewayv2:Route
    properties:
      apiId: ${api.id}
      routeKey: ping
      target: integrations/${integ.id}
      routeResponseSelectionExpression: $default
  pingResponse:
    type: aws:apigatewayv2:RouteResponse
    properties:
      apiId: ${api.id}
      routeId: ${ping.id}
      routeResponseKey: $default
  dev:
    type: aws:apigatewayv2:Stage
    properties:
      apiId: ${api.id}
      name: dev
      autoDeploy: true
`
	p, err := Load(program(t, head+fn+ws), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := p.Spec.APIs["api"]
	if a == nil || a.ProtocolType != "WEBSOCKET" || a.RouteSelectionExpression != "$request.body.action" {
		t.Fatalf("api = %+v", a)
	}
	if r := a.Routes["ping"]; r == nil || r.RouteResponseSelectionExpression != "$default" || r.Integration != "integ" {
		t.Errorf("route ping = %+v", r)
	}
	bad := strings.Replace(head+fn+ws, "routeSelectionExpression: $request.body.action\n", "routeSelectionExpression: action\n", 1)
	if _, err := Load(program(t, bad), Options{}); err == nil || !strings.Contains(err.Error(), "routeSelectionExpression: must be $request.body.NAME") {
		t.Errorf("bad expression: %v", err)
	}
}
