// Package s3 is Portico's S3-compatible object store: the S3 REST API
// (path-style and virtual-hosted-style) as one net/http Handler, SigV4
// authentication through package sigv4, IAM policy evaluation through
// package iam, and a crash-safe file store under a data directory.
//
// Every request must be signed (header or presigned form). The signer's
// access key is resolved to a Principal through the Principals interface;
// an admin principal may do everything, any other is allowed an action only
// when one of its policies allows it and none denies it (s3:GetObject on
// arn:aws:s3:::bucket/key, s3:ListBucket on arn:aws:s3:::bucket, ...).
//
// Storage: each object is one file holding its data followed by its
// metadata; writes are staged in a temporary file, fsynced and renamed into
// place, so a crash leaves the previous object or the new one, never a mix
// (see store.go for the layout). A Server is safe for concurrent use.
package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/sigv4"
)

// Config configures a Server. It is read once by New.
type Config struct {
	// DataDir holds the store; objects live under DataDir/s3. Required.
	DataDir string
	// Region is the only region signatures may be scoped to and what
	// GetBucketLocation answers. Default us-east-1.
	Region string
	// Domains are the host-name suffixes under which a leading label names
	// the bucket (virtual-hosted style: BUCKET.s3.localhost:4566,
	// BUCKET.localhost:4566). Default ["s3.localhost", "localhost"]. Any
	// other host is path-style (/BUCKET/KEY).
	Domains []string
	// MaxObjectSize caps one PutObject or UploadPart body. Default 5 GiB
	// (S3's limit); larger bodies get EntityTooLarge.
	MaxObjectSize int64
	// MinPartSize is the smallest size of a multipart part other than the
	// last (EntityTooSmall on CompleteMultipartUpload). Default 5 MiB.
	MinPartSize int64
}

// Deps are the Server's collaborators.
type Deps struct {
	// Principals resolves access keys to callers. Required.
	Principals Principals
	// Now is the clock (signature windows, Last-Modified); default time.Now.
	Now func() time.Time
	// Logger receives server-side failures (500s); default: discard.
	Logger *slog.Logger
	// Notifier receives event notifications for functions (see
	// notify.go); nil refuses every notification configuration.
	Notifier Notifier
}

// Principal is who signed a request.
type Principal struct {
	// Name identifies the caller in logs, e.g. "admin", "function/resize",
	// "accessKey/ci".
	Name string
	// ARN is the caller as AWS names it in AccessDenied messages, e.g.
	// arn:aws:sts::000000000000:assumed-role/ROLE/FUNCTION. Optional.
	ARN string
	// Credentials are the key pair (and session token, for temporary
	// credentials) the request must be signed with.
	Credentials sigv4.Credentials
	// Admin principals may perform every action (Portico's CLI key).
	Admin bool
	// Policies are the principal's identity policies (a role's inline and
	// managed policies), evaluated together: explicit deny wins, otherwise
	// an allow is needed.
	Policies []*iam.Policy
}

// Principals resolves an access key ID to its principal. Implementations
// must be safe for concurrent use; the result must not be modified.
type Principals interface {
	Principal(accessKeyID string) (*Principal, bool)
}

// PrincipalsFunc adapts a function to Principals.
type PrincipalsFunc func(accessKeyID string) (*Principal, bool)

// Principal calls f.
func (f PrincipalsFunc) Principal(id string) (*Principal, bool) { return f(id) }

// Keyring is a Principals whose key set is replaced atomically with Set
// (on every redeploy). The zero value knows no key.
type Keyring struct {
	keys atomic.Pointer[map[string]*Principal]
}

var _ Principals = (*Keyring)(nil)
var _ Principals = PrincipalsFunc(nil)
var _ http.Handler = (*Server)(nil)

// Set replaces the known principals. It fails, changing nothing, when a
// principal lacks an access key ID or secret or when two share a key ID.
func (k *Keyring) Set(ps []Principal) error {
	m := make(map[string]*Principal, len(ps))
	for i := range ps {
		p := ps[i]
		if p.Credentials.AccessKeyID == "" || p.Credentials.SecretAccessKey == "" {
			return fmt.Errorf("s3 keyring: principal %q lacks an access key ID or secret", p.Name)
		}
		if q, dup := m[p.Credentials.AccessKeyID]; dup {
			return fmt.Errorf("s3 keyring: principals %q and %q share access key ID %s", q.Name, p.Name, p.Credentials.AccessKeyID)
		}
		m[p.Credentials.AccessKeyID] = &p
	}
	k.keys.Store(&m)
	return nil
}

// Principal returns the principal of an access key ID.
func (k *Keyring) Principal(id string) (*Principal, bool) {
	m := k.keys.Load()
	if m == nil {
		return nil, false
	}
	p, ok := (*m)[id]
	return p, ok
}

// Server serves the S3 API. Create it with New.
type Server struct {
	cfg      Config
	deps     Deps
	store    *store
	verifier sigv4.Verifier
	notes    notifications
}

