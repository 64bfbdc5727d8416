package control

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/portico-dev/portico/internal/apikey"
	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/websocket"
)

// The side-effecting collaborators an apply commits to, each as the one
// method apply calls, so that tests can inject a failure at every step.
type (
	gatewaySwapper interface {
		Swap(d *gateway.Deployment)
	}
	apiKeyUpdater interface {
		Update(plans []apikey.Plan, keys []apikey.Key) error
	}
	principalSetter interface {
		Set(ps []s3.Principal) error
	}
	bucketEnsurer interface {
		EnsureBuckets(ctx context.Context, buckets []s3.Bucket) error
	}
)

var (
	_ gatewaySwapper  = (*gateway.Server)(nil)
	_ apiKeyUpdater   = (*apikey.Registry)(nil)
	_ principalSetter = (*s3.Keyring)(nil)
	_ bucketEnsurer   = (*s3.Server)(nil)
)

// effects are the collaborators of Deps that apply changes, nil where the
// system has none.
type effects struct {
	runner  Runner
	gateway gatewaySwapper
	apiKeys apiKeyUpdater
	keyring principalSetter
	buckets bucketEnsurer
}

func effectsOf(d Deps) effects {
	s := effects{runner: d.Runner}
	if d.Gateway != nil {
		s.gateway = d.Gateway
	}
	if d.APIKeys != nil {
		s.apiKeys = d.APIKeys
	}
	if st := d.Storage; st != nil {
		if st.Keyring != nil {
			s.keyring = st.Keyring
		}
		if st.Server != nil {
			s.buckets = st.Server
		}
	}
	return s
}

// plan is the whole new system, built from a spec before anything running
// changes.
type plan struct {
	spec       *spec.Spec // what the plan was compiled from
	fns        []lambda.Function
	stages     map[string]map[string]*deployed
	dep        *built
	principals []s3.Principal // the store's callers; nil without a store
	buckets    []s3.Bucket    // nil with an external store
	plans      []apikey.Plan
	keys       []apikey.Key
	now        time.Time
}

// running is what the last successful apply committed, to roll back to.
type running struct {
	fns        []lambda.Function
	principals []s3.Principal
	plans      []apikey.Plan
	keys       []apikey.Key
}

// compile builds the whole new system from sp without touching the
// running one. With dry set it runs no function builds (dependency
// installs) and opens no access log destinations: that is what Check runs.
func (c *Controller) compile(ctx context.Context, sp *spec.Spec, force map[string]bool, dry bool) (*plan, error) {
	p := &plan{now: time.Now().UTC()}
	for _, name := range sortedKeys(sp.Functions) {
		f := c.mgmt.overlay(sp.Functions[name]) // the spec's function, as the Lambda API changed it
		fn, err := lambdaFunction(f)
		if err != nil {
			return nil, err
		}
		if !dry {
			if fn, err = c.buildFunction(ctx, f, fn); err != nil {
				return nil, err
			}
		}
		if st := sp.Storage; st != nil {
			// Buckets live elsewhere: the SDKs' S3 clients go there.
			fn.Environment = maps.Clone(fn.Environment)
			maps.Copy(fn.Environment, s3.ExternalFunctionEnv(st.Endpoint))
		}
		p.fns = append(p.fns, fn)
	}

	// Decide what each stage runs.
	p.stages = map[string]map[string]*deployed{}
	for _, apiName := range sortedKeys(sp.APIs) {
		a := sp.APIs[apiName]
		p.stages[apiName] = map[string]*deployed{}
		for stName, st := range a.Stages {
			prev := c.deployed[apiName][stName]
			if prev == nil || st.AutoDeploy || force[apiName+"/"+stName] {
				p.stages[apiName][stName] = &deployed{api: a, id: newDeploymentID(), at: p.now}
			} else {
				p.stages[apiName][stName] = prev
			}
		}
	}
	if c.effects.keyring != nil || dry {
		var err error
		if p.principals, err = c.principals(sp); err != nil {
			return nil, err
		}
		// The keyring's own checks, on a scratch keyring.
		if err := new(s3.Keyring).Set(p.principals); err != nil {
			return nil, err
		}
	}
	if sp.Storage == nil {
		for _, name := range sortedKeys(sp.Buckets) {
			p.buckets = append(p.buckets, s3.Bucket{Name: name, Contents: sp.Buckets[name].Contents})
		}
	}
	p.plans, p.keys = usagePlans(sp)
	dep, err := c.build(sp, p.stages, dry)
	if err != nil {
		return nil, err
	}
	p.dep = dep
	return p, nil
}

