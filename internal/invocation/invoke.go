package invocation

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Request is one synchronous invocation.
type Request struct {
	FunctionName    string // a name, ARN or partial ARN, optionally with :qualifier
	Qualifier       string
	Payload         []byte
	ClientContext   string // JSON text, already base64-decoded
	CognitoIdentity string // JSON text
	TraceID         string // X-Ray trace header value
	// LogTail asks for the last 4 KB of the invocation's log in the result.
	LogTail bool
}

// Result is what a synchronous invocation returned.
type Result struct {
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

// StreamWriter receives the response of a streamed invocation (see the
// runner's InvokeStream).
//
// The runner calls Begin at most once, before the first Write, with the
// response's content type as the runtime declared it ("" when it declared
// none); then Write once per chunk as the runtime sends it. Write must
// deliver p at once (flush it) and must not keep p. Calls never overlap, and
// none happens after InvokeStream has returned. An error from either method
// ends the invocation: the sandbox is killed and replaced and InvokeStream
// returns an error wrapping it.
//
// Begin is not called when the invocation fails before the function sent a
// byte; the failure is then in the StreamResult for the caller to render.
type StreamWriter interface {
	Begin(contentType string) error
	Write(p []byte) (int, error)
}

// StreamOptions are per-invocation settings of a streamed invocation.
type StreamOptions struct {
	// IdleTimeout ends the invocation when the function sends nothing for
	// this long, counted from the moment the runtime gets the event and
	// again after every chunk; the sandbox is killed and replaced and
	// InvokeStream returns an error wrapping ErrStreamIdle. 0: no idle
	// timeout (the function timeout still applies).
	IdleTimeout time.Duration
	// RequestID is the invocation's request ID; "" generates one.
	RequestID string
}

// ErrStreamIdle is the cause of an invocation ended by
// StreamOptions.IdleTimeout.
var ErrStreamIdle = errors.New("response stream idle timeout")

// StreamResult is what a streamed invocation ended with.
type StreamResult struct {
	// Result: RequestID, ExecutedVersion, LogTail as for a buffered
	// invocation; ContentType is the runtime's; FunctionError is "Unhandled"
	// when the function or its runtime failed, before or after sending
	// bytes, and Payload then holds the error JSON. Payload is empty on
	// success: the body went to the StreamWriter.
	Result
	// ErrorType is the failure's type when FunctionError is set: the
	// runtime's Lambda-Runtime-Function-Error-Type (sanitised) or the
	// platform's (Runtime.ExitError, Sandbox.Timedout,
	// Function.ResponseSizeTooLarge...).
	ErrorType string
	// Streamed is true when the runtime answered in streaming mode; false
	// when it posted a buffered response, which was written as one chunk.
	Streamed bool
	// Bytes is the number of body bytes written to the StreamWriter.
	Bytes int64
	// FirstByte is the time from the invocation's start to the first body
	// byte (0 when none was written); Duration the invocation's total.
	FirstByte, Duration time.Duration
}

// Payload limits of the Invoke API (bytes).
const (
	MaxSyncPayload  = 6 * 1024 * 1024 // RequestResponse request and response
	MaxAsyncPayload = 1024 * 1024     // Event request
)

// LatestVersion is the only function version Portico runs.
const LatestVersion = "$LATEST"

// NewRequestID returns a random UUID v4, the shape of Lambda's request IDs.
func NewRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// InvalidParameter is Lambda's 400 InvalidParameterValueException.
func InvalidParameter(msg string) *ServiceError {
	return &ServiceError{Status: http.StatusBadRequest, Type: "InvalidParameterValueException", Message: msg}
}

// FunctionNotFound is Lambda's 404 for the function (or qualified
// function) arn.
func FunctionNotFound(arn string) *ServiceError {
	return &ServiceError{Status: http.StatusNotFound, Type: "ResourceNotFoundException", Message: "Function not found: " + arn}
}

// RequestTooLarge is Lambda's 413 for a payload over limit bytes in
// operation op (Invoke, InvokeAsync...).
func RequestTooLarge(limit int, op string) *ServiceError {
	return &ServiceError{Status: http.StatusRequestEntityTooLarge, Type: "RequestTooLargeException",
		Message: fmt.Sprintf("Request must be smaller than %d bytes for the %s operation", limit, op)}
}

// EventInvokeConfig is a function's asynchronous invocation configuration
// (Lambda's FunctionEventInvokeConfig).
type EventInvokeConfig struct {
	// MaximumRetryAttempts is 0 to 2; nil means 2.
	MaximumRetryAttempts *int
	// MaximumEventAgeInSeconds is 60 to 21600; nil means 21600 (6h).
	MaximumEventAgeInSeconds *int
	// OnSuccess and OnFailure are destination function ARNs, or "".
	OnSuccess, OnFailure string
	// LastModified is when the configuration was last set.
	LastModified time.Time
}

// Retries is the configured number of retries; a nil c means the default, 2.
func (c *EventInvokeConfig) Retries() int {
	if c == nil || c.MaximumRetryAttempts == nil {
		return 2
	}
	return *c.MaximumRetryAttempts
}

// MaxAge is the configured maximum event age; def when c is nil or sets none.
func (c *EventInvokeConfig) MaxAge(def time.Duration) time.Duration {
	if c == nil || c.MaximumEventAgeInSeconds == nil {
		return def
	}
	return time.Duration(*c.MaximumEventAgeInSeconds) * time.Second
}

// LogFilter selects lines of a function's log. The zero LogFilter selects
// every line.
type LogFilter struct {
	// Since drops lines written before it; zero keeps all.
	Since time.Time
	// Text keeps the lines that contain it (case-sensitive, on the raw
	// line, so JSON log lines match on their text and are kept intact),
	// together with the START, END and REPORT lines of the invocations
	// those lines belong to. START/END/REPORT lines that contain Text
	// themselves are kept too, so a request id as Text shows the
	// invocation's platform lines. Empty keeps all.
	Text string
	// RequestID keeps only the lines of that invocation, START to REPORT.
	// A line the function wrote while several invocations ran at once
	// (in several sandboxes) belongs to each of them.
	RequestID string
}

// ParseSince reads a logs "since" value: a positive duration back from now
// ("10m", "1h30m") or an RFC 3339 time ("2025-01-02T15:04:05Z").
func ParseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("since %q: the duration must not be negative", v)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q: use a duration such as 10m or an RFC 3339 time", v)
}
