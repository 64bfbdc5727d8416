// Package spec is Portico's resource model: functions, roles, buckets and HTTP
// APIs with their integrations, routes and stages, named with AWS's own
// property names so that one file can describe both a local system and its
// AWS deployment.
//
// A spec goes through fixed steps, once: strict decode (every problem
// reported as file:line:col) -> defaults -> validate (all problems at once)
// -> an immutable *Spec. Nothing on the request path reads YAML.
package spec

import (
	"time"

	"github.com/portico-dev/portico/internal/iam"
)

// Pos is a position in the spec file, for error messages.
type Pos struct {
	Line, Col int
}

// Spec is a loaded, defaulted and validated spec file. It is never modified
// after Load returns it. After Load every map in it (Functions, Roles,
// Buckets, APIs, and each API's Integrations, Routes and Stages, each
// function's Environment and each stage's StageVariables) is non-nil.
type Spec struct {
	// File is the path the spec was read from; Dir its directory, against
	// which relative code paths are resolved.
	File, Dir string
	// Warnings are problems that do not stop the spec from loading, at
	// their positions: a handler whose module is in neither the function's
	// code nor its layers (it fails at its first invocation).
	Warnings ErrorList `yaml:"-" json:"-"`

	Functions map[string]*Function `yaml:"functions"`
	Roles     map[string]*Role     `yaml:"roles"`
	Buckets   map[string]*Bucket   `yaml:"buckets"`
	APIs      map[string]*API      `yaml:"apis"`

	// AccessKeys are the credentials callers sign AWS_IAM requests with,
	// keyed by a name; each is bound to a role whose policies decide what
	// it may invoke.
	AccessKeys map[string]*AccessKey `yaml:"accessKeys"`
	// UsagePlans set per-API-key throttles and quotas (from API Gateway's
	// REST APIs; HTTP APIs lack them).
	UsagePlans map[string]*UsagePlan `yaml:"usagePlans"`
	// APIKeys are the keys clients send in x-api-key, keyed by name.
	APIKeys map[string]*APIKey `yaml:"apiKeys"`
	// Storage points buckets at an external S3-compatible service; nil
	// means Portico's embedded store.
	Storage *Storage `yaml:"storage"`
	// Account holds the account-level throttle that every API shares.
	// Default: AWS's 10 000 requests per second with a burst of 5 000.
	Account *AccountSettings `yaml:"account"`
	// DomainNames are custom domain names with their API mappings, keyed
	// by the name (see DomainName).
	DomainNames map[string]*DomainName `yaml:"domainNames" json:",omitempty"`
}

// AccountSettings are settings of the whole (local) account.
type AccountSettings struct {
	// ThrottlingRateLimit is the account's steady-state request rate, per
	// second; default 10000.
	ThrottlingRateLimit *float64 `yaml:"throttlingRateLimit"`
	// ThrottlingBurstLimit is the account's bucket size; default 5000.
	ThrottlingBurstLimit *int `yaml:"throttlingBurstLimit"`
}

// AccessKey is an access key pair for AWS_IAM (SigV4) callers.
type AccessKey struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`

	// AccessKeyID is the public half: 16 to 128 upper-case letters and
	// digits, conventionally starting with AKIA.
	AccessKeyID string `yaml:"accessKeyId"`
	// SecretAccessKey is the signing secret.
	SecretAccessKey string `yaml:"secretAccessKey"`
	// Role names the role under roles whose policies apply to the caller.
	Role string `yaml:"role"`
}

// UsagePlan is a throttle and quota shared by the API keys on it, for the
// API stages it lists.
type UsagePlan struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`

	// Throttle is the per-key token bucket.
	Throttle *PlanThrottle `yaml:"throttle"`
	// Quota is the per-key request allowance per period.
	Quota *PlanQuota `yaml:"quota"`
	// APIStages are the API stages the plan's keys may call.
	APIStages []*PlanStage `yaml:"apiStages"`
	// TokenLimits caps each key's model tokens (OpenAI-compatible
	// integrations).
	TokenLimits *TokenLimits `yaml:"tokenLimits"`
}

// PlanThrottle is a usage plan's per-key token bucket.
type PlanThrottle struct {
	// RateLimit is requests per second.
	RateLimit *float64 `yaml:"rateLimit"`
	// BurstLimit is the bucket size.
	BurstLimit *int `yaml:"burstLimit"`
}

