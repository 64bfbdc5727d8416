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
// after Load returns it.
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

	// Runtime is a Lambda runtime identifier: python3.x, nodejs18.x to
	// nodejs22.x, provided.al2023 or provided.al2.
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
	// or its JSON text).
	AssumeRolePolicy any `yaml:"assumeRolePolicy"`
	// ManagedPolicyArns lists AWS managed policies attached to the role.
	ManagedPolicyArns []string `yaml:"managedPolicyArns"`
	// Policies are inline IAM policy documents.
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
	// ProtocolType must be HTTP.
	ProtocolType string                  `yaml:"protocolType"`
	Integrations map[string]*Integration `yaml:"integrations"`
	// Routes are keyed by route key: "$default" or "METHOD /path".
	Routes map[string]*Route `yaml:"routes"`
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
	// PayloadFormatVersion is "1.0" or "2.0" (default) for AWS_PROXY.
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
	AutoDeploy     bool              `yaml:"autoDeploy"`
	StageVariables map[string]string `yaml:"stageVariables"`
}
