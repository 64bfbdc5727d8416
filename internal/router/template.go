package router

import (
	"errors"
	"fmt"
	"strings"
)

// Method slots. A route's method is stored in the slot of its method; ANY
// routes in slotANY. Request methods outside this set only reach ANY routes.
const (
	slotANY = iota
	slotGET
	slotPOST
	slotPUT
	slotPATCH
	slotDELETE
	slotHEAD
	slotOPTIONS
	nSlots
)

// methodNames are the route methods HTTP APIs accept, indexed by slot.
var methodNames = [nSlots]string{"ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// routeSlot returns the slot of a route's method, which must be spelled
// exactly as in methodNames (upper case).
func routeSlot(method string) (int, error) {
	for i, name := range methodNames {
		if method == name {
			return i, nil
		}
	}
	if method == "" {
		return 0, errors.New("method is empty (both method and path must be empty for the $default route)")
	}
	for _, name := range methodNames {
		if strings.EqualFold(method, name) {
			return 0, fmt.Errorf("method %q must be upper case (%s)", method, name)
		}
	}
	return 0, fmt.Errorf("method %q is not one of %s", method, strings.Join(methodNames[:], ", "))
}

// requestSlot returns the slot of a request method, compared without regard
// to ASCII case, or -1 when the method has no slot of its own (then only ANY
// routes match it). A request method "ANY" is not special: it gets -1 too.
func requestSlot(method string) int {
	for i := slotGET; i < nSlots; i++ {
		if asciiEqualFold(method, methodNames[i]) {
			return i
		}
	}
	return -1
}

// asciiEqualFold reports whether s and upper (an upper-case ASCII word) are
// equal under ASCII case folding only.
func asciiEqualFold(s, upper string) bool {
	if len(s) != len(upper) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// segKind is the kind of one template segment. The order is the specificity
// order used for tie-breaks: a higher kind is more specific.
type segKind uint8

const (
	kindGreedy  segKind = iota // {name+}: one or more remaining segments
	kindVar                    // {name}: exactly one non-empty segment
	kindLiteral                // literal text, compared with the decoded segment
)

// tmplSeg is one segment of a parsed path template: a literal's text or a
// variable's name.
type tmplSeg struct {
	kind segKind
	text string
}

// parseTemplate splits a route path template into segments and checks it:
// it starts with "/", is "/" or has no trailing "/", has no empty segments,
// each variable is a whole segment named with [A-Za-z0-9._-], names are
// unique, a greedy variable is last, and literals hold only RFC 3986 path
// characters other than "%" (they are compared with decoded request
// segments, so they are written decoded).
func parseTemplate(path string) ([]tmplSeg, error) {
	if path == "" {
		return nil, errors.New("path is empty (both method and path must be empty for the $default route)")
	}
	if path[0] != '/' {
		return nil, fmt.Errorf("path %q must start with \"/\"", path)
	}
	if path == "/" {
		return nil, nil
	}
	if path[len(path)-1] == '/' {
		return nil, fmt.Errorf("path %q must not end with \"/\"", path)
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]tmplSeg, 0, len(parts))
	for i, part := range parts {
		s, err := parseSegment(part)
		if err != nil {
			return nil, fmt.Errorf("path %q: segment %d: %w", path, i+1, err)
		}
		if s.kind == kindGreedy && i != len(parts)-1 {
			return nil, fmt.Errorf("path %q: greedy variable {%s+} must be the last segment", path, s.text)
		}
		if s.kind != kindLiteral {
			for _, prev := range segs {
				if prev.kind != kindLiteral && prev.text == s.text {
					return nil, fmt.Errorf("path %q: variable %q appears twice", path, s.text)
				}
			}
		}
		segs = append(segs, s)
	}
	return segs, nil
}

// parseSegment parses one template segment.
func parseSegment(part string) (tmplSeg, error) {
	if part == "" {
		return tmplSeg{}, errors.New("empty segment")
	}
	if part[0] == '{' && part[len(part)-1] == '}' {
		name := part[1 : len(part)-1]
		kind := kindVar
		if strings.HasSuffix(name, "+") {
			name, kind = name[:len(name)-1], kindGreedy
		}
		if name == "" {
			return tmplSeg{}, fmt.Errorf("variable %q has no name", part)
		}
		for i := 0; i < len(name); i++ {
			if name[i] >= 0x80 {
				return tmplSeg{}, fmt.Errorf("variable %q: non-ASCII character in name (want A-Z a-z 0-9 . _ -)", part)
			}
			if !isNameByte(name[i]) {
				return tmplSeg{}, fmt.Errorf("variable %q: invalid character %q in name (want A-Z a-z 0-9 . _ -)", part, rune(name[i]))
			}
		}
		return tmplSeg{kind: kind, text: name}, nil
	}
	if part == "." || part == ".." {
		return tmplSeg{}, fmt.Errorf("dot segment %q", part)
	}
	for i := 0; i < len(part); i++ {
		c := part[i]
		switch {
		case c == '{' || c == '}':
			return tmplSeg{}, fmt.Errorf("%q: a variable must be a whole segment such as {name} or {name+}", part)
		case c == '%':
			return tmplSeg{}, fmt.Errorf("%q: \"%%\" is not allowed; write literals decoded", part)
		case c >= 0x80:
			return tmplSeg{}, fmt.Errorf("%q: non-ASCII characters are not allowed", part)
		case !isLiteralByte(c):
			return tmplSeg{}, fmt.Errorf("%q: invalid character %q", part, c)
		}
	}
	return tmplSeg{kind: kindLiteral, text: part}, nil
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// isLiteralByte reports whether c is an RFC 3986 pchar other than "%":
// unreserved, sub-delims, ":" or "@".
func isLiteralByte(c byte) bool {
	if isNameByte(c) || c == '~' {
		return true
	}
	return strings.IndexByte("!$&'()*+,;=:@", c) >= 0
}