// PlanQuota is a usage plan's per-key allowance.
type PlanQuota struct {
	// Limit is the number of requests per period.
	Limit int `yaml:"limit"`
	// Period is DAY, WEEK or MONTH.
	Period string `yaml:"period"`
}

// PlanStage names an API stage a usage plan covers.
type PlanStage struct {
	// API names an API under apis.
	API string `yaml:"api"`
	// Stage names a stage of that API.
	Stage string `yaml:"stage"`
}

// APIKey is a key clients send in the x-api-key header.
type APIKey struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`

	// Plan names the usage plan of the key.
	Plan string `yaml:"plan"`
	// Value is the key itself, 20 to 128 characters; default: derived
	// from the name (stable; shown by `portico apikey list`).
	Value string `yaml:"value"`
}

// Function is a Lambda function.
type Function struct {
	Name string `yaml:"-"` // the key under functions
	Pos  Pos    `yaml:"-"`

	// Runtime is a Lambda runtime identifier: python3.6 to python3.14,
	// nodejs18.x to nodejs24.x, provided.al2023, provided.al2 or provided
	// (see KnownRuntime).
	Runtime string `yaml:"runtime"`
	// Handler is module.function for Python, file.export for Node.js; unused
	// by provided runtimes (the bootstrap executable is the handler).
	Handler string `yaml:"handler"`
	// Code is the function's code directory, relative to the spec file.
	// After Load it is absolute.
	Code string `yaml:"code"`
	// Timeout is the function timeout in seconds, 1 to 900; default 3.
	Timeout int `yaml:"timeout"`
	// MemorySize is the memory limit in MB, 128 to 10240; default 128.
	MemorySize int `yaml:"memorySize"`
	// EphemeralStorage is the size of the function's private /tmp in MB,
	// 512 to 10240; 0 (unset) means 512, as on AWS.
	EphemeralStorage int `yaml:"ephemeralStorage" json:",omitempty"`
	// Environment holds the function's own environment variables.
	Environment map[string]string `yaml:"environment"`
	// ReservedConcurrency caps the function's concurrent sandboxes. Nil
	// means no cap of its own (the global cap applies); 0 disables the
	// function, as on AWS.
	ReservedConcurrency *int `yaml:"reservedConcurrency"`
	// Role names a role under roles.
	Role string `yaml:"role"`
	// Layers are up to 5 Lambda layers, each a directory or a .zip file
	// (relative to the spec file; absolute after Load), merged in order
	// into what the function sees at /opt: a later layer's file replaces
	// an earlier one's.
	Layers []string `yaml:"layers" json:",omitempty"`
	// Interpreter names the python or node executable that runs a Python
	// or Node.js function (a program on PATH, e.g. python3.12, or a
	// path); default: the installed version closest to the runtime's.
	Interpreter string `yaml:"interpreter" json:",omitempty"`
	// EventInvokeConfig configures asynchronous invocation: retries,
	// maximum event age, destinations (see async.go).
	EventInvokeConfig *EventInvokeConfig `yaml:"eventInvokeConfig" json:",omitempty"`
	// Permissions are the function's resource-based policy: who else may
	// invoke it (S3 notifications need s3.amazonaws.com).
	Permissions []*Permission `yaml:"permissions" json:",omitempty"`
	// URL gives the function a Lambda function URL (docs/function-urls.md).
	URL *FunctionURL `yaml:"url" json:",omitempty"`
}

// TimeoutDuration is Timeout as a time.Duration.
func (f *Function) TimeoutDuration() time.Duration { return time.Duration(f.Timeout) * time.Second }

// Role is an IAM role a function runs with.
type Role struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`

	// AssumeRolePolicy is the trust policy, accepted as on AWS (a document
	// or its JSON text). After Load it is nil or a map[string]any of plain
	// values (as decoded from YAML or JSON) with Version and Statement.
	AssumeRolePolicy any `yaml:"assumeRolePolicy"`
	// ManagedPolicyArns lists AWS managed policies attached to the role.
	ManagedPolicyArns []string `yaml:"managedPolicyArns"`
	// Policies are inline IAM policy documents, each a mapping or its JSON
	// text. After Load each is a map[string]any with Version and Statement.
	Policies []any `yaml:"policies"`
	// Parsed holds Policies parsed by the iam package during validation,
	// in the same order, so that no later step parses them again.
	Parsed []*iam.Policy `yaml:"-" json:"-"`
}

