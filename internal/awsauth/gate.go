// Package awsauth guards Portico's AWS endpoint (Lambda Invoke, S3, the
// apigatewayv2 management API and Portico's own endpoints) the way AWS
// guards its services: every call is signed with Signature Version 4 by a
// known principal, and that principal must be allowed the operation.
//
// The Gate is the endpoint's one dispatcher, and its contract is:
//
//   - Requests whose SigV4 scope names s3, and every request whose path is
//     not one of the other APIs' (Lambda's dated paths /YYYY-MM-DD/...,
//     apigatewayv2's /v2/..., Portico's /_portico/...), go to the S3
//     handler, which authenticates and authorizes each one itself
//     (anonymous: 403 AccessDenied XML). A handler mounted elsewhere is
//     therefore unreachable, never open.
//   - Every other request must be signed for the service its path belongs
//     to (Service: apigateway under /v2/, lambda for everything else,
//     Portico's /_portico/ endpoints included) with a key Principals knows.
//     Otherwise it is refused before its handler runs, with the status,
//     x-amzn-ErrorType and {"message"} body AWS answers:
//     MissingAuthenticationTokenException, UnrecognizedClientException,
//     InvalidSignatureException (also "Signature expired", 5 minutes),
//     IncompleteSignatureException.
//   - Lambda Invoke and InvokeWithResponseStream need lambda:InvokeFunction
//     on the function's ARN (qualified when a qualifier is given): the
//     admin principal has it; any other principal when its policies
//     (evaluated by package iam: explicit deny wins) allow it.
//   - Every other operation — those that exist today and those added
//     later — is the admin principal's alone: deny by default.
//     A refusal is 403 AccessDeniedException.
//   - The allowed request reaches Next with its body intact and the
//     principal in its context (PrincipalFrom).
package awsauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/sigv4"
)

// InvokeAction is the IAM action Invoke and InvokeWithResponseStream need.
const InvokeAction = "lambda:InvokeFunction"

// Skew is how far a signature's time may be from now, as AWS's services
// other than S3 allow.
const Skew = 5 * time.Minute

// DefaultMaxBody bounds the body the Gate reads to check a signature
// (Lambda's payloads are at most 6 MB; handlers apply their own limits).
const DefaultMaxBody = 16 << 20

// Principals resolves access key IDs to callers (the S3 store's keyring:
// the admin, each function, each spec access key). It must be safe for
// concurrent use; results must not be modified.
type Principals interface {
	Principal(accessKeyID string) (*s3.Principal, bool)
}

// Config configures a Gate. It is read once by New.
type Config struct {
	// Region is the only region a signature may be scoped to and the
	// region of function ARNs; AccountID the account in ARNs. Required.
	Region, AccountID string
	// MaxBody bounds the request body read before the signature check;
	// default DefaultMaxBody.
	MaxBody int64
}

// Deps are the Gate's collaborators.
type Deps struct {
	// Principals knows the access keys. Required.
	Principals Principals
	// S3 serves S3 requests (see the package contract). Required.
	S3 http.Handler
	// Next serves every other request once authorized. Required.
	Next http.Handler
	// Now is the clock for signature windows; default time.Now.
	Now func() time.Time
	// Logger receives each refusal's cause at debug level; default discard.
	Logger *slog.Logger
}

// Gate is the AWS endpoint's dispatcher and authorizer; see the package
// documentation. Safe for concurrent use.
type Gate struct {
	cfg      Config
	deps     Deps
	verifier map[string]*sigv4.Verifier // by service
}

var _ http.Handler = (*Gate)(nil)

