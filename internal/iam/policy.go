// Package iam parses IAM policy documents and evaluates them the way AWS
// does for identity-based policies: a request is allowed when some statement
// allows it and no statement explicitly denies it.
//
// Supported: Version "2012-10-17" and "2008-10-17" (a missing Version means
// "2008-10-17", as in AWS); Statement as one object or an array; Sid;
// Effect "Allow" | "Deny"; Action or NotAction; Resource or NotResource,
// each a string or an array of strings, with the wildcards * (any run of
// characters, including none) and ? (exactly one character). Actions match
// case-insensitively, resources case-sensitively.
//
// Principal and NotPrincipal are parsed and kept (trust policies such as a
// role's assume-role policy need them) but Evaluate ignores them: it answers
// for an identity policy, whose principal is the caller. A statement with a
// Principal may omit Resource (the resource is the one the policy is
// attached to); it then matches every resource.
//
// Condition blocks are evaluated (condition.go) against the keys of the
// request (Keys): the string, numeric, date, Bool, IP address, ARN and Null
// operators, each with the IfExists suffix and the ForAnyValue: and
// ForAllValues: qualifiers, over the keys listed in SupportedKeys.
//
// Not supported, and rejected by ParsePolicy with an error naming the
// statement: other condition operators (Binary...) and keys, and policy
// variables (${...}) in Version 2012-10-17 resources and condition values.
// Rejecting is deliberate: ignoring a condition would silently widen an
// Allow or narrow a Deny.
//
// Policies are immutable after parsing and safe for concurrent use.
package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Decision is the outcome of evaluating policies for one request.
type Decision int

const (
	// NotApplicable means no statement matched: an implicit deny.
	NotApplicable Decision = iota
	// Allow means an Allow statement matched and no Deny did.
	Allow
	// Deny means a Deny statement matched (explicit deny).
	Deny
)

// String returns "NotApplicable", "Allow" or "Deny".
func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	default:
		return "NotApplicable"
	}
}

// Policy is a parsed policy document.
type Policy struct {
	// Version is "2012-10-17" or "2008-10-17".
	Version string
	// ID is the optional top-level "Id".
	ID         string
	Statements []Statement
}

// Statement is one parsed policy statement.
type Statement struct {
	Sid    string
	Effect Decision // Allow or Deny
	// Actions holds the Action patterns, or the NotAction patterns when
	// NotAction is true.
	Actions   []string
	NotAction bool
	// Resources holds the Resource patterns, or the NotResource patterns
	// when NotResource is true. Empty (with NotResource false) only for
	// statements with a Principal that omit Resource: matches everything.
	Resources   []string
	NotResource bool
	// Principal is the raw Principal or NotPrincipal value ("*" or a map
	// such as {"Service": "lambda.amazonaws.com"}), nil when absent.
	Principal    any
	NotPrincipal bool
	// conditions are the parsed Condition block, all of which must hold
	// for the statement to apply.
	conditions []clause
}

