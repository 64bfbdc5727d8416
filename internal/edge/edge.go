// Package edge holds the one error type that crosses the gateway's request
// pipeline and the single place where it is rendered to the client.
//
// Every stage of the pipeline (routing, authorization, throttling,
// integrations) returns errors instead of writing them. The gateway renders
// the first one it gets with Render, so clients always see API Gateway's
// exact status codes and bodies, and the cause is kept for the logs only.
package edge

import (
	"errors"
	"net/http"
	"strconv"
)

// Kind is a gateway response kind: the status code and client-visible body
// API Gateway HTTP APIs use for it.
type Kind int

// The response kinds of Amazon API Gateway HTTP APIs. Bodies are compact JSON
// with a single "message" key, as API Gateway sends them.
const (
	InternalError      Kind = iota // 500 {"message":"Internal Server Error"}
	NotFound                       // 404 {"message":"Not Found"}
	Unauthorized                   // 401 {"message":"Unauthorized"}
	Forbidden                      // 403 {"message":"Forbidden"}
	TooManyRequests                // 429 {"message":"Too Many Requests"}
	ServiceUnavailable             // 503 {"message":"Service Unavailable"}
	PayloadTooLarge                // 413 {"message":"Request Entity Too Large"}
	HeadersTooLarge                // 431 {"message":"Request Header Fields Too Large"}
	BadRequest                     // 400 {"message":"Bad Request"}
	BadGateway                     // 502 {"message":"Bad Gateway"}
	GatewayTimeout                 // 504 {"message":"Gateway Timeout"}
	RequestTimeout                 // 408 {"message":"Request Timeout"}: a body too slow (Portico)
)

var kinds = [...]struct {
	status int
	body   string
}{
	InternalError:      {500, `{"message":"Internal Server Error"}`},
	NotFound:           {404, `{"message":"Not Found"}`},
	Unauthorized:       {401, `{"message":"Unauthorized"}`},
	Forbidden:          {403, `{"message":"Forbidden"}`},
	TooManyRequests:    {429, `{"message":"Too Many Requests"}`},
	ServiceUnavailable: {503, `{"message":"Service Unavailable"}`},
	PayloadTooLarge:    {413, `{"message":"Request Entity Too Large"}`},
	HeadersTooLarge:    {431, `{"message":"Request Header Fields Too Large"}`},
	BadRequest:         {400, `{"message":"Bad Request"}`},
	BadGateway:         {502, `{"message":"Bad Gateway"}`},
	GatewayTimeout:     {504, `{"message":"Gateway Timeout"}`},
	RequestTimeout:     {408, `{"message":"Request Timeout"}`},
}

// ResponseType is the kind's name in access logs ($context.error.responseType),
// in the words of API Gateway's gateway response types.
func (k Kind) ResponseType() string { return responseTypes[k] }

var responseTypes = [...]string{
	InternalError:      "INTEGRATION_FAILURE",
	NotFound:           "RESOURCE_NOT_FOUND",
	Unauthorized:       "UNAUTHORIZED",
	Forbidden:          "ACCESS_DENIED",
	TooManyRequests:    "THROTTLED",
	ServiceUnavailable: "INTEGRATION_TIMEOUT",
	PayloadTooLarge:    "REQUEST_TOO_LARGE",
	HeadersTooLarge:    "REQUEST_TOO_LARGE",
	BadRequest:         "BAD_REQUEST_BODY",
	BadGateway:         "INTEGRATION_FAILURE",
	GatewayTimeout:     "INTEGRATION_TIMEOUT",
	RequestTimeout:     "DEFAULT_4XX",
}

// Status is the HTTP status code of the kind.
func (k Kind) Status() int { return kinds[k].status }

// Body is the exact response body of the kind.
func (k Kind) Body() string { return kinds[k].body }

// Error is a failure that ends a request with a gateway-generated response.
// Kind decides what the client sees; Cause is for the logs only and never
// reaches the client. Header, when set, is added to the response (for
// example www-authenticate or Retry-After).
type Error struct {
	Kind   Kind
	Cause  error
	Header http.Header
}

// Errorf-style constructors keep call sites short.

// New returns an *Error of kind k caused by cause (which may be nil).
func New(k Kind, cause error) *Error { return &Error{Kind: k, Cause: cause} }

func (e *Error) Error() string {
	msg := http.StatusText(e.Kind.Status())
	if e.Cause != nil {
		return msg + ": " + e.Cause.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Cause }

// As returns the *Error in err's chain, or an InternalError wrapping err when
// there is none: any unexpected failure is a 500 to the client.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: InternalError, Cause: err}
}

// Render writes err to w as API Gateway would: the kind's status, its JSON
// body, content-type application/json and an exact content-length. It
// returns the *Error it rendered so callers can log the cause.
func Render(w http.ResponseWriter, err error) *Error {
	e := As(err)
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = vs
	}
	body := e.Kind.Body()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Kind.Status())
	_, _ = w.Write([]byte(body))
	return e
}
