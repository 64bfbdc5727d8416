package system

import (
	"context"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/control"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/observe/console"
	"github.com/portico-dev/portico/internal/spec"
)

// The console's views of the running system: adapters from the
// controller's spec and the runner to the console's small interfaces.

type topology struct{ ctl *control.Controller }

func (t topology) APIs() []console.API {
	sp := t.ctl.Spec()
	if sp == nil {
		return nil
	}
	var out []console.API
	for _, name := range sortedNames(sp.APIs) {
		a := sp.APIs[name]
		ca := console.API{ID: a.ID, Name: a.Name}
		for _, stName := range sortedNames(a.Stages) {
			st := a.Stages[stName]
			cs := console.Stage{Name: stName, AutoDeploy: st.AutoDeploy}
			for _, key := range sortedNames(a.Routes) {
				r := a.Routes[key]
				cr := console.Route{Key: key, Integration: r.Integration, AuthorizationType: r.AuthorizationType,
					Authorizer: r.Authorizer, Scopes: r.AuthorizationScopes, APIKeyRequired: r.APIKeyRequired}
				if in := a.Integrations[r.Integration]; in != nil {
					cr.IntegrationType, cr.Target = in.Type, in.Function
					if in.Type == spec.HTTPProxy {
						cr.Target = in.URI
					}
				}
				if rs := st.RouteSettings[key]; rs != nil && rs.ThrottlingRateLimit != nil {
					cr.ThrottleRate = *rs.ThrottlingRateLimit
				} else if d := st.DefaultRouteSettings; d != nil && d.ThrottlingRateLimit != nil {
					cr.ThrottleRate = *d.ThrottlingRateLimit
				}
				if rs := st.RouteSettings[key]; rs != nil && rs.ThrottlingBurstLimit != nil {
					cr.ThrottleBurst = *rs.ThrottlingBurstLimit
				} else if d := st.DefaultRouteSettings; d != nil && d.ThrottlingBurstLimit != nil {
					cr.ThrottleBurst = *d.ThrottlingBurstLimit
				}
				cs.Routes = append(cs.Routes, cr)
			}
			ca.Stages = append(ca.Stages, cs)
		}
		out = append(out, ca)
	}
	return out
}

type functions struct{ r *lambda.Runner }

func (f functions) Functions() []console.Function {
	var out []console.Function
	queues := map[string]invocation.QueueStatus{}
	for _, q := range f.r.Queues() {
		queues[q.Function] = q
	}
	for _, s := range f.r.Functions() {
		q := queues[s.Name]
		out = append(out, console.Function{Name: s.Name, Runtime: s.Runtime, MemoryMB: s.MemoryMB, Warm: s.Idle, Busy: s.Busy + s.Starting,
			QueueDepth: q.Depth, QueueAge: q.OldestAge.Round(time.Second)})
	}
	return out
}

type logs struct{ r *lambda.Runner }

func (l logs) Tail(_ context.Context, fn string, n int) ([]string, error) {
	b, _ := l.r.Logs(fn)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil, nil
	}
	return lines, nil
}

func (l logs) Invocation(_ context.Context, fn, requestID string) ([]string, error) {
	b, _ := l.r.FilterLogs(fn, invocation.LogFilter{RequestID: requestID})
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}