// New opens (creating if needed) the store under cfg.DataDir, loading the
// index of every bucket, and returns the Server.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("s3: DataDir is required")
	}
	if deps.Principals == nil {
		return nil, errors.New("s3: Deps.Principals is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Domains == nil {
		cfg.Domains = []string{"s3.localhost", "localhost"}
	}
	if cfg.MaxObjectSize <= 0 {
		cfg.MaxObjectSize = 5 << 30
	}
	if cfg.MinPartSize <= 0 {
		cfg.MinPartSize = 5 << 20
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := openStore(filepath.Join(cfg.DataDir, "s3"))
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, store: st}
	if err := s.loadNotifications(); err != nil {
		return nil, err
	}
	s.verifier = sigv4.Verifier{
		Lookup: func(id string) (sigv4.Credentials, bool) {
			p, ok := deps.Principals.Principal(id)
			if !ok {
				return sigv4.Credentials{}, false
			}
			return p.Credentials, true
		},
		Now:    deps.Now,
		Region: cfg.Region,
	}
	return s, nil
}

// IsS3Request reports whether r is addressed to S3: its SigV4 credential
// scope names the s3 service, it is a SigV2 presigned URL (only S3 takes
// those), or it is a CORS preflight (only S3 serves browsers). The AWS
// endpoint's gate (package awsauth) sends such requests, and every request
// outside the other APIs' paths, to S3.
func IsS3Request(r *http.Request) bool {
	if isPreflight(r) || sigv4.IsPresignedV2(r) || isSigV2Header(r) {
		return true
	}
	cred := r.URL.Query().Get("X-Amz-Credential")
	if a := r.Header.Get("Authorization"); a != "" {
		_, rest, _ := strings.Cut(a, "Credential=")
		cred, _, _ = strings.Cut(rest, ",")
	}
	if cred == "" {
		return false
	}
	parts := strings.Split(cred, "/")
	return len(parts) == 5 && parts[3] == "s3"
}

// isSigV2Header reports a SigV2 Authorization header ("AWS AKID:sig"),
// which only S3 ever took; Portico refuses it with S3's error for regions
// without SigV2 (the presigned query form is accepted).
func isSigV2Header(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS ")
}

// call is one request being served.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	reqID   string
	bucket  string
	key     string
	hasKey  bool
	id      *sigv4.Identity
	who     *Principal
	body    io.Reader // the request body, decoded and verified as it is read
	srv     *Server
	chunked *chunkedReader
	started time.Time
}

// ServeHTTP serves one S3 request; errors are written as S3's XML errors.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, reqID: newRequestID(), srv: s, started: s.deps.Now()}
	w.Header().Set("x-amz-request-id", c.reqID)
	w.Header().Set("Server", "Portico")
	if err := s.serve(c); err != nil {
		var e *apiError
		if !errors.As(err, &e) || e.Status >= 500 {
			s.deps.Logger.Error("s3 request failed", "method", r.Method, "path", r.URL.Path, "request_id", c.reqID, "err", err)
		}
		writeError(w, r, c.reqID, err)
	}
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

func (s *Server) serve(c *call) error {
	r := c.r
	c.bucket, c.key, c.hasKey = s.address(r)
	if c.bucket != "" {
		if err := validBucketName(c.bucket); err != nil {
			return err
		}
	}
	if c.hasKey {
		if len(c.key) > 1024 {
			return errf(400, "KeyTooLongError", "Your key is too long")
		}
		if !utf8.ValidString(c.key) {
			return errf(400, "InvalidArgument", "Object key is not valid UTF-8")
		}
	}
	s.applyCORS(c)
	if isPreflight(r) {
		return s.preflight(c)
	}
	if isSigV2Header(r) {
		return errf(400, "InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	}
	var id *sigv4.Identity
	var err error
	if sigv4.IsPresignedV2(r) {
		id, err = s.verifier.VerifyPresignedV2(r, s.virtualHostPrefix(r, c.bucket))
	} else {
		id, err = s.verifier.Verify(r, nil, "s3")
	}
	if err != nil {
		return authError(err)
	}
	c.id = id
	c.who, _ = s.deps.Principals.Principal(id.AccessKeyID)
	if c.who == nil {
		return authError(sigv4.ErrUnknownKey)
	}
	body, err := s.requestBody(c)
	if err != nil {
		return err
	}
	c.body = body
	return s.dispatch(c)
}

// virtualHostPrefix is "/BUCKET" when r addresses bucket by its host name,
// "" for path-style requests: the part of a SigV2 canonical resource that
// is not in the path.
func (s *Server) virtualHostPrefix(r *http.Request, bucket string) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, d := range s.cfg.Domains {
		if bucket != "" && host == bucket+"."+d {
			return "/" + bucket
		}
	}
	return ""
}

// address splits the request into bucket and key, virtual-hosted style
// when the host is BUCKET.<domain>, else path-style.
func (s *Server) address(r *http.Request) (bucket, key string, hasKey bool) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	p := r.URL.Path
	for _, d := range s.cfg.Domains {
		if strings.HasSuffix(host, "."+d) {
			bucket = strings.TrimSuffix(host, "."+d)
			if k, ok := strings.CutPrefix(p, "/"); ok && k != "" {
				return bucket, k, true
			}
			return bucket, "", false
		}
	}
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "", "", false
	}
	bucket, key, hasKey = strings.Cut(p, "/")
	if hasKey && key == "" {
		hasKey = false
	}
	return bucket, key, hasKey
}

