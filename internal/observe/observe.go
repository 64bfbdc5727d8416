// Package observe defines what the gateway reports about each request, for
// the sinks that turn it into access logs, metrics, traces and the web
// console. The gateway fills one Record per request and hands it to every
// Sink once the response is complete.
package observe

import "time"

// Record is everything known about one request when it ends. Its fields
// back the $context variables of access log formats (the name of each
// variable is in the field's comment). Zero values mean "not applicable"
// and render as "-" in text formats.
type Record struct {
	RequestID   string    // $context.requestId, $context.extendedRequestId
	Time        time.Time // $context.requestTime (CLF), $context.requestTimeEpoch (ms)
	APIID       string    // $context.apiId
	APIName     string    // (Portico) the API's name in the spec
	AccountID   string    // $context.accountId
	Stage       string    // $context.stage
	RouteKey    string    // $context.routeKey
	HTTPMethod  string    // $context.httpMethod
	Path        string    // $context.path: the raw path, stage prefix included
	Protocol    string    // $context.protocol: HTTP/1.1, as API Gateway reports every request (integration.Protocol)
	DomainName  string    // $context.domainName
	SourceIP    string    // $context.identity.sourceIp
	UserAgent   string    // $context.identity.userAgent
	TraceID     string    // $context.xrayTraceId (Root=1-...)
	Status      int       // $context.status
	RequestLen  int64     // (Portico) request body bytes
	ResponseLen int64     // $context.responseLength

	ResponseLatency    time.Duration // $context.responseLatency (ms)
	IntegrationLatency time.Duration // $context.integrationLatency, $context.integration.latency (ms)
	IntegrationStatus  int           // $context.integration.status, $context.integrationStatus
	IntegrationError   string        // $context.integrationErrorMessage, $context.integration.error

	ErrorMessage      string        // $context.error.message: the gateway's error text, e.g. "Not Found"
	ErrorType         string        // $context.error.responseType, e.g. THROTTLED, UNAUTHORIZED
	AuthorizerError   string        // $context.authorizer.error
	AuthorizerLatency time.Duration // (Portico) $context.authorizer.latency (ms)
	PrincipalID       string        // $context.authorizer.principalId
	APIKeyID          string        // (Portico) $context.identity.apiKeyId: the API key's name

	Function          string // (Portico) $context.function.name, for AWS_PROXY routes
	ColdStart         bool   // (Portico) $context.function.coldStart: the invocation started a sandbox
	FunctionRequestID string // (Portico) the Lambda invocation's request id, as in the function's logs

	QueueWait time.Duration // (Portico) $context.integration.queueWait (ms): time queued for a concurrency slot

	PromptTokens     int64  // (Portico) $context.ai.promptTokens: OpenAI-compatible usage
	CompletionTokens int64  // (Portico) $context.ai.completionTokens
	Model            string // (Portico) $context.ai.model
}

// Sink receives every finished request. Observe must not block the request
// path for long (a slow destination buffers and drops, counting drops) and
// must not keep r after it returns. Implementations are safe for
// concurrent use.
type Sink interface {
	Observe(r *Record)
}

// SinkFunc adapts a function to the Sink interface.
type SinkFunc func(r *Record)

// Observe calls f(r).
func (f SinkFunc) Observe(r *Record) { f(r) }
