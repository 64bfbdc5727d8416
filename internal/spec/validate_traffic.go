package spec

import (
	"fmt"
	"strconv"
)

// Integration traffic settings: invoke mode, idle timeout, the concurrency
// cap and its queue, multiple upstreams, OpenAI-compatible metering and
// token limits.

// Limits checked by the validator (Portico's own).
const (
	MaxIdleTimeoutInMillis  = 900000
	MaxQueueTimeoutInMillis = 900000
	MaxQueueLength          = 100000
	MaxUpstreams            = 16
	MaxUpstreamWeight       = 1000
)

var invokeModes = []string{InvokeBuffered, InvokeStream}

// given reports whether the field p had a key in the file, even when its
// value was reported as malformed (and so reset to absent).
func (v *validator) given(p any) bool {
	_, ok := v.pos[posKey{p: p, key: true}]
	return ok
}

func (v *validator) invokeMode(i *Integration) {
	mp := v.pos.or(&i.InvokeMode, i.Pos)
	switch {
	case i.InvokeMode != InvokeBuffered && i.InvokeMode != InvokeStream:
		v.add(mp, "invokeMode: must be BUFFERED or RESPONSE_STREAM, got %q%s", i.InvokeMode, didYouMean(i.InvokeMode, invokeModes))
	case i.InvokeMode == InvokeStream && i.Type == HTTPProxy:
		v.add(mp, "invokeMode: RESPONSE_STREAM is only for AWS_PROXY integrations (HTTP_PROXY responses are forwarded as they arrive)")
	case i.InvokeMode == InvokeStream && i.Type == AWSProxy && i.PayloadFormatVersion == "1.0":
		v.add(mp, "invokeMode: RESPONSE_STREAM needs payloadFormatVersion \"2.0\"")
	}
	if t := i.IdleTimeoutInMillis; t != nil && (*t < 1 || *t > MaxIdleTimeoutInMillis) {
		v.add(v.pos.or(&i.IdleTimeoutInMillis, i.Pos), "idleTimeoutInMillis: must be 1 to %d, got %d", MaxIdleTimeoutInMillis, *t)
	}
}

func (v *validator) concurrency(i *Integration) {
	if !v.given(&i.MaxConcurrency) {
		for _, f := range []struct {
			p    any
			name string
		}{{&i.MaxQueue, "maxQueue"}, {&i.QueueTimeoutInMillis, "queueTimeoutInMillis"}} {
			if p, ok := v.pos.at(f.p); ok {
				v.add(p, "%s: only with maxConcurrency (the queue holds requests beyond the cap)", f.name)
			}
		}
		return
	}
	if c := i.MaxConcurrency; c != nil && *c < 1 {
		v.add(v.pos.or(&i.MaxConcurrency, i.Pos), "maxConcurrency: must be 1 or more, got %d", *c)
	} else if c != nil && *c > maxIntegrationConcurrency {
		v.add(v.pos.or(&i.MaxConcurrency, i.Pos), "maxConcurrency: must be at most %d, got %d", maxIntegrationConcurrency, *c)
	}
	if q := i.MaxQueue; q != nil && (*q < 0 || *q > MaxQueueLength) {
		v.add(v.pos.or(&i.MaxQueue, i.Pos), "maxQueue: must be 0 to %d, got %d", MaxQueueLength, *q)
	}
	if t := i.QueueTimeoutInMillis; t != nil && (*t < 1 || *t > MaxQueueTimeoutInMillis) {
		v.add(v.pos.or(&i.QueueTimeoutInMillis, i.Pos), "queueTimeoutInMillis: must be 1 to %d, got %d", MaxQueueTimeoutInMillis, *t)
	}
}

// maxIntegrationConcurrency is the queue package's bound on maxConcurrency.
const maxIntegrationConcurrency = 1 << 20

// upstreams checks an HTTP_PROXY integration's upstream list (whether it
// is allowed at all is the caller's check) and openAICompatible.
func (v *validator) upstreams(i *Integration) {
	if i.OpenAICompatible && i.Type != HTTPProxy {
		v.add(v.pos.or(&i.OpenAICompatible, i.Pos), "openAICompatible: only for HTTP_PROXY integrations")
	}
	up, given := v.pos.at(&i.Upstreams)
	if !given || i.Type != HTTPProxy {
		return
	}
	if p, ok := v.pos.at(&i.URI); ok {
		v.add(p, "uri: give either uri or upstreams, not both")
	}
	if n := len(i.Upstreams); n < 1 || n > MaxUpstreams {
		v.add(up, "upstreams: must list 1 to %d upstreams, got %d", MaxUpstreams, n)
	}
	for n, u := range i.Upstreams {
		ep := v.pos.entry(&i.Upstreams, strconv.Itoa(n), up)
		label := fmt.Sprintf("upstreams[%d]", n)
		if u.URI == "" {
			v.add(ep, "%s: uri is required", label)
		} else if _, err := proxyURIVars(u.URI); err != nil {
			v.add(v.pos.or(&u.URI, ep), "%s.uri: %v", label, err)
		}
		if u.Priority < 0 {
			v.add(v.pos.or(&u.Priority, ep), "%s.priority: must be 0 or more, got %d", label, u.Priority)
		}
		if w := u.Weight; w != nil && (*w < 1 || *w > MaxUpstreamWeight) {
			v.add(v.pos.or(&u.Weight, ep), "%s.weight: must be 1 to %d, got %d", label, MaxUpstreamWeight, *w)
		}
	}
}

// tokenLimits checks the values of a route's or a usage plan's token
// limits.
func (v *validator) tokenLimits(t *TokenLimits, base Pos) {
	if t.PerMinute == nil && t.PerDay == nil {
		if !v.given(&t.PerMinute) && !v.given(&t.PerDay) {
			v.add(base, "tokenLimits: give perMinute, perDay or both")
		}
		return
	}
	for _, f := range []struct {
		p    **int64
		name string
	}{{&t.PerMinute, "perMinute"}, {&t.PerDay, "perDay"}} {
		if *f.p != nil && **f.p < 1 {
			v.add(v.pos.or(f.p, base), "%s: must be 1 or more, got %d", f.name, **f.p)
		}
	}
}

// routeTokenLimits reports token limits on a route whose integration
// cannot count tokens.
func (v *validator) routeTokenLimits(a *API, rs *RouteSettings) {
	r := a.Routes[rs.Key]
	if r == nil {
		return // reported as an unknown route
	}
	in := a.Integrations[r.Integration]
	if in == nil || in.OpenAICompatible {
		return
	}
	v.add(v.pos.or(&rs.TokenLimits, rs.Pos),
		"tokenLimits: route %q uses integration %q, which is not openAICompatible; tokens could never be counted", rs.Key, in.Name)
}

// defaultTokenLimits reports default token limits in an API none of
// whose routes could count tokens.
func (v *validator) defaultTokenLimits(a *API, d *RouteSettings) {
	for _, r := range a.Routes {
		if in := a.Integrations[r.Integration]; in == nil || in.OpenAICompatible {
			return
		}
	}
	v.add(v.pos.or(&d.TokenLimits, d.Pos),
		"tokenLimits: no route of api %q uses an openAICompatible integration; tokens could never be counted", a.Name)
}