// Bucket is an S3 bucket.
type Bucket struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`

	// Contents is a directory (relative to the spec file) whose files are
	// uploaded into the bucket at start, keyed by their relative paths,
	// unless an object of that key already exists. After Load it is
	// absolute, or "" when not given.
	Contents string `yaml:"contents"`
	// Notifications send the bucket's object events to functions.
	Notifications []*BucketNotification `yaml:"notifications" json:",omitempty"`
}

// Storage points the buckets at an external S3-compatible service (AWS S3,
// MinIO, Ceph) instead of Portico's embedded store.
type Storage struct {
	// Endpoint is the service's URL, e.g. https://s3.eu-west-1.amazonaws.com.
	Endpoint string `yaml:"endpoint"`
	// Region is the signing region; default us-east-1.
	Region string `yaml:"region"`
	// AccessKeyID and SecretAccessKey are the service's credentials, given
	// to functions in place of Portico's own.
	AccessKeyID     string `yaml:"accessKeyId"`
	SecretAccessKey string `yaml:"secretAccessKey"`
	// ForcePathStyle addresses buckets as ENDPOINT/BUCKET (MinIO, Ceph).
	ForcePathStyle bool `yaml:"forcePathStyle"`
}

// API is an API Gateway HTTP API.
type API struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`

	// ID is the API id used in events, ARNs and host names. Default: ten
	// lower-case alphanumerics derived from the API's name, stable across
	// runs.
	ID string `yaml:"id"`
	// ProtocolType is HTTP (the default) or WEBSOCKET (see
	// docs/websocket.md): a WebSocket API's routes are $connect,
	// $disconnect, $default and keys chosen by RouteSelectionExpression.
	ProtocolType string `yaml:"protocolType"`
	// RouteSelectionExpression picks a WebSocket message's route key,
	// e.g. $request.body.action; required for WEBSOCKET, unused by HTTP.
	RouteSelectionExpression string `yaml:"routeSelectionExpression" json:",omitempty"`
	// Integrations are the backends routes send requests to, keyed by
	// integration name.
	Integrations map[string]*Integration `yaml:"integrations"`
	// Routes are keyed by route key: "$default" or "METHOD /path".
	Routes map[string]*Route `yaml:"routes"`
	// Stages are keyed by stage name: letters, digits, "-" or "_", or
	// "$default"; at most 10. An API that declares none gets a "$default"
	// stage with AutoDeploy, as AWS's quick create does.
	Stages map[string]*Stage `yaml:"stages"`
	// Authorizers are keyed by name; routes refer to them.
	Authorizers map[string]*Authorizer `yaml:"authorizers"`
	// Cors makes the gateway answer CORS preflights and set CORS headers.
	Cors *Cors `yaml:"cors"`
}

// Authorizer types.
const (
	AuthorizerJWT     = "JWT"
	AuthorizerRequest = "REQUEST"
)

