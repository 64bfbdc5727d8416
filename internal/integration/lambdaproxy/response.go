package lambdaproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/portico-dev/portico/internal/httptoken"
)

// Response is the HTTP response a function's result maps to. Header holds
// canonical keys, never framing or hop-by-hop headers (see
// droppedResponseHeader), and always a Content-Type unless the function
// explicitly set it to null.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// DeclaredLength is the function's own Content-Length (a non-negative
	// integer) or -1. It is not sent, except in the answer to a HEAD
	// request, which has no body to measure.
	DeclaredLength int64
}

// headerValue is one response header value as functions send it: a JSON
// string, or a number or boolean, which API Gateway accepts and sends as
// its JSON text (Node's frameworks pass `"content-length": 146` through).
// Objects and arrays are errors.
type headerValue string

func (v *headerValue) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("empty header value")
	case b[0] == '"' && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b):
		*v = headerValue(b[1 : len(b)-1]) // no escapes: the text is the value
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = headerValue(s)
	case b[0] == 't' || b[0] == 'f' || b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*v = headerValue(b)
	default:
		return errors.New("header value is not a string, number or boolean")
	}
	return nil
}

// DefaultContentType is the Content-Type of structured responses (either
// payload format) that set none. See docs/lambda-proxy.md for the evidence.
const DefaultContentType = "text/plain; charset=utf-8"

// inferredContentType is the Content-Type of payload 2.0 responses API
// Gateway infers (valid JSON without statusCode).
const inferredContentType = "application/json"

// errEmpty is returned for an empty payload.
var errEmpty = errors.New("empty response payload")

// DecodeResponseV2 maps a function's payload format 2.0 result to the HTTP
// response. A JSON object with a "statusCode" member is a structured
// response (statusCode, headers, cookies, body, isBase64Encoded;
// multiValueHeaders and unknown members are ignored). Any other valid JSON
// is inferred: 200, Content-Type application/json, and the JSON text as the
// body, except that a JSON string's value is the body. Invalid JSON, an
// empty payload, a statusCode that is not an integer in 100..599, members of
// the wrong type and bodies that are not valid base64 when flagged so are
// errors.
func DecodeResponseV2(payload []byte) (*Response, error) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return nil, errEmpty
	}
	if !json.Valid(p) {
		return nil, errors.New("response payload is not valid JSON")
	}
	switch p[0] {
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(p, &obj); err != nil {
			return nil, fmt.Errorf("response payload: %w", err)
		}
		if _, ok := obj["statusCode"]; ok {
			return decodeStructured(obj, true)
		}
	case '"':
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return nil, fmt.Errorf("response payload: %w", err)
		}
		return inferred([]byte(s)), nil
	}
	return inferred(bytes.Clone(p)), nil
}

func inferred(body []byte) *Response {
	return &Response{
		StatusCode:     http.StatusOK,
		Header:         http.Header{"Content-Type": {inferredContentType}},
		Body:           body,
		DeclaredLength: -1,
	}
}

// DecodeResponseV1 maps a function's payload format 1.0 result to the HTTP
// response. The payload must be a JSON object with an integer statusCode in
// 100..599; headers and multiValueHeaders are merged (for a name in both,
// the multiValueHeaders values come first and the headers value is added
// unless it repeats one of them); body and isBase64Encoded as in 2.0. There
// is no inference and no cookies member.
func DecodeResponseV1(payload []byte) (*Response, error) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return nil, errEmpty
	}
	if p[0] != '{' {
		return nil, errors.New("response payload is not a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(p, &obj); err != nil {
		return nil, fmt.Errorf("response payload: %w", err)
	}
	if _, ok := obj["statusCode"]; !ok {
		return nil, errors.New("response payload: missing statusCode")
	}
	return decodeStructured(obj, false)
}