// ParsePolicy parses a policy document. doc is either a decoded document
// (map[string]any as encoding/json or gopkg.in/yaml.v3 produce it) or its
// JSON text (string, []byte or json.RawMessage). Errors name the statement
// and field that is wrong.
func ParsePolicy(doc any) (*Policy, error) {
	m, err := asDocument(doc)
	if err != nil {
		return nil, err
	}
	p := &Policy{Version: "2008-10-17"}
	var stmts any
	haveStmt := false
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "Version":
			s, ok := v.(string)
			if !ok || (s != "2012-10-17" && s != "2008-10-17") {
				return nil, within(fmt.Errorf("policy: Version must be \"2012-10-17\" or \"2008-10-17\", got %v", describe(v)), k)
			}
			p.Version = s
		case "Id":
			s, ok := v.(string)
			if !ok {
				return nil, within(fmt.Errorf("policy: Id must be a string, got %v", describe(v)), k)
			}
			p.ID = s
		case "Statement":
			stmts, haveStmt = v, true
		default:
			return nil, within(fmt.Errorf("policy: unknown field %q (want Version, Id, Statement)", k), k)
		}
	}
	if !haveStmt {
		return nil, errors.New("policy: Statement is missing")
	}
	var list []any
	switch s := stmts.(type) {
	case map[string]any:
		list = []any{s}
	case []any:
		list = s
	default:
		return nil, within(fmt.Errorf("policy: Statement must be an object or an array, got %v", describe(stmts)), "Statement")
	}
	if len(list) == 0 {
		return nil, within(errors.New("policy: Statement is empty"), "Statement")
	}
	_, isList := stmts.([]any)
	for i, raw := range list {
		path := []any{"Statement"}
		if isList {
			path = append(path, i)
		}
		sm, ok := raw.(map[string]any)
		if !ok {
			return nil, within(fmt.Errorf("policy: statement %d: must be an object, got %v", i, describe(raw)), path...)
		}
		st, err := parseStatement(sm, p.Version)
		if err != nil {
			err = within(err, path...)
			if sid, _ := sm["Sid"].(string); sid != "" {
				return nil, fmt.Errorf("policy: statement %d (%s): %w", i, sid, err)
			}
			return nil, fmt.Errorf("policy: statement %d: %w", i, err)
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func asDocument(doc any) (map[string]any, error) {
	var text []byte
	switch d := doc.(type) {
	case map[string]any:
		return d, nil
	case string:
		text = []byte(d)
	case []byte:
		text = d
	case json.RawMessage:
		text = d
	case nil:
		return nil, errors.New("policy: document is empty")
	default:
		return nil, fmt.Errorf("policy: document must be an object or JSON text, got %v", describe(doc))
	}
	var v any
	if err := json.Unmarshal(text, &v); err != nil {
		return nil, fmt.Errorf("policy: decode JSON: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("policy: document must be a JSON object, got %v", describe(v))
	}
	return m, nil
}

func parseStatement(m map[string]any, version string) (Statement, error) {
	var st Statement
	var haveEffect, haveAction, haveResource, havePrincipal bool
	for _, k := range sortedKeys(m) {
		v := m[k]
		var err error
		switch k {
		case "Sid":
			s, ok := v.(string)
			if !ok {
				return st, within(fmt.Errorf("Sid must be a string, got %v", describe(v)), k)
			}
			st.Sid = s
		case "Effect":
			switch v {
			case "Allow":
				st.Effect = Allow
			case "Deny":
				st.Effect = Deny
			default:
				return st, within(fmt.Errorf("Effect must be \"Allow\" or \"Deny\", got %v", describe(v)), k)
			}
			haveEffect = true
		case "Action", "NotAction":
			if haveAction {
				return st, within(errors.New("has both Action and NotAction"), k)
			}
			haveAction, st.NotAction = true, k == "NotAction"
			if st.Actions, err = stringList(k, v); err != nil {
				return st, within(err, k)
			}
			for _, a := range st.Actions {
				if a != "*" && !validAction(a) {
					return st, within(fmt.Errorf("%s %q: want \"service:name\" (wildcards allowed) or \"*\"", k, a), k)
				}
			}
		case "Resource", "NotResource":
			if haveResource {
				return st, within(errors.New("has both Resource and NotResource"), k)
			}
			haveResource, st.NotResource = true, k == "NotResource"
			if st.Resources, err = stringList(k, v); err != nil {
				return st, within(err, k)
			}
			for _, r := range st.Resources {
				if r != "*" && !strings.HasPrefix(r, "arn:") {
					return st, within(fmt.Errorf("%s %q: want an ARN (wildcards allowed) or \"*\"", k, r), k)
				}
				if version == "2012-10-17" && strings.Contains(r, "${") {
					return st, within(fmt.Errorf("%s %q: policy variables are not supported", k, r), k)
				}
			}
		case "Principal", "NotPrincipal":
			if havePrincipal {
				return st, within(errors.New("has both Principal and NotPrincipal"), k)
			}
			if err := validPrincipal(v); err != nil {
				return st, within(fmt.Errorf("%s: %w", k, err), k)
			}
			havePrincipal, st.NotPrincipal, st.Principal = true, k == "NotPrincipal", v
		case "Condition":
			if st.conditions, err = parseCondition(v, version); err != nil {
				return st, within(err, k)
			}
		default:
			return st, within(fmt.Errorf("unknown field %q", k), k)
		}
	}
	switch {
	case !haveEffect:
		return st, errors.New("Effect is missing")
	case !haveAction:
		return st, errors.New("Action (or NotAction) is missing")
	case !haveResource && !havePrincipal:
		return st, errors.New("Resource (or NotResource) is missing")
	}
	return st, nil
}

// PathError is a ParsePolicy error with the place in the document it is
// about, from the top: field names and, when Statement is an array, the
// statement's index (for example "Statement", 0, "Condition", "Bool",
// "aws:SecureTransport"). Its message is the wrapped error's.
type PathError struct {
	Path []any
	Err  error
}

func (e *PathError) Error() string { return e.Err.Error() }
func (e *PathError) Unwrap() error { return e.Err }

// within places err under path: it prefixes the path of a PathError err
// already holds, or wraps err in a new one.
func within(err error, path ...any) error {
	var pe *PathError
	if errors.As(err, &pe) {
		pe.Path = append(append([]any{}, path...), pe.Path...)
		return err
	}
	return &PathError{Path: path, Err: err}
}

func validAction(a string) bool {
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" {
		return false
	}
	for _, c := range svc {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '*' || c == '?') {
			return false
		}
	}
	return true
}

func validPrincipal(v any) error {
	switch p := v.(type) {
	case string:
		if p != "*" {
			return fmt.Errorf("string value must be \"*\", got %q", p)
		}
		return nil
	case map[string]any:
		if len(p) == 0 {
			return errors.New("is empty")
		}
		for k, e := range p {
			switch k {
			case "AWS", "Service", "Federated", "CanonicalUser":
			default:
				return fmt.Errorf("unknown principal type %q (want AWS, Service, Federated or CanonicalUser)", k)
			}
			if _, err := stringList(k, e); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("must be \"*\" or an object, got %v", describe(v))
	}
}

func stringList(field string, v any) ([]string, error) {
	switch s := v.(type) {
	case string:
		if s == "" {
			return nil, fmt.Errorf("%s must not be empty", field)
		}
		return []string{s}, nil
	case []any:
		if len(s) == 0 {
			return nil, fmt.Errorf("%s must not be an empty array", field)
		}
		out := make([]string, 0, len(s))
		for _, e := range s {
			str, ok := e.(string)
			if !ok || str == "" {
				return nil, fmt.Errorf("%s entries must be non-empty strings, got %v", field, describe(e))
			}
			out = append(out, str)
		}
		return out, nil
	case []string:
		return stringList(field, toAny(s))
	default:
		return nil, fmt.Errorf("%s must be a string or an array of strings, got %v", field, describe(v))
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", v)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return fmt.Sprintf("%T %v", v, v)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Evaluate decides action (such as "s3:GetObject") on resource (an ARN)
// under p alone, for a request without condition keys: Deny if a matching
// Deny statement exists, else Allow if a matching Allow statement exists,
// else NotApplicable.
func (p *Policy) Evaluate(action, resource string) Decision {
	return p.EvaluateWith(action, resource, nil)
}

// EvaluateWith is Evaluate for a request whose condition keys are keys: a
// statement applies when its action and resource match and all of its
// conditions hold.
func (p *Policy) EvaluateWith(action, resource string, keys Keys) Decision {
	if p == nil {
		return NotApplicable
	}
	d := NotApplicable
	for i := range p.Statements {
		st := &p.Statements[i]
		if !st.matches(action, resource) || !holds(st.conditions, keys) {
			continue
		}
		if st.Effect == Deny {
			return Deny
		}
		d = Allow
	}
	return d
}

// Evaluate decides action on resource under several policies together (a
// role's attached and inline policies): Deny if any policy denies, else
// Allow if any allows, else NotApplicable (implicit deny). Nil policies are
// skipped.
func Evaluate(policies []*Policy, action, resource string) Decision {
	return EvaluateWith(policies, action, resource, nil)
}

// EvaluateWith is Evaluate for a request whose condition keys are keys.
func EvaluateWith(policies []*Policy, action, resource string, keys Keys) Decision {
	d := NotApplicable
	for _, p := range policies {
		switch p.EvaluateWith(action, resource, keys) {
		case Deny:
			return Deny
		case Allow:
			d = Allow
		}
	}
	return d
}

func (st *Statement) matches(action, resource string) bool {
	am := false
	for _, a := range st.Actions {
		if matchFold(a, action) {
			am = true
			break
		}
	}
	if am == st.NotAction {
		return false
	}
	if len(st.Resources) == 0 && !st.NotResource {
		return true
	}
	rm := false
	for _, r := range st.Resources {
		if Match(r, resource) {
			rm = true
			break
		}
	}
	return rm != st.NotResource
}

func matchFold(pattern, s string) bool {
	return Match(strings.ToLower(pattern), strings.ToLower(s))
}

// Match reports whether s matches pattern, where * matches any run of
// characters (including none, and including ':' and '/') and ? matches
// exactly one character. Matching is case-sensitive and byte-wise except
// that ? consumes one whole UTF-8 character.
func Match(pattern, s string) bool {
	// Iterative glob with single backtrack point: linear-ish, no recursion.
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pattern) {
			switch c := pattern[pi]; c {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				pi++
				si += runeLen(s[si:])
				continue
			default:
				if c == s[si] {
					pi++
					si++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS += runeLen(s[starS:])
		pi, si = starP+1, starS
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

func runeLen(s string) int {
	for i := range s {
		if i > 0 {
			return i
		}
	}
	return len(s)
}