// authorize checks that the caller may perform action on resource.
func (c *call) authorize(action, resource string) error {
	if c.who.Admin {
		return nil
	}
	if iam.EvaluateWith(c.who.Policies, action, resource, c.conditionKeys(action)) != iam.Allow {
		return &apiError{Status: 403, Code: "AccessDenied", Message: "Access Denied",
			cause: fmt.Errorf("%s may not %s on %s", c.who.Name, action, resource)}
	}
	return nil
}

// conditionKeys are the IAM condition keys of the request: the global ones
// and, for the list actions, s3:prefix (empty when not given, as on AWS),
// s3:delimiter and s3:max-keys.
func (c *call) conditionKeys(action string) iam.Keys {
	if !iam.AnyConditions(c.who.Policies) {
		return nil // nothing reads them: skip the allocations
	}
	k := iam.NewKeys(c.r.RemoteAddr, c.r.TLS != nil, c.srv.deps.Now(), c.who.ARN)
	switch action {
	case "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads":
		k.Set(iam.KeyS3Prefix, c.q("prefix"))
		for _, name := range []string{"delimiter", "max-keys"} {
			if c.has(name) {
				k.Set("s3:"+name, c.q(name))
			}
		}
	}
	return k
}

func bucketARN(b string) string      { return "arn:aws:s3:::" + b }
func objectARN(b, k string) string   { return "arn:aws:s3:::" + b + "/" + k }
func (c *call) bucketARN() string    { return bucketARN(c.bucket) }
func (c *call) objectARN() string    { return objectARN(c.bucket, c.key) }
func (c *call) q(name string) string { return c.r.URL.Query().Get(name) }
func (c *call) has(name string) bool { _, ok := c.r.URL.Query()[name]; return ok }

func (c *call) getBucket() (*bucket, error) {
	b, ok := c.srv.store.bucket(c.bucket)
	if !ok {
		return nil, errNoSuchBucket(c.bucket)
	}
	return b, nil
}

// dispatch picks the operation: a sub-resource in the query goes through
// the sub-resource table (subresource.go), anything else by method, bucket
// and key.
func (s *Server) dispatch(c *call) error {
	m := c.r.Method
	if c.bucket == "" {
		if m == http.MethodGet {
			return s.listBuckets(c)
		}
		return errf(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
	if v, ok := c.r.URL.Query()["versionId"]; ok && c.hasKey && (len(v) != 1 || v[0] != "null") {
		// Buckets are never versioned: the only version is "null".
		return errf(400, "InvalidArgument", "Invalid version id specified")
	}
	if serve, _, ok := routeSubresource(c); ok {
		return serve(s, c)
	}
	if !c.hasKey {
		switch m {
		case http.MethodPut:
			return s.createBucket(c)
		case http.MethodDelete:
			return s.deleteBucket(c)
		case http.MethodHead:
			return s.headBucket(c)
		case http.MethodGet:
			if c.q("list-type") == "2" {
				return s.listObjectsV2(c)
			}
			return s.listObjectsV1(c)
		}
	} else {
		switch m {
		case http.MethodPut:
			if c.r.Header.Get("x-amz-copy-source") != "" {
				return s.copyObject(c)
			}
			return s.putObject(c)
		case http.MethodGet, http.MethodHead:
			return s.getObject(c)
		case http.MethodDelete:
			return s.deleteObject(c)
		}
	}
	return errf(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
}

// validBucketName applies S3's general purpose bucket naming rules.
func validBucketName(n string) error {
	bad := func(why string) error {
		return errf(400, "InvalidBucketName", "The specified bucket is not valid: %s", why)
	}
	if len(n) < 3 || len(n) > 63 {
		return bad("names are 3 to 63 characters long")
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return bad("only lower-case letters, digits, dots and hyphens are allowed")
		}
	}
	first, last := n[0], n[len(n)-1]
	if first == '.' || first == '-' || last == '.' || last == '-' {
		return bad("names begin and end with a letter or digit")
	}
	if strings.Contains(n, "..") {
		return bad("names must not contain two adjacent dots")
	}
	if ip := net.ParseIP(n); ip != nil {
		return bad("names must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(n, p) {
			return bad("names must not start with " + p)
		}
	}
	for _, suf := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(n, suf) {
			return bad("names must not end with " + suf)
		}
	}
	return nil
}

// contextDone reports whether the request was cancelled.
func contextDone(ctx context.Context) bool { return ctx.Err() != nil }
