// Package lambda runs Lambda functions as local processes that speak the
// Lambda Runtime API, and serves the Lambda Invoke API.
package lambda

import (
	"fmt"
	"time"
)

// Function is the configuration of one function, as the runner needs it.
type Function struct {
	Name    string
	Runtime string // python3.x, nodejs18.x..nodejs24.x, provided.al2023, provided.al2
	Handler string
	CodeDir string // absolute path of the code directory
	OptDir  string // directory served read-only at /opt (the function's layers, merged in order); "" for none
	// Interpreter is the python or node executable to run a Python or
	// Node.js function with; "" picks the installed one closest to the
	// runtime's version.
	Interpreter string
	// EphemeralStorageMB sizes the sandbox's private /tmp (512-10240 MB);
	// 0 means Lambda's default, 512.
	EphemeralStorageMB int
	Timeout            time.Duration
	MemoryMB           int
	Environment        map[string]string
	// ReservedConcurrency caps concurrent sandboxes; negative means unset
	// (the runner's global cap applies); 0 throttles every invocation.
	ReservedConcurrency int
	Role                string
	// Revision is opaque to the runner: when it changes (the caller hashes
	// the code directory), warm sandboxes are replaced by fresh ones.
	Revision string
}

// InvokeRequest is one synchronous invocation.
type InvokeRequest struct {
	FunctionName    string // a name, ARN or partial ARN, optionally with :qualifier
	Qualifier       string
	Payload         []byte
	ClientContext   string // JSON text, already base64-decoded
	CognitoIdentity string // JSON text
	TraceID         string // X-Ray trace header value
	// LogTail asks for the last 4 KB of the invocation's log in the result.
	LogTail bool
}

// InvokeResult is what a synchronous invocation returned.
type InvokeResult struct {
	RequestID   string
	Payload     []byte
	ContentType string // as the runtime posted it; "" when it set none
	// FunctionError is "Unhandled" when the function or its runtime failed
	// (Payload then holds the error JSON), "" otherwise.
	FunctionError   string
	ExecutedVersion string
	LogTail         []byte
	// Cold is true when the invocation started a new sandbox.
	Cold bool
}

// ServiceError is an error of the Lambda service itself (not of the
// function), with the status and error type the Invoke API answers with.
type ServiceError struct {
	Status  int    // HTTP status, e.g. 404
	Type    string // e.g. ResourceNotFoundException
	Message string
	Reason  string // TooManyRequestsException only, e.g. ReservedFunctionConcurrentInvocationLimitExceeded
}

func (e *ServiceError) Error() string { return fmt.Sprintf("%s: %s", e.Type, e.Message) }