// New checks cfg and deps and returns the Gate.
func New(cfg Config, deps Deps) (*Gate, error) {
	if cfg.Region == "" || cfg.AccountID == "" {
		return nil, errors.New("awsauth: Region and AccountID are required")
	}
	if deps.Principals == nil || deps.S3 == nil || deps.Next == nil {
		return nil, errors.New("awsauth: Deps.Principals, S3 and Next are required")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gate{cfg: cfg, deps: deps}
	v := &sigv4.Verifier{Lookup: g.lookup, Now: deps.Now, Skew: Skew, Region: cfg.Region, Keys: &sigv4.KeyCache{}}
	g.verifier = map[string]*sigv4.Verifier{"lambda": v, "apigateway": v}
	return g, nil
}

func (g *Gate) lookup(id string) (sigv4.Credentials, bool) {
	p, ok := g.deps.Principals.Principal(id)
	if !ok {
		return sigv4.Credentials{}, false
	}
	return p.Credentials, true
}

// Service is the SigV4 signing name of a request to the AWS endpoint
// that is not addressed to S3: apigateway for the management API under
// /v2/, lambda for everything else (Portico's own /_portico/ endpoints
// included). Clients sign with it; the Gate checks it.
func Service(path string) string {
	if path == "/v2" || strings.HasPrefix(path, "/v2/") {
		return "apigateway"
	}
	return "lambda"
}

// apiPath matches the paths of the AWS APIs Portico serves besides S3:
// Lambda's dated paths, apigatewayv2's /v2/ and Portico's /_portico/.
var apiPath = regexp.MustCompile(`^/(?:\d{4}-\d{2}-\d{2}|v2|_portico)(?:/|$)`)

// operation is what a request asks for: admin-only unless action is set.
type operation struct {
	service  string
	action   string // InvokeAction, or "" for the admin's operations
	resource string
}

// classify names the operation of a request that is not S3's. Path
// segments are taken from the escaped path and unescaped one by one, as
// net/http's ServeMux matches {name}.
func (g *Gate) classify(r *http.Request) operation {
	op := operation{service: Service(r.URL.Path)}
	seg := strings.Split(r.URL.EscapedPath(), "/")
	if r.Method != http.MethodPost || len(seg) != 5 || seg[0] != "" || seg[2] != "functions" {
		return op
	}
	if !(seg[1] == "2015-03-31" && seg[4] == "invocations") && !(seg[1] == "2021-11-15" && seg[4] == "response-streaming-invocations") {
		return op
	}
	name, err := url.PathUnescape(seg[3])
	if err != nil {
		return op
	}
	arn, ok := invocation.InvokeResourceARN(g.cfg.Region, g.cfg.AccountID, name, r.URL.Query().Get("Qualifier"))
	if !ok {
		// An invalid name: the handler answers the validation error, to
		// a caller allowed to invoke any function.
		arn = invocation.FunctionARN(g.cfg.Region, g.cfg.AccountID, name)
	}
	op.action, op.resource = InvokeAction, arn
	return op
}

// ServeHTTP dispatches and authorizes one request (see the package
// contract).
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s3.IsS3Request(r) || !apiPath.MatchString(r.URL.Path) {
		g.deps.S3.ServeHTTP(w, r)
		return
	}
	op := g.classify(r)
	if r.Header.Get("Authorization") == "" && !r.URL.Query().Has("X-Amz-Credential") && !r.URL.Query().Has("X-Amz-Algorithm") {
		g.refuse(w, r, op, errMissingToken, sigv4.ErrMissingAuth)
		return
	}
	if id := accessKeyID(r); id != "" {
		if _, ok := g.deps.Principals.Principal(id); !ok {
			// Refused before the body is read: an unknown caller costs
			// nothing but its headers.
			g.refuse(w, r, op, errUnknownKey, sigv4.ErrUnknownKey)
			return
		}
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, g.cfg.MaxBody+1))
		if err != nil {
			g.refuse(w, r, op, &Error{Status: http.StatusBadRequest, Type: "InvalidRequestContentException", Message: "Could not read request body."}, err)
			return
		}
		if int64(len(body)) > g.cfg.MaxBody {
			g.refuse(w, r, op, &Error{Status: http.StatusRequestEntityTooLarge, Type: "RequestEntityTooLargeException",
				Message: fmt.Sprintf("Request must be smaller than %d bytes.", g.cfg.MaxBody)}, nil)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	id, err := g.verifier[op.service].Verify(r, body, op.service)
	if err != nil {
		g.refuse(w, r, op, g.authError(r, op, err), err)
		return
	}
	p, ok := g.deps.Principals.Principal(id.AccessKeyID)
	if !ok { // removed by a redeploy between Verify and now
		g.refuse(w, r, op, errUnknownKey, sigv4.ErrUnknownKey)
		return
	}
	if e, cause := g.authorize(r, p, op); e != nil {
		g.refuse(w, r, op, e, cause)
		return
	}
	g.deps.Next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
}

// accessKeyID is the access key ID a request claims (Authorization
// header or presigned query); "" when it names none.
func accessKeyID(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if a := r.Header.Get("Authorization"); a != "" {
		_, rest, _ := strings.Cut(a, "Credential=")
		cred, _, _ = strings.Cut(rest, ",")
	}
	id, _, _ := strings.Cut(cred, "/")
	return strings.TrimSpace(id)
}