// decodeStructured decodes a response object; v2 selects the 2.0 members
// (cookies) over the 1.0 ones (multiValueHeaders).
func decodeStructured(obj map[string]json.RawMessage, v2 bool) (*Response, error) {
	status, err := decodeStatus(obj["statusCode"])
	if err != nil {
		return nil, err
	}
	resp := &Response{StatusCode: status, Header: make(http.Header), DeclaredLength: -1}
	noContentType := false // set when the function set Content-Type to null

	var headers map[string]*headerValue
	if err := decodeMember(obj, "headers", &headers); err != nil {
		return nil, err
	}
	var multi map[string][]*headerValue
	if !v2 {
		if err := decodeMember(obj, "multiValueHeaders", &multi); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(multi)) {
		vs := multi[name]
		if !httptoken.Valid(name) {
			continue
		}
		if vs == nil && strings.EqualFold(name, "Content-Type") {
			noContentType = true
		}
		for _, v := range vs {
			if v != nil {
				resp.declare(name, string(*v))
				addHeader(resp.Header, name, string(*v))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		v := headers[name]
		if !httptoken.Valid(name) {
			continue
		}
		if v == nil {
			if strings.EqualFold(name, "Content-Type") {
				noContentType = true
			}
			continue
		}
		if multiHas(multi, name, string(*v)) {
			continue
		}
		resp.declare(name, string(*v))
		addHeader(resp.Header, name, string(*v))
	}

	if v2 {
		var cookies []*string
		if err := decodeMember(obj, "cookies", &cookies); err != nil {
			return nil, err
		}
		for _, c := range cookies {
			if c != nil {
				addHeader(resp.Header, "Set-Cookie", *c)
			}
		}
	}

	var body *string
	if err := decodeMember(obj, "body", &body); err != nil {
		return nil, err
	}
	var b64 *bool
	if err := decodeMember(obj, "isBase64Encoded", &b64); err != nil {
		return nil, err
	}
	if body != nil {
		if b64 != nil && *b64 {
			resp.Body, err = decodeBase64(*body)
			if err != nil {
				return nil, err
			}
		} else {
			resp.Body = []byte(*body)
		}
	}
	// A 204 has no body to describe: none is invented (HTTP APIs send a
	// function's 204 without Content-Type).
	if len(resp.Header["Content-Type"]) == 0 && !noContentType && status != http.StatusNoContent {
		resp.Header["Content-Type"] = []string{DefaultContentType}
	}
	return resp, nil
}

// decodeStatus accepts a JSON integer in 100..599.
func decodeStatus(raw json.RawMessage) (int, error) {
	var n json.Number
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) || json.Unmarshal(raw, &n) != nil {
		return 0, fmt.Errorf("response statusCode %s: not a number", truncate(raw))
	}
	v, err := n.Int64()
	if err != nil || v < 100 || v > 599 {
		return 0, fmt.Errorf("response statusCode %s: not an integer in 100..599", truncate(raw))
	}
	return int(v), nil
}

// decodeMember decodes obj[key] into dst; absent and null leave dst zero.
func decodeMember(obj map[string]json.RawMessage, key string, dst any) error {
	raw, ok := obj[key]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("response %s: wrong type: %s", key, truncate(raw))
	}
	return nil
}

// decodeBase64 decodes standard base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err == nil {
		return b, nil
	}
	if len(s)%4 != 0 && !strings.HasSuffix(s, "=") {
		if b, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("response body: isBase64Encoded but %w", err)
}

// declare keeps the function's Content-Length for the answer to HEAD.
func (r *Response) declare(name, value string) {
	if r.DeclaredLength >= 0 || !strings.EqualFold(name, "Content-Length") {
		return
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err == nil && n >= 0 {
		r.DeclaredLength = n
	}
}

func multiHas(multi map[string][]*headerValue, name, v string) bool {
	for k, vs := range multi {
		if !strings.EqualFold(k, name) {
			continue
		}
		for _, mv := range vs {
			if mv != nil && string(*mv) == v {
				return true
			}
		}
	}
	return false
}

// addHeader adds a function-supplied header unless it is one the gateway
// owns (framing and hop-by-hop headers) or its value could not be sent
// (CR, LF or other control characters): such headers are dropped.
func addHeader(h http.Header, name, value string) {
	if droppedResponseHeader(name) || !validHeaderValue(value) {
		return
	}
	h.Add(name, value)
}

// droppedResponseHeader reports whether a function may not set name: the
// gateway frames the response itself (Content-Length of the decoded body,
// its own connection management), so these are never copied.
func droppedResponseHeader(name string) bool {
	switch strings.ToLower(name) {
	case "content-length", "transfer-encoding", "connection", "keep-alive",
		"proxy-connection", "te", "trailer", "upgrade":
		return true
	}
	return false
}

// validHeaderValue reports whether v can be sent as a header value: no
// control characters other than horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// truncate shortens raw JSON for error messages.
func truncate(raw []byte) string {
	const max = 64
	if len(raw) > max {
		return string(raw[:max]) + "..."
	}
	return string(raw)
}
