// Package accesslog writes access log lines the way Amazon API Gateway
// (HTTP APIs) writes them: a one-line format of $context variables, compiled
// once per stage, rendered for every finished request, and written by a
// Sink that never blocks the request path.
//
// A Format is immutable and safe for concurrent use. A Sink buffers a
// bounded number of records and drops (and counts) the rest when its writer
// is slow.
package accesslog

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/portico-dev/portico/internal/observe"
)

// The API Gateway console's example formats for HTTP APIs ("Configure
// logging for HTTP APIs in API Gateway"), ready to paste as a stage's
// accessLogSettings.format.
const (
	PresetCLF  = `$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId`
	PresetJSON = `{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod","routeKey":"$context.routeKey", "status":"$context.status","protocol":"$context.protocol", "responseLength":"$context.responseLength" }`
	PresetXML  = `<request id="$context.requestId"> <ip>$context.identity.sourceIp</ip> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <routeKey>$context.routeKey</routeKey> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>`
	PresetCSV  = `$context.identity.sourceIp,$context.requestTime,$context.httpMethod,$context.routeKey,$context.protocol,$context.status,$context.responseLength,$context.requestId`
)

const prefix = "$context."

// escape is how a variable's value is written at its place in the format.
type escape uint8

const (
	escText       escape = iota // free text: "-" when missing, control characters, '"' and '\' escaped
	escJSONString               // inside a JSON string literal: JSON string escaping, "-" when missing
	escJSONBare                 // a JSON value position: numbers bare, strings quoted, null when missing
	escXML                      // XML text or attribute: entities escaped, "-" when missing
)

type segment struct {
	lit string // literal text written before the variable
	v   varID  // the variable, or vNone for a trailing literal
	esc escape
}

// Format is a compiled access log format. The zero value is not usable; get
// one from Compile. A Format is immutable and safe for concurrent use.
type Format struct {
	src  string
	segs []segment
	def  bool // the default JSON record
}

// UnknownVariable is one unknown $context variable in a format.
type UnknownVariable struct {
	Name   string // with its "$context." prefix
	Offset int    // byte offset of the '$' in the format
}

// UnknownVariablesError reports every unknown $context variable of a format,
// in order. The spec layer turns offsets into line:column positions.
type UnknownVariablesError struct {
	Vars []UnknownVariable
}

func (e *UnknownVariablesError) Error() string {
	var b strings.Builder
	b.WriteString("access log format: unknown variable")
	if len(e.Vars) > 1 {
		b.WriteString("s")
	}
	for i, v := range e.Vars {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s (offset %d)", v.Name, v.Offset)
	}
	return b.String()
}

// ErrMissingRequestID is returned for a non-empty format that contains
// neither $context.requestId nor $context.extendedRequestId, which API
// Gateway requires.
var ErrMissingRequestID = errors.New("access log format: must contain $context.requestId")

// ErrMultiline is returned for a format that contains a line break: a format
// is one line, and every record is one line.
var ErrMultiline = errors.New("access log format: must be a single line")

// Compile parses a one-line format of $context variables and literal text
// into a Format. An empty (or all-blank) format means Portico's default JSON
// record (see Format.Append). A variable is "$context." followed by the
// longest run of letters, digits, '_' and '.', without trailing dots.
// Unknown variables are reported together in an *UnknownVariablesError;
// a format without $context.requestId (or $context.extendedRequestId) is
// ErrMissingRequestID; a format with a line break is ErrMultiline.
//
// A format whose first non-blank character is '{' is a JSON template: a
// variable inside a JSON string literal is JSON-escaped, one outside any
// string is written as a JSON value (numbers bare, strings quoted, null when
// missing). A format starting with '<' is an XML template (values
// entity-escaped). Anything else is free text (missing values as "-").
func Compile(format string) (*Format, error) {
	if strings.TrimSpace(format) == "" {
		return &Format{def: true}, nil
	}
	if strings.ContainsAny(format, "\r\n") {
		return nil, ErrMultiline
	}
	f := &Format{src: format}
	var unknown []UnknownVariable
	hasID := false
	lit := 0 // start of the pending literal
	for i := 0; ; {
		j := strings.Index(format[i:], prefix)
		if j < 0 {
			break
		}
		start := i + j
		end := start + len(prefix)
		for end < len(format) && isNameByte(format[end]) {
			end++
		}
		for end > start+len(prefix) && format[end-1] == '.' {
			end--
		}
		name := format[start+len(prefix) : end]
		if name == "" { // "$context." followed by no name: literal text
			i = start + len(prefix)
			continue
		}
		id, ok := lookup(name)
		if !ok {
			unknown = append(unknown, UnknownVariable{Name: prefix + name, Offset: start})
		}
		if id == vRequestID || id == vExtendedRequestID {
			hasID = true
		}
		f.segs = append(f.segs, segment{lit: format[lit:start], v: id})
		lit = end
		i = end
	}
	if len(unknown) > 0 {
		return nil, &UnknownVariablesError{Vars: unknown}
	}
	if !hasID {
		return nil, ErrMissingRequestID
	}
	f.segs = append(f.segs, segment{lit: format[lit:], v: vNone})
	f.assignEscapes()
	return f, nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// assignEscapes decides, from the literal text around each variable, how
// its value is escaped.
func (f *Format) assignEscapes() {
	t := strings.TrimLeft(f.src, " \t")
	switch {
	case strings.HasPrefix(t, "{"):
		inString, escaped := false, false
		for i := range f.segs {
			for k := 0; k < len(f.segs[i].lit); k++ {
				c := f.segs[i].lit[k]
				switch {
				case escaped:
					escaped = false
				case inString && c == '\\':
					escaped = true
				case c == '"':
					inString = !inString
				}
			}
			// A value substituted right after a backslash inside a string
			// is still escaped as string content; the backslash stays the
			// user's.
			escaped = false
			if inString {
				f.segs[i].esc = escJSONString
			} else {
				f.segs[i].esc = escJSONBare
			}
		}
	case strings.HasPrefix(t, "<"):
		for i := range f.segs {
			f.segs[i].esc = escXML
		}
	default:
		for i := range f.segs {
			f.segs[i].esc = escText
		}
	}
}

// String returns the format's source text ("" for the default record).
func (f *Format) String() string { return f.src }

// Append renders r as one line (without a trailing newline) onto dst and
// returns the extended slice. Values never contain line breaks: control
// characters are escaped for the format's context. For the default format
// it writes one compact JSON object with every field of r that is set, named
// after its $context variable without the prefix (e.g. "requestId",
// "routeKey", "status", "ip", "responseLatency"), plus "apiName" and
// "requestLength" for Portico's fields without a variable. Latencies are
// whole milliseconds; requestTime is in CLF (dd/MMM/yyyy:HH:mm:ss +0000,
// UTC) and requestTimeEpoch in milliseconds.
func (f *Format) Append(dst []byte, r *observe.Record) []byte {
	if f.def {
		return appendDefault(dst, r)
	}
	for i := range f.segs {
		s := &f.segs[i]
		dst = append(dst, s.lit...)
		if s.v != vNone {
			dst = appendValue(dst, valueOf(s.v, r), s.esc)
		}
	}
	return dst
}

// Variables returns every $context variable Compile knows, with its
// "$context." prefix, sorted. They are exactly the variables named in
// observe.Record's field comments.
func Variables() []string {
	out := make([]string, 0, len(varNames))
	for name := range varNames {
		out = append(out, prefix+name)
	}
	sort.Strings(out)
	return out
}
