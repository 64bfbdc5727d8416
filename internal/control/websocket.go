package control

import (
	"fmt"

	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/websocket"
)

// WebSockets is what WebSocket APIs share across deployments: the open
// connections and the sinks of their connect, message and disconnect
// records (metrics, the console); function URLs' records go to the same
// sinks.
type WebSockets struct {
	Registry *websocket.Registry
	Sinks    []observe.Sink
	// Limits override AWS's connection limits (message size, idle and
	// maximum durations); zero fields keep AWS's.
	Limits websocket.Limits
}

// webSocketAPI builds a WEBSOCKET API's handler: one route table per
// stage, from the API definition deployed to that stage.
func (c *Controller) webSocketAPI(b *built, a *spec.API, stages map[string]*deployed) (*gateway.API, error) {
	if c.deps.WebSockets == nil || c.deps.WebSockets.Registry == nil {
		return nil, fmt.Errorf("api %s: WebSocket APIs are not enabled in this server", a.Name)
	}
	cfg := websocket.Config{APIID: a.ID, APIName: a.Name, Region: c.cfg.Region, AccountID: c.cfg.AccountID,
		RouteSelection: spec.RouteSelectionPath(a.RouteSelectionExpression), Stages: map[string]*websocket.Stage{},
		Limits: c.deps.WebSockets.Limits}
	for _, stName := range sortedKeys(a.Stages) {
		st, def := a.Stages[stName], stages[stName].api
		ws := &websocket.Stage{Name: stName, Variables: st.StageVariables, Routes: map[string]*websocket.Route{}}
		for key, rt := range def.Routes {
			in := def.Integrations[rt.Integration]
			wr := &websocket.Route{Key: key, Function: in.Function, Timeout: in.Timeout(),
				TwoWay: rt.RouteResponseSelectionExpression != ""}
			switch rt.AuthorizationType {
			case spec.AuthIAM:
				wr.Auth = &websocket.ConnectAuth{Type: websocket.AuthIAM}
			case spec.AuthCustom:
				if au := def.Authorizers[rt.Authorizer]; au != nil {
					wr.Auth = &websocket.ConnectAuth{Type: websocket.AuthCustom, Function: au.Function, IdentitySource: au.IdentitySource}
				}
			}
			if l := routeLimit(st, key); l != nil {
				wr.Throttle, wr.ThrottleKey = l, "stage:"+a.ID+"/"+stName+"/"+key
			}
			ws.Routes[key] = wr
		}
		if st.AccessLogSettings != nil {
			sink, release, err := c.logs.acquire(st.AccessLogSettings)
			if err != nil {
				return nil, fmt.Errorf("api %s stage %s: %w", a.Name, stName, err)
			}
			b.closers = append(b.closers, release)
			ws.Sinks = append(ws.Sinks, sink)
		}
		cfg.Stages[stName] = ws
	}
	deps := websocket.Deps{Invoker: c.deps.Runner, Registry: c.deps.WebSockets.Registry,
		Sinks: c.deps.WebSockets.Sinks, Logger: c.deps.Logger,
		HeaderNames: gateway.HeaderNames, Upgraded: gateway.Upgraded}
	if c.deps.Store != nil {
		deps.Limiter = c.deps.Store
	}
	if c.deps.Storage != nil && c.deps.Storage.Keyring != nil {
		deps.Principals = c.deps.Storage.Keyring
	}
	h, err := websocket.New(cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("api %s: %w", a.Name, err)
	}
	ga := gateway.NewAPI(a.ID, a.Name, c.cfg.AccountID)
	ga.SetWebSocket(h)
	return ga, nil
}