// authorize decides op for p; nil when allowed.
func (g *Gate) authorize(r *http.Request, p *s3.Principal, op operation) (*Error, error) {
	if p.Admin {
		return nil, nil
	}
	who := p.ARN
	if who == "" {
		who = "arn:aws:iam::" + g.cfg.AccountID + ":user/" + p.Name
	}
	if op.action == "" {
		return &Error{Status: http.StatusForbidden, Type: "AccessDeniedException", Message: "User: " + who +
				" is not authorized to perform: " + r.Method + " " + r.URL.Path + " because only the admin principal may call Portico's management operations"},
			fmt.Errorf("%s: admin-only operation %s %s", p.Name, r.Method, r.URL.Path)
	}
	var keys iam.Keys // built only when a condition reads them
	if iam.AnyConditions(p.Policies) {
		keys = iam.NewKeys(r.RemoteAddr, r.TLS != nil, g.deps.Now(), p.ARN)
	}
	switch d := iam.EvaluateWith(p.Policies, op.action, op.resource, keys); d {
	case iam.Allow:
		return nil, nil
	case iam.Deny:
		return &Error{Status: http.StatusForbidden, Type: "AccessDeniedException", Message: "User: " + who +
			" is not authorized to perform: " + op.action + " on resource: " + op.resource +
			" with an explicit deny in an identity-based policy"}, fmt.Errorf("%s: %s on %s: %s", p.Name, op.action, op.resource, d)
	default:
		return &Error{Status: http.StatusForbidden, Type: "AccessDeniedException", Message: "User: " + who +
			" is not authorized to perform: " + op.action + " on resource: " + op.resource +
			" because no identity-based policy allows the " + op.action + " action"}, fmt.Errorf("%s: %s on %s: %s", p.Name, op.action, op.resource, d)
	}
}

// Error is a refusal as AWS's JSON services answer it: Status, the
// x-amzn-ErrorType header and a {"message"} body.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

var (
	errMissingToken = &Error{Status: http.StatusForbidden, Type: "MissingAuthenticationTokenException", Message: "Missing Authentication Token"}
	errUnknownKey   = &Error{Status: http.StatusForbidden, Type: "UnrecognizedClientException", Message: "The security token included in the request is invalid."}
	errSignature    = &Error{Status: http.StatusForbidden, Type: "InvalidSignatureException", Message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
)

// authError maps a sigv4 error to AWS's answer.
func (g *Gate) authError(r *http.Request, op operation, err error) *Error {
	switch {
	case errors.Is(err, sigv4.ErrMissingAuth):
		return errMissingToken
	case errors.Is(err, sigv4.ErrUnknownKey), errors.Is(err, sigv4.ErrSessionToken):
		return errUnknownKey
	case errors.Is(err, sigv4.ErrTimeSkewed), errors.Is(err, sigv4.ErrExpired):
		return g.expired(r)
	case errors.Is(err, sigv4.ErrMalformed) && strings.Contains(err.Error(), "credential scope names service"):
		return &Error{Status: http.StatusForbidden, Type: "InvalidSignatureException", Message: "Credential should be scoped to correct service: '" + op.service + "'. "}
	case errors.Is(err, sigv4.ErrMalformed) && strings.Contains(err.Error(), "credential scope names region"):
		return &Error{Status: http.StatusForbidden, Type: "InvalidSignatureException", Message: "Credential should be scoped to a valid region. "}
	case errors.Is(err, sigv4.ErrMalformed):
		return &Error{Status: http.StatusBadRequest, Type: "IncompleteSignatureException", Message: strings.TrimPrefix(err.Error(), "sigv4: malformed authentication: ")}
	}
	return errSignature // signature or payload hash mismatch
}

// expired is AWS's "Signature expired" (or "not yet current") answer.
func (g *Gate) expired(r *http.Request) *Error {
	const f = "20060102T150405Z"
	now := g.deps.Now().UTC()
	v := r.Header.Get("X-Amz-Date")
	if v == "" {
		v = r.URL.Query().Get("X-Amz-Date")
	}
	at, err := time.Parse(f, v)
	msg := "Signature expired: " + v + " is now earlier than " + now.Add(-Skew).Format(f) + " (" + now.Format(f) + " - 5 min.)"
	if err == nil && at.After(now) {
		msg = "Signature not yet current: " + v + " is still later than " + now.Add(Skew).Format(f) + " (" + now.Format(f) + " + 5 min.)"
	}
	return &Error{Status: http.StatusForbidden, Type: "InvalidSignatureException", Message: msg}
}

// refuse writes e; cause goes to the debug log only.
func (g *Gate) refuse(w http.ResponseWriter, r *http.Request, op operation, e *Error, cause error) {
	g.deps.Logger.Debug("aws endpoint: refused", "method", r.Method, "path", r.URL.Path, "error", e.Type, "cause", cause)
	body := map[string]string{"message": e.Message}
	if op.service == "lambda" && e.Type == "AccessDeniedException" {
		body["Type"] = "User" // Lambda's service errors carry it
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-ErrorType", e.Type)
	h.Set("x-amzn-RequestId", requestID())
	w.WriteHeader(e.Status)
	w.Write(b)
}

// requestID is a random UUID, as AWS's request IDs look.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

type principalKey struct{}

// PrincipalFrom returns the principal the Gate authorized the request
// for; nil outside the Gate (and for S3 requests).
func PrincipalFrom(ctx context.Context) *s3.Principal {
	p, _ := ctx.Value(principalKey{}).(*s3.Principal)
	return p
}