// Authorizer decides who may call the routes that use it.
type Authorizer struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`

	// Type is JWT or REQUEST (a Lambda authorizer).
	Type string `yaml:"type"`
	// IdentitySource lists selection expressions ($request.header.NAME,
	// $request.querystring.NAME, $context.NAME, $stageVariables.NAME).
	// JWT: exactly one, a header or query string; default
	// $request.header.Authorization.
	IdentitySource []string `yaml:"identitySource"`
	// JWTConfiguration is required for JWT authorizers.
	JWTConfiguration *JWTConfiguration `yaml:"jwtConfiguration"`
	// Function names the Lambda authorizer's function (REQUEST).
	Function string `yaml:"function"`
	// AuthorizerPayloadFormatVersion is "1.0" or "2.0" (default) (REQUEST).
	AuthorizerPayloadFormatVersion string `yaml:"authorizerPayloadFormatVersion"`
	// EnableSimpleResponses lets a 2.0 Lambda authorizer answer
	// {"isAuthorized": bool} instead of an IAM policy.
	EnableSimpleResponses bool `yaml:"enableSimpleResponses"`
	// AuthorizerResultTtlInSeconds caches decisions, 0 to 3600; default 0
	// (no caching) when no identity source is given, else 300.
	AuthorizerResultTtlInSeconds *int `yaml:"authorizerResultTtlInSeconds"`
}

// JWTConfiguration names the token issuer and audiences.
type JWTConfiguration struct {
	// Issuer is the iss claim tokens must carry; its OpenID configuration
	// ({issuer}/.well-known/openid-configuration) gives the signing keys.
	Issuer string `yaml:"issuer"`
	// Audience lists accepted aud (or client_id) values; 1 to 50.
	Audience []string `yaml:"audience"`
}

// Cors is an API's CORS configuration, as API Gateway's corsConfiguration.
type Cors struct {
	// AllowOrigins: "*", "http://*", "https://*" or origins
	// scheme://host[:port] without a path.
	AllowOrigins []string `yaml:"allowOrigins"`
	// AllowMethods: GET POST PUT PATCH DELETE HEAD OPTIONS or "*".
	AllowMethods []string `yaml:"allowMethods"`
	// AllowHeaders and ExposeHeaders: header names or "*".
	AllowHeaders  []string `yaml:"allowHeaders"`
	ExposeHeaders []string `yaml:"exposeHeaders"`
	// MaxAge is how long browsers may cache a preflight, -1 to 86400 s;
	// nil when not given.
	MaxAge *int `yaml:"maxAge"`
	// AllowCredentials sends Access-Control-Allow-Credentials: true.
	AllowCredentials bool `yaml:"allowCredentials"`
}

// Integration types.
const (
	AWSProxy  = "AWS_PROXY"
	HTTPProxy = "HTTP_PROXY"
)

// Integration connects routes to a backend.
type Integration struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`

	// Type is AWS_PROXY (a Lambda function) or HTTP_PROXY (an HTTP URL).
	Type string `yaml:"type"`
	// Function names the function of an AWS_PROXY integration.
	Function string `yaml:"function"`
	// URI is the upstream URL of an HTTP_PROXY integration. It may hold
	// {name} path variables and ${stageVariables.name}.
	URI string `yaml:"uri"`
	// Method is the upstream method of an HTTP_PROXY integration; ANY
	// (default) keeps the client's method.
	Method string `yaml:"method"`
	// PayloadFormatVersion is "1.0" or "2.0" (default) for AWS_PROXY;
	// HTTP_PROXY supports only "1.0" (its default), as on AWS.
	PayloadFormatVersion string `yaml:"payloadFormatVersion"`
	// TimeoutInMillis is the integration timeout, 50 to 900000 ms; default
	// 30000. AWS caps it at 30000; Portico allows up to 15 minutes.
	TimeoutInMillis int `yaml:"timeoutInMillis"`

	// Unpermitted marks an AWS_PROXY integration whose function grants API
	// Gateway no permission to invoke it (a Pulumi program without an
	// aws:lambda:Permission, run with --strict): every request answers 500
	// {"message":"Internal Server Error"}, as on AWS. Set by loaders only.
	Unpermitted bool `yaml:"-" json:",omitempty"`

	// InvokeMode is BUFFERED (default) or RESPONSE_STREAM: an AWS_PROXY
	// integration that streams forwards the function's chunks to the
	// client as they come (Lambda response streaming). RESPONSE_STREAM is
	// accepted only on AWS_PROXY with PayloadFormatVersion "2.0".
	InvokeMode string `yaml:"invokeMode"`
	// IdleTimeoutInMillis ends a response that has sent nothing for this
	// long (streams from functions and upstreams); default: no idle
	// timeout beyond TimeoutInMillis.
	IdleTimeoutInMillis *int `yaml:"idleTimeoutInMillis"`
	// MaxConcurrency caps the requests in flight to the backend; requests
	// beyond it wait in a FIFO queue of MaxQueue for at most
	// QueueTimeoutInMillis, then get 429 (queue full) or 503 (waited too
	// long), with Retry-After. Unset: no cap.
	MaxConcurrency *int `yaml:"maxConcurrency"`
	// MaxQueue is the FIFO queue's length, 0 to 100000; default 0 (no
	// queue). Nil exactly when MaxConcurrency is nil.
	MaxQueue *int `yaml:"maxQueue"`
	// QueueTimeoutInMillis is the longest wait in the queue, 1 to 900000;
	// default 30000. Nil exactly when MaxConcurrency is nil.
	QueueTimeoutInMillis *int `yaml:"queueTimeoutInMillis"`
	// Upstreams lists several upstream URIs for an HTTP_PROXY integration
	// instead of URI: tried in priority order (lowest first; equal
	// priorities share by weight), moving on after connection errors, 5xx
	// and 429 answers within the request's deadline.
	Upstreams []*Upstream `yaml:"upstreams"`
	// OpenAICompatible marks an HTTP_PROXY upstream that speaks the
	// OpenAI API (vLLM, Ollama, llama.cpp, hosted models): token usage is
	// read from /v1/chat/completions, /v1/completions and /v1/embeddings
	// responses (and streams) and metered per route and API key.
	OpenAICompatible bool `yaml:"openAICompatible"`
	// TLSConfig tunes how an HTTP_PROXY integration verifies https
	// upstreams (see IntegrationTLS).
	TLSConfig *IntegrationTLS `yaml:"tlsConfig" json:",omitempty"`
}

