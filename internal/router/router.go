// Package router is the compiled route table of one HTTP API deployment: it
// maps a request's method and stage-relative path to the most specific route,
// as API Gateway HTTP APIs do, with {var} and {var+} path variables, ANY and
// the $default route.
//
// The gateway picks the stage and strips its prefix before calling Match; the
// table knows nothing of stages. A Table is built once by New from validated
// method and path templates, is immutable afterwards and is safe for
// concurrent use. Matching walks a segment trie, so its cost grows with the
// number of path segments, not with the number of routes.
//
// Selection order (see docs/routing.md for the sources and the guesses):
//  1. a full match of literal and {var} segments;
//  2. a match through a greedy {var+} variable;
//  3. the $default route.
//
// Within 1 and 2, templates are compared segment by segment from the left,
// literal > {var} > {var+}; for the same path an explicit method beats ANY.
package router

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Route is one entry of a table. Method is ANY or an upper-case HTTP method
// (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS); Path is a template such as
// "/pets/{id}" or "/files/{path+}"; both are empty for the $default route.
// Key is the route key, used only to name the route in errors. Value is the
// caller's payload (e.g. the compiled integration).
type Route[T any] struct {
	Key          string
	Method, Path string
	Value        T
}

// label names r in error messages.
func (r *Route[T]) label() string {
	switch {
	case r.Key != "":
		return r.Key
	case r.Method == "" && r.Path == "":
		return "$default"
	default:
		return r.Method + " " + r.Path
	}
}

// Param is one path parameter: a template variable's name and the decoded
// value it matched.
type Param struct{ Name, Value string }

// Params are the path parameters of a match, in template order (a greedy
// variable, if any, last). A match without variables has nil Params.
type Params []Param

