// Package spec is Portico's resource model: functions, roles, buckets and HTTP
// APIs with their integrations, routes and stages, named with AWS's own
// property names so that one file can describe both a local system and its
// AWS deployment.
//
// A spec goes through fixed steps, once: strict decode (every problem
// reported as file:line:col) -> defaults -> validate (all problems at once)
// -> an immutable *Spec. Nothing on the request path reads YAML.
package spec

import "time"

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

	Functions map[string]*Function `yaml:"functions"`
	Roles     map[string]*Role     `yaml:"roles"`
	Buckets   map[string]*Bucket   `yaml:"buckets"`
	APIs      map[string]*API      `yaml:"apis"`
}

// Function is a Lambda function.
type Function struct {
	Name string `yaml:"-"` // the key under functions
	Pos  Pos    `yaml:"-"`

	// Runtime is a Lambda runtime identifier: python3.6 to python3.14,
	// nodejs18.x to nodejs22.x, provided.al2023, provided.al2 or provided
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
	// Environment holds the function's own environment variables.
	Environment map[string]string `yaml:"environment"`
	// ReservedConcurrency caps the function's concurrent sandboxes. Nil
	// means no cap of its own (the global cap applies); 0 disables the
	// function, as on AWS.
	ReservedConcurrency *int `yaml:"reservedConcurrency"`
	// Role names a role under roles.
	Role string `yaml:"role"`
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
}

// Bucket is an S3 bucket.
type Bucket struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`
}

// API is an API Gateway HTTP API.
type API struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`

	// ID is the API id used in events, ARNs and host names. Default: ten
	// lower-case alphanumerics derived from the API's name, stable across
	// runs.
	ID string `yaml:"id"`
	// ProtocolType must be HTTP (the default); WEBSOCKET is not supported.
	ProtocolType string `yaml:"protocolType"`
	// Integrations are the backends routes send requests to, keyed by
	// integration name.
	Integrations map[string]*Integration `yaml:"integrations"`
	// Routes are keyed by route key: "$default" or "METHOD /path".
	Routes map[string]*Route `yaml:"routes"`
	// Stages are keyed by stage name: letters, digits, "-" or "_", or
	// "$default"; at most 10. An API that declares none gets a "$default"
	// stage with AutoDeploy, as AWS's quick create does.
	Stages map[string]*Stage `yaml:"stages"`
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
}
