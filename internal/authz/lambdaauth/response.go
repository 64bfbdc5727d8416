package lambdaauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/integration"
)

// invokeAction is the action a policy must allow on the route ARN.
const invokeAction = "execute-api:Invoke"

// result is one parsed authorizer response: a simple decision, or a policy
// evaluated against each route ARN it is applied to. Results are immutable
// and shared by every request that hits them in the cache.
type result struct {
	policy   *iam.Policy // nil for simple responses
	allowed  bool        // simple responses only
	identity *integration.Authorizer
}

// allows reports whether the result lets a request for routeARN through:
// a simple response's isAuthorized, or a policy with an Allow statement
// matching routeARN and no matching Deny.
func (r *result) allows(routeARN string) bool {
	if r.policy == nil {
		return r.allowed
	}
	return r.policy.Evaluate(invokeAction, routeARN) == iam.Allow
}

// parseResponse parses an authorizer function's response payload: the
// simple format ({"isAuthorized": bool, "context": {...}}) when simple is
// set, the IAM policy format ({"principalId": "...", "policyDocument":
// {...}, "context": {...}}) otherwise. Unknown members are ignored. With v1
// (payload format 1.0) context values are turned into strings. Anything
// else is an error naming what is wrong.
func parseResponse(payload []byte, simple, v1 bool) (*result, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("response is not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("response is not JSON: data after the top-level value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("response must be a JSON object, got %s", describe(v))
	}

	ctx, err := parseContext(m["context"], v1)
	if err != nil {
		return nil, err
	}
	res := &result{identity: &integration.Authorizer{Lambda: ctx}}
	if simple {
		raw, ok := m["isAuthorized"]
		if !ok {
			return nil, errors.New("simple response: isAuthorized is missing")
		}
		b, ok := raw.(bool)
		if !ok {
			return nil, fmt.Errorf("simple response: isAuthorized must be a boolean, got %s", describe(raw))
		}
		res.allowed = b
		return res, nil
	}

	rawPID, ok := m["principalId"]
	if !ok {
		return nil, errors.New("policy response: principalId is missing")
	}
	pid, ok := rawPID.(string)
	if !ok {
		return nil, fmt.Errorf("policy response: principalId must be a string, got %s", describe(rawPID))
	}
	doc, ok := m["policyDocument"]
	if !ok {
		return nil, errors.New("policy response: policyDocument is missing")
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, fmt.Errorf("policy response: policyDocument must be an object, got %s", describe(doc))
	}
	p, err := iam.ParsePolicy(doc)
	if err != nil {
		return nil, fmt.Errorf("policy response: policyDocument: %w", err)
	}
	if p.HasConditions() {
		// The result is cached across requests: a condition on one
		// request's keys cannot be decided once for all of them.
		return nil, errors.New("policy response: policyDocument: Condition is not supported in authorizer responses")
	}
	res.policy = p
	res.identity.PrincipalID = pid
	return res, nil
}

// parseContext checks the response's context: absent or null gives an
// empty map; otherwise it must be an object. With v1 each value becomes a
// string (strings as they are, other values as their JSON text); null
// values and the reserved key "claims" are dropped.
func parseContext(v any, v1 bool) (map[string]any, error) {
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("context must be an object, got %s", describe(v))
	}
	if !v1 {
		return m, nil
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		switch e := e.(type) {
		case nil:
		case string:
			out[k] = e
		case json.Number:
			out[k] = e.String()
		case bool:
			if e {
				out[k] = "true"
			} else {
				out[k] = "false"
			}
		default:
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(e); err != nil {
				return nil, fmt.Errorf("context %q: %w", k, err)
			}
			out[k] = string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
		}
	}
	delete(out, "claims")
	return out, nil
}

// describe names a decoded JSON value's type for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
