// Package integration defines the seam between the gateway and the backends
// a route can call: Lambda functions (lambdaproxy) and HTTP upstreams
// (httpproxy).
package integration

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"time"

	"github.com/portico-dev/portico/internal/observe"
)

// Request is what the gateway hands an integration: the client's request and
// everything the pipeline decided about it before the integration runs.
// Integrations must treat it as read-only.
type Request struct {
	// HTTP is the client's request. Its body has already been read into Body
	// (bounded by the payload limit); integrations must not read HTTP.Body.
	// Body belongs to the gateway and is reused after Serve returns:
	// integrations must not keep it.
	HTTP *http.Request
	Body []byte
	// BodyRest, when not nil, is the rest of a streamed body: Body then
	// holds only its first bytes, and BodyRest reads the remainder from
	// the client as it is consumed, within the payload limit and the body
	// timeouts. The gateway sets it only for integrations that implement
	// BodyStreamer, and only for bodies longer than the first bytes it
	// reads ahead (see docs/http-proxy.md). Its errors other than io.EOF
	// are the client's (*edge.Error: 413 over the payload limit, 408 too
	// slow, 400 when the client broke off) and are returned by Serve as
	// they are, before anything was written. BodyLength is the declared
	// length of the whole body (Content-Length), -1 when not declared.
	BodyRest   io.Reader
	BodyLength int64

	// RawPath is the path as the client sent it, stage prefix included
	// ("/v1/orders/42"); Path is the stage-relative path used for routing
	// ("/orders/42").
	RawPath string
	Path    string

	RouteKey string // matched route key, "$default" for the default route
	// PathParameters holds the decoded values (greedy values without the
	// leading slash), nil when the route has none. Like Body, the map is
	// the gateway's and reused after Serve returns: copy what you keep.
	PathParameters map[string]string
	Stage          string
	StageVariables map[string]string

	RequestID string    // API Gateway request id, also sent as apigw-requestid
	Time      time.Time // when the gateway received the request

	APIID      string
	AccountID  string
	DomainName string // host the client used, without port
	SourceIP   string
	// ClientCert is the certificate the client presented on a custom
	// domain name with mutual TLS, nil otherwise.
	ClientCert *x509.Certificate

	// Authorizer is the caller identity an authorizer established, or nil
	// for routes without authorization.
	Authorizer *Authorizer
	// APIKey is the name of the API key the caller presented on a route
	// that requires one, "" otherwise.
	APIKey string

	// Record, when not nil, is the request's observation: integrations may
	// fill the fields only they know (IntegrationStatus, IntegrationError,
	// ColdStart, token usage). It must not be kept after Serve returns.
	Record *observe.Record
}

// Protocol is $context.protocol (and requestContext.protocol of Lambda
// events) for a client request. API Gateway reports "HTTP/1.1" for every
// client, HTTP/2 ones included (docs/tls.md), so Portico does too: a
// function or log parser written against AWS sees the same value.
// It takes the request so that the rule has one home.
func Protocol(*http.Request) string { return "HTTP/1.1" }

// Authorizer carries what an authorizer learnt about the caller, in the shape
// Lambda proxy events expose it.
type Authorizer struct {
	JWT    *JWTAuthorizer // for JWT authorizers
	Lambda map[string]any // the context a Lambda authorizer returned
	IAM    map[string]any // the caller identity of AWS_IAM routes
	// PrincipalID is set by Lambda authorizers that return an IAM policy.
	PrincipalID string
}

// JWTAuthorizer is the verified token's claims (values stringified as API
// Gateway does) and scopes.
type JWTAuthorizer struct {
	Claims map[string]string
	Scopes []string
}

// Integration calls a backend for one request and writes its response.
//
// Serve either writes a complete response to w and returns nil, or writes
// nothing and returns an error for the gateway to render (see package edge:
// *edge.Error picks the status the client sees; any other error is a 500).
// Once it has started writing, a failure can only cut the response short; it
// is then returned for logging with the response already committed.
//
// ctx carries the integration timeout and is cancelled when the client goes
// away. Implementations are safe for concurrent use.
type Integration interface {
	Serve(ctx context.Context, w http.ResponseWriter, r *Request) error
}

// BodyStreamer is implemented by integrations that can take a streamed
// request body (Request.BodyRest). StreamsBody reports whether they do;
// wrappers that read the whole body (token counting, signatures) do not
// implement it, so their integrations receive the body buffered.
type BodyStreamer interface {
	Integration
	StreamsBody() bool
}

// Func adapts a function to the Integration interface.
type Func func(ctx context.Context, w http.ResponseWriter, r *Request) error

// Serve calls f(ctx, w, r).
func (f Func) Serve(ctx context.Context, w http.ResponseWriter, r *Request) error {
	return f(ctx, w, r)
}