// commit makes p the running system. Steps run from the likeliest to fail
// to the one that cannot: the functions' resource policies and event
// invoke configurations (set first: events queued before a restart get
// their destinations from their first attempt), the runner's function set
// (validated whole before it changes anything), the API keys, the store's
// principals, the buckets, the buckets' notifications (the store checks
// each destination's permission against the deployed functions), and last
// the gateway's deployment swap. When a step fails the
// steps before it are undone, newest first, so the running system is as
// it was; p's deployment is released.
func (c *Controller) commit(ctx context.Context, p *plan) error {
	var undo []func()
	fail := func(err error) error {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		p.dep.close()
		return err
	}
	bg := context.WithoutCancel(ctx)
	prev := c.running
	if p.spec != nil {
		prevSpec := c.spec
		if prevSpec == nil {
			prevSpec = &spec.Spec{}
		}
		c.applyAsyncConfig(p.spec)
		undo = append(undo, func() { c.applyAsyncConfig(prevSpec) })
	}
	if err := c.effects.runner.Deploy(ctx, p.fns); err != nil {
		return fail(err)
	}
	undo = append(undo, func() {
		if err := c.effects.runner.Deploy(bg, prev.fns); err != nil {
			c.deps.Logger.Error("roll back functions", "err", err)
		}
	})
	if c.effects.apiKeys != nil {
		if err := c.effects.apiKeys.Update(p.plans, p.keys); err != nil {
			return fail(err)
		}
		undo = append(undo, func() {
			if err := c.effects.apiKeys.Update(prev.plans, prev.keys); err != nil {
				c.deps.Logger.Error("roll back API keys", "err", err)
			}
		})
	}
	if c.effects.keyring != nil {
		if err := c.effects.keyring.Set(p.principals); err != nil {
			return fail(err)
		}
		undo = append(undo, func() {
			if err := c.effects.keyring.Set(prev.principals); err != nil {
				c.deps.Logger.Error("roll back store principals", "err", err)
			}
		})
	}
	if c.effects.buckets != nil && len(p.buckets) > 0 {
		// Additive: existing buckets and objects are never changed, so
		// there is nothing to undo of the buckets that exist already.
		if err := c.effects.buckets.EnsureBuckets(ctx, p.buckets); err != nil {
			return fail(fmt.Errorf("buckets: %w", err))
		}
	}
	if p.spec != nil {
		back, err := c.applyNotifications(p.spec)
		if err != nil {
			return fail(err)
		}
		undo = append(undo, back)
	}
	c.effects.gateway.Swap(p.dep.Deployment)
	c.queues.install(p.dep.queues)
	c.running = running{fns: p.fns, principals: p.principals, plans: p.plans, keys: p.keys}
	return nil
}

// Check compiles sp the way up does, without starting or changing
// anything: the gateway's routes, integrations, authorizers (JWT issuers,
// CORS, upstream URIs), the IAM principals and the store's keyring. It is
// validate's second pass after spec.Load; a spec that passes both is one
// up accepts (function dependency installs and access log destinations
// aside: those touch the disk).
func Check(ctx context.Context, sp *spec.Spec, cfg Config) error {
	// A scratch WebSocket registry: WEBSOCKET APIs compile as up compiles them.
	c := New(cfg, Deps{Runner: checkRunner{}, WebSockets: &WebSockets{Registry: &websocket.Registry{}}})
	p, err := c.compile(ctx, sp, nil, true)
	if err != nil {
		return err
	}
	p.dep.close()
	// The API key registry's own checks, on a scratch registry.
	keys, err := apikey.New(apikey.Config{})
	if err != nil {
		return err
	}
	defer keys.Close()
	return keys.Update(p.plans, p.keys)
}

// checkRunner is the runner Check compiles integrations against; it is
// never called.
type checkRunner struct{}

func (checkRunner) Invoke(context.Context, *invocation.Request) (*invocation.Result, error) {
	return nil, fmt.Errorf("control check: no runner")
}

func (checkRunner) Deploy(context.Context, []lambda.Function) error { return nil }

func (checkRunner) SetPermissions(map[string][]lambda.Permission) {}

func (checkRunner) SetEventInvokeConfigs(map[string]invocation.EventInvokeConfig) {}