// Get returns the value of the parameter called name, or "" if there is none.
func (ps Params) Get(name string) string {
	for _, p := range ps {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Map returns the parameters as a map from name to value, or nil when there
// are none (as the pathParameters of a Lambda event are absent then).
func (ps Params) Map() map[string]string {
	if len(ps) == 0 {
		return nil
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Name] = p.Value
	}
	return m
}

// Table is a compiled route table. It is immutable after New and safe for
// concurrent use.
type Table[T any] struct {
	routes []Route[T] // the table's own copy; Match returns pointers into it
	root   *node[T]
	def    *Route[T] // the $default route, or nil
}

// entry is a route as stored in the trie, with the names of its variables in
// template order.
type entry[T any] struct {
	route *Route[T]
	names []string
}

// methodSet holds the routes that end at one place in the trie, by method slot.
type methodSet[T any] [nSlots]*entry[T]

// lookup returns the route for request slot m: the explicit method's if there
// is one, else ANY's, else nil. s may be nil.
func (s *methodSet[T]) lookup(m int) *entry[T] {
	if s == nil {
		return nil
	}
	if m > slotANY {
		if e := s[m]; e != nil {
			return e
		}
	}
	return s[slotANY]
}

// node is a trie node: the path so far is the literal and variable segments
// leading to it.
type node[T any] struct {
	static map[string]*node[T] // literal children, by decoded text
	param  *node[T]            // the {var} child, whatever its name
	end    *methodSet[T]       // routes whose template ends here
	greedy *methodSet[T]       // routes whose template is this node + /{var+}
	// greedyBelow reports whether this node or a descendant has greedy
	// routes, to prune the greedy pass.
	greedyBelow bool
}

// New compiles routes into a table. It copies routes; Match returns pointers
// to the copies, which callers must not modify. The error, if any, joins one
// error per bad route: malformed methods or templates, a second $default
// route, or a route whose method and path shape (variable names aside)
// another route already has.
func New[T any](routes []Route[T]) (*Table[T], error) {
	t := &Table[T]{routes: slices.Clone(routes), root: &node[T]{}}
	var errs []error
	for i := range t.routes {
		r := &t.routes[i]
		if r.Method == "" && r.Path == "" {
			if t.def != nil {
				errs = append(errs, fmt.Errorf("route %q: duplicate $default route (first: %q)", r.label(), t.def.label()))
				continue
			}
			t.def = r
			continue
		}
		slot, merr := routeSlot(r.Method)
		segs, perr := parseTemplate(r.Path)
		if merr != nil || perr != nil {
			for _, err := range []error{merr, perr} {
				if err != nil {
					errs = append(errs, fmt.Errorf("route %q: %w", r.label(), err))
				}
			}
			continue
		}
		if err := t.insert(r, slot, segs); err != nil {
			errs = append(errs, fmt.Errorf("route %q: %w", r.label(), err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	markGreedy(t.root)
	return t, nil
}

// insert adds route r, of method slot and parsed template segs, to the trie.
func (t *Table[T]) insert(r *Route[T], slot int, segs []tmplSeg) error {
	e := &entry[T]{route: r}
	n := t.root
	set := &n.end
	for _, s := range segs {
		switch s.kind {
		case kindLiteral:
			if n.static == nil {
				n.static = make(map[string]*node[T])
			}
			c := n.static[s.text]
			if c == nil {
				c = &node[T]{}
				n.static[s.text] = c
			}
			n, set = c, &c.end
		case kindVar:
			if n.param == nil {
				n.param = &node[T]{}
			}
			n, set = n.param, &n.param.end
			e.names = append(e.names, s.text)
		case kindGreedy:
			set = &n.greedy
			e.names = append(e.names, s.text)
		}
	}
	if *set == nil {
		*set = new(methodSet[T])
	}
	if prev := (*set)[slot]; prev != nil {
		return fmt.Errorf("conflicts with route %q (same method and path, variable names aside)", prev.route.label())
	}
	(*set)[slot] = e
	return nil
}

// markGreedy sets greedyBelow throughout the subtree of n and returns n's.
func markGreedy[T any](n *node[T]) bool {
	below := n.greedy != nil
	for _, c := range n.static {
		if markGreedy(c) {
			below = true
		}
	}
	if n.param != nil && markGreedy(n.param) {
		below = true
	}
	n.greedyBelow = below
	return below
}

// Match finds the route for method and the stage-relative path as the client
// sent it (still percent-encoded, query removed). A trailing "/" is ignored
// and "" means "/". The path is split on "/" before each segment is
// percent-decoded, so an encoded "/" stays inside its segment; literals are
// compared with decoded segments and params hold decoded values (a greedy
// value is the decoded remainder, without its leading "/"). Methods are
// compared without regard to ASCII case; HEAD is not GET.
//
// ok is false when nothing matched, and also, even with a $default route,
// when rawPath does not start with "/" or holds an invalid percent escape; the
// gateway answers 404 then. The returned route must not be modified.
//
// Match allocates nothing unless the path has escapes or the route has
// variables; then it allocates the decoded strings and one Params slice.
func (t *Table[T]) Match(method, rawPath string) (r *Route[T], params Params, ok bool) {
	p := rawPath
	if p != "" {
		if p[0] != '/' {
			return nil, nil, false
		}
		// Ignore one trailing slash; "/" itself becomes "", the root.
		if p[len(p)-1] == '/' {
			p = p[:len(p)-1]
		}
	}
	esc := strings.IndexByte(p, '%') >= 0
	if esc && !validEscapes(p) {
		return nil, nil, false
	}
	m := requestSlot(method)
	if e, ps := t.root.matchFull(p, 0, m, esc, 0); e != nil {
		return e.route, ps, true
	}
	if t.root.greedyBelow {
		if e, ps := t.root.matchGreedy(p, 0, m, esc, 0); e != nil {
			return e.route, ps, true
		}
	}
	if t.def != nil {
		return t.def, nil, true
	}
	return nil, nil, false
}

// nextSegment returns the raw segment that starts after the "/" at p[i] and
// the index just past it (the next "/" or len(p)).
func nextSegment(p string, i int) (raw string, j int) {
	j = strings.IndexByte(p[i+1:], '/')
	if j < 0 {
		j = len(p)
	} else {
		j += i + 1
	}
	return p[i+1 : j], j
}

// segment decodes raw if the path has escapes.
func segment(raw string, esc bool) string {
	if esc {
		return unescape(raw)
	}
	return raw
}

// newParams allocates the params of e, names filled in, or returns nil.
func newParams[T any](e *entry[T]) Params {
	if len(e.names) == 0 {
		return nil
	}
	ps := make(Params, len(e.names))
	for i, name := range e.names {
		ps[i].Name = name
	}
	return ps
}

// matchFull finds the most specific route that matches all of p[i:] with
// literal and {var} segments, for request slot m. vi is the index of the next
// variable. It tries the literal child before the {var} child, so the first
// route found is the most specific one, and fills in the variables' values as
// it returns.
func (n *node[T]) matchFull(p string, i, m int, esc bool, vi int) (*entry[T], Params) {
	if i == len(p) {
		if e := n.end.lookup(m); e != nil {
			return e, newParams(e)
		}
		return nil, nil
	}
	raw, j := nextSegment(p, i)
	seg := segment(raw, esc)
	if c := n.static[seg]; c != nil {
		if e, ps := c.matchFull(p, j, m, esc, vi); e != nil {
			return e, ps
		}
	}
	if n.param != nil && seg != "" {
		if e, ps := n.param.matchFull(p, j, m, esc, vi+1); e != nil {
			ps[vi].Value = seg
			return e, ps
		}
	}
	return nil, nil
}

// matchGreedy finds the most specific route that matches p[i:] through a
// greedy variable, trying at each node the literal child, then the {var}
// child, then the node's own greedy routes. A greedy variable needs at least
// one remaining segment, and the first of them must not be empty.
func (n *node[T]) matchGreedy(p string, i, m int, esc bool, vi int) (*entry[T], Params) {
	if i == len(p) || !n.greedyBelow {
		return nil, nil
	}
	raw, j := nextSegment(p, i)
	seg := segment(raw, esc)
	if c := n.static[seg]; c != nil {
		if e, ps := c.matchGreedy(p, j, m, esc, vi); e != nil {
			return e, ps
		}
	}
	if seg == "" {
		return nil, nil
	}
	if n.param != nil {
		if e, ps := n.param.matchGreedy(p, j, m, esc, vi+1); e != nil {
			ps[vi].Value = seg
			return e, ps
		}
	}
	if e := n.greedy.lookup(m); e != nil {
		ps := newParams(e)
		ps[len(ps)-1].Value = segment(p[i+1:], esc)
		return e, ps
	}
	return nil, nil
}

// validEscapes reports whether every "%" in p starts a "%XX" hex escape.
func validEscapes(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] == '%' {
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// unescape decodes the "%XX" escapes of s, which validEscapes accepted. It
// returns s itself when there are none.
func unescape(s string) string {
	k := strings.IndexByte(s, '%')
	if k < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:k])
	for i := k; i < len(s); i++ {
		if s[i] == '%' {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
