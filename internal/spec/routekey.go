package spec

import (
	"fmt"
	"regexp"
	"strings"
)

// DefaultRouteKey is the key of the catch-all route.
const DefaultRouteKey = "$default"

// Methods are the methods a route key may name, ANY first.
var routeMethods = []string{"ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// pathVarName is AWS's rule for a path part inside braces.
var pathVarName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// ParseRouteKey parses an HTTP API route key: "$default" or "METHOD /path",
// with exactly one space between them. It is the only parser of route keys
// in Portico.
//
// For "$default" it returns "", "", nil. Otherwise method is one of ANY GET
// POST PUT PATCH DELETE HEAD OPTIONS (upper case), and path starts with "/",
// has no trailing "/" (except the root "/"), no empty segments, and each
// segment is either literal text (no braces, whitespace, "?" or "#"), a
// variable "{name}" or, as the last segment only, a greedy variable
// "{name+}"; names match [A-Za-z0-9._-]+ and are unique within the path.
// Errors are lower-case sentences without position.
func ParseRouteKey(key string) (method, path string, err error) {
	if key == DefaultRouteKey {
		return "", "", nil
	}
	method, path, ok := strings.Cut(key, " ")
	if !ok || method == "" {
		return "", "", fmt.Errorf("route key %q: want \"$default\" or \"METHOD /path\"", key)
	}
	if !isRouteMethod(method) {
		hint := ""
		if isRouteMethod(strings.ToUpper(method)) {
			hint = fmt.Sprintf(" (methods are upper case: %s)", strings.ToUpper(method))
		}
		return "", "", fmt.Errorf("route key %q: unknown method %q%s; want one of %s", key, method, hint, strings.Join(routeMethods, " "))
	}
	if err := checkRoutePath(path); err != nil {
		return "", "", fmt.Errorf("route key %q: %w", key, err)
	}
	return method, path, nil
}

func isRouteMethod(m string) bool {
	for _, x := range routeMethods {
		if m == x {
			return true
		}
	}
	return false
}

func checkRoutePath(path string) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("path must start with \"/\"")
	}
	if path == "/" {
		return nil
	}
	if strings.HasSuffix(path, "/") {
		return fmt.Errorf("path must not end with \"/\"")
	}
	segs := strings.Split(path[1:], "/")
	seen := map[string]bool{}
	for i, seg := range segs {
		switch {
		case seg == "":
			return fmt.Errorf("path has an empty segment")
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			name := seg[1 : len(seg)-1]
			greedy := strings.HasSuffix(name, "+")
			name = strings.TrimSuffix(name, "+")
			if !pathVarName.MatchString(name) {
				return fmt.Errorf("path variable %s: name must match [A-Za-z0-9._-]+", seg)
			}
			if greedy && i != len(segs)-1 {
				return fmt.Errorf("greedy path variable %s must be the last segment", seg)
			}
			if seen[name] {
				return fmt.Errorf("path variable {%s} appears twice", name)
			}
			seen[name] = true
		case strings.ContainsAny(seg, "{}"):
			return fmt.Errorf("path segment %q: a variable must be a whole segment, {name} or {name+}", seg)
		case strings.ContainsAny(seg, "?# \t\r\n"):
			return fmt.Errorf("path segment %q must not contain whitespace, \"?\" or \"#\"", seg)
		}
	}
	return nil
}

// routeShape is the path with variable names erased, so that routes which
// match the same requests compare equal: /a/{x} and /a/{y} are both /a/{}.
func routeShape(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}") {
			segs[i] = "{+}"
		} else if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// pathVars returns the variable names of a parsed route path, greedy ones
// without their "+".
func pathVars(path string) map[string]bool {
	vars := map[string]bool{}
	for _, s := range strings.Split(path, "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			vars[strings.TrimSuffix(s[1:len(s)-1], "+")] = true
		}
	}
	return vars
}