// Upstream is one of an HTTP_PROXY integration's upstreams.
type Upstream struct {
	// URI is the upstream URL template, as Integration.URI.
	URI string `yaml:"uri"`
	// Priority orders upstreams: lower first; default 0.
	Priority int `yaml:"priority"`
	// Weight shares requests among upstreams of equal priority; default 1.
	Weight *int `yaml:"weight"`
}

// Timeout is TimeoutInMillis as a time.Duration.
func (i *Integration) Timeout() time.Duration {
	return time.Duration(i.TimeoutInMillis) * time.Millisecond
}

// Route sends requests matching its key to an integration.
type Route struct {
	Key string `yaml:"-"` // the key under routes
	Pos Pos    `yaml:"-"`

	// Method and Path are parsed from Key; both empty for "$default".
	Method string `yaml:"-"`
	Path   string `yaml:"-"`

	// Integration names an integration of the same API.
	Integration string `yaml:"integration"`
	// AuthorizationType is NONE (default), JWT, CUSTOM (a REQUEST
	// authorizer) or AWS_IAM.
	AuthorizationType string `yaml:"authorizationType"`
	// Authorizer names an authorizer of the same API (JWT and CUSTOM).
	Authorizer string `yaml:"authorizer"`
	// AuthorizationScopes: a JWT must carry at least one of them.
	AuthorizationScopes []string `yaml:"authorizationScopes"`
	// APIKeyRequired makes callers send a valid x-api-key.
	APIKeyRequired bool `yaml:"apiKeyRequired"`
	// RouteResponseSelectionExpression makes a WebSocket route two-way:
	// "$default" sends the function's response body back to the client
	// (AWS's route response with key $default). Unused by HTTP APIs.
	RouteResponseSelectionExpression string `yaml:"routeResponseSelectionExpression" json:",omitempty"`
}

// Stage is a deployed version of an API.
type Stage struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`

	// AutoDeploy makes every change to the API live at once; without it
	// the stage changes only on `portico deploy STAGE`.
	AutoDeploy bool `yaml:"autoDeploy"`
	// StageVariables are delivered to functions and usable as
	// ${stageVariables.name} in integration URIs. Names match
	// [A-Za-z0-9_]+, values [A-Za-z0-9-._~:/?#&=,]+; at most 100.
	StageVariables map[string]string `yaml:"stageVariables"`
	// DefaultRouteSettings apply to every route of the stage.
	DefaultRouteSettings *RouteSettings `yaml:"defaultRouteSettings"`
	// RouteSettings override DefaultRouteSettings per route key.
	RouteSettings map[string]*RouteSettings `yaml:"routeSettings"`
	// AccessLogSettings turn on the stage's access log.
	AccessLogSettings *AccessLogSettings `yaml:"accessLogSettings"`
}

// RouteSettings are a stage's settings for its routes.
type RouteSettings struct {
	// Key is the route key under routeSettings ("" for
	// defaultRouteSettings); Pos is the key's position (or the mapping's).
	Key string `yaml:"-"`
	Pos Pos    `yaml:"-"`

	// ThrottlingRateLimit is requests per second (steady state).
	ThrottlingRateLimit *float64 `yaml:"throttlingRateLimit"`
	// ThrottlingBurstLimit is the token bucket's size.
	ThrottlingBurstLimit *int `yaml:"throttlingBurstLimit"`
	// TokenLimits caps the model tokens (prompt plus completion) the route
	// may use, across all callers (OpenAI-compatible integrations).
	TokenLimits *TokenLimits `yaml:"tokenLimits"`
}

// TokenLimits caps model tokens per minute and per day (UTC). At least
// one is set, and each set value is 1 or more.
type TokenLimits struct {
	PerMinute *int64 `yaml:"perMinute"`
	PerDay    *int64 `yaml:"perDay"`
}

// AccessLogSettings turn on a stage's access log.
type AccessLogSettings struct {
	// Destination is "stdout" (default), "stderr" or a file path
	// (relative to the spec file; rotated by size). After Load a file path
	// is absolute.
	Destination string `yaml:"destination"`
	// Format is a one-line template of $context variables, or empty for
	// the default JSON record.
	Format string `yaml:"format"`
}
