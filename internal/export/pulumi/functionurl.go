package pulumi

import (
	"fmt"

	"github.com/portico-dev/portico/internal/spec"
)

// streamingURL is the function URL that carries an HTTP API's streaming
// integration to AWS, where HTTP APIs cannot stream: RESPONSE_STREAM,
// with the API's CORS, open (NONE) when every route of the integration is,
// AWS_IAM when they use AWS_IAM. Routes behind JWT or Lambda authorizers
// get none (function URLs support neither), and nil is returned with the
// reason.
func streamingURL(a *spec.API, integration string) (*spec.FunctionURL, string) {
	auth := ""
	for _, rk := range sortedKeys(a.Routes) {
		r := a.Routes[rk]
		if r.Integration != integration {
			continue
		}
		t := r.AuthorizationType
		if t == "" {
			t = spec.AuthNone
		}
		switch {
		case r.APIKeyRequired:
			return nil, fmt.Sprintf("no function URL exported: route %q requires an API key, which function URLs cannot check", rk)
		case t != spec.AuthNone && t != spec.AuthIAM:
			return nil, fmt.Sprintf("no function URL exported: route %q uses %s authorization, which function URLs do not support (only NONE and AWS_IAM); stream with a WebSocket API instead (docs/streaming.md)", rk, t)
		case auth != "" && auth != t:
			return nil, fmt.Sprintf("no function URL exported: the integration's routes mix %s and %s authorization", auth, t)
		}
		auth = t
	}
	if auth == "" {
		return nil, "no function URL exported: no route uses the integration"
	}
	return &spec.FunctionURL{AuthorizationType: auth, InvokeMode: "RESPONSE_STREAM", Cors: a.Cors}, ""
}

// streamingURLNote says what became of a streaming integration.
func (g *gen) streamingURLNote(a *spec.API, name string, in *spec.Integration) string {
	if in.Type != spec.AWSProxy {
		return "not streamed on AWS"
	}
	if fn := g.sp.Functions[in.Function]; fn != nil && fn.URL != nil {
		return fmt.Sprintf("stream through function %s's own URL on AWS", in.Function)
	}
	if _, why := streamingURL(a, name); why != "" {
		return why
	}
	return fmt.Sprintf("exported as function URL function_url_%s (RESPONSE_STREAM), which streams on AWS", in.Function)
}

// streamingURLs are the function URLs the program declares: each
// function's own url, and one for each function behind a streaming HTTP
// API integration that has none (see streamingURL).
func streamingURLs(sp *spec.Spec) map[string]*spec.FunctionURL {
	out := map[string]*spec.FunctionURL{}
	for name, fn := range sp.Functions {
		if fn.URL != nil {
			out[name] = fn.URL
		}
	}
	for _, an := range sortedKeys(sp.APIs) {
		a := sp.APIs[an]
		for _, in := range sortedKeys(a.Integrations) {
			i := a.Integrations[in]
			if i.Type != spec.AWSProxy || i.InvokeMode != "RESPONSE_STREAM" || out[i.Function] != nil {
				continue
			}
			if u, _ := streamingURL(a, in); u != nil {
				out[i.Function] = u
			}
		}
	}
	return out
}
