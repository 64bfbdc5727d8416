// Package sigv4 verifies AWS Signature Version 4 on requests Portico serves
// (AWS_IAM routes, the Lambda Invoke API, the S3 API).
//
// Both forms are supported: the Authorization header
// ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...") and
// presigned URLs (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature and, with temporary
// credentials, X-Amz-Security-Token in the query). Signature Version 4a
// (ECDSA) is not supported.
//
// Canonicalisation follows the AWS definition:
//   - canonical URI: for every service but S3 the path as sent on the wire
//     is URI-encoded once more (so "%20" becomes "%2520"); for S3 the path
//     is decoded and each segment encoded once, and neither form removes
//     "." or ".." segments or repeated slashes: the path signed must be the
//     path sent;
//   - canonical query: parameters decoded ("+" as space), re-encoded per
//     RFC 3986 (unreserved characters kept, everything else %XX, upper-case
//     hex), sorted by encoded name then encoded value; X-Amz-Signature is
//     left out of presigned URLs;
//   - canonical headers: names lower-cased, values trimmed with runs of
//     spaces collapsed, repeated headers joined with ","; host comes from
//     Request.Host and content-length from Request.ContentLength when the
//     header map lacks it; a default port (":80", ":443") is dropped from
//     the host, as the SDKs do when signing;
//   - payload hash: x-amz-content-sha256 when present (a hex digest, which
//     is checked against the body, or UNSIGNED-PAYLOAD, or a STREAMING-*
//     value), else the SHA-256 of the body; presigned S3 URLs use
//     UNSIGNED-PAYLOAD.
//
// Streaming uploads (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// and its -TRAILER variant, Content-Encoding aws-chunked) are verified up to
// the seed signature only: the chunk signatures depend on a body Verify never
// reads. The S3 layer checks each chunk with Identity.ChunkSignature and the
// trailer with Identity.TrailerSignature, which chain from Identity.Signature
// using Identity.SigningKey.
//
// S3's Signature Version 2 presigned URLs (AWSAccessKeyId, Expires,
// Signature in the query) are verified by VerifyPresignedV2 (sigv2.go).
//
// Signatures are compared in constant time. A Verifier is safe for
// concurrent use once its fields are set.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/httptoken"
)

// Algorithm is the only signing algorithm Verify accepts.
const Algorithm = "AWS4-HMAC-SHA256"

// Special payload hashes (the x-amz-content-sha256 values that are not a
// digest of the body).
const (
	UnsignedPayload          = "UNSIGNED-PAYLOAD"
	StreamingPayload         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingPayloadTrailer  = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// DefaultSkew is the allowed difference between the signing time and now,
// both ways, when Verifier.Skew is zero.
const DefaultSkew = 15 * time.Minute

// maxPresignExpiry is the longest X-Amz-Expires AWS accepts (7 days).
const maxPresignExpiry = 7 * 24 * time.Hour

const timeFormat = "20060102T150405Z"

// Errors Verify returns, wrapped with details: test with errors.Is. Each
// maps to an AWS error code; which one depends on the service:
var (
	// ErrMissingAuth: no Authorization header and no presigned query
	// (MissingAuthenticationToken; S3 AccessDenied).
	ErrMissingAuth = errors.New("sigv4: missing authentication")
	// ErrMalformed: an unparsable Authorization header or presigned query,
	// a wrong algorithm, scope, service or region, a missing date
	// (IncompleteSignature / AuthorizationHeaderMalformed /
	// AuthorizationQueryParametersError).
	ErrMalformed = errors.New("sigv4: malformed authentication")
	// ErrUnknownKey: Lookup does not know the access key ID
	// (InvalidClientTokenId / UnrecognizedClientException; S3
	// InvalidAccessKeyId).
	ErrUnknownKey = errors.New("sigv4: unknown access key")
	// ErrSignatureMismatch: the signature does not match
	// (SignatureDoesNotMatch / InvalidSignatureException).
	ErrSignatureMismatch = errors.New("sigv4: signature does not match")
	// ErrPayloadMismatch: x-amz-content-sha256 is not the body's digest
	// (S3 XAmzContentSHA256Mismatch).
	ErrPayloadMismatch = errors.New("sigv4: payload hash does not match body")
	// ErrTimeSkewed: the signing time is more than Skew away from now
	// ("Signature expired" / S3 RequestTimeTooSkewed).
	ErrTimeSkewed = errors.New("sigv4: request time too skewed")
	// ErrExpired: a presigned URL used after X-Amz-Expires
	// (S3 AccessDenied "Request has expired").
	ErrExpired = errors.New("sigv4: presigned request expired")
	// ErrSessionToken: the security token is missing, unexpected or wrong
	// for the key (InvalidToken / UnrecognizedClientException).
	ErrSessionToken = errors.New("sigv4: security token invalid")
)

// Credentials are the secret side of an access key.
type Credentials struct {
	AccessKeyID, SecretAccessKey string
	// SessionToken is set for temporary credentials; the request must then
	// carry exactly this X-Amz-Security-Token, and must carry none otherwise.
	SessionToken string
}

// Lookup returns the credentials of an access key ID, false when unknown.
// It must be safe for concurrent use.
type Lookup func(accessKeyID string) (Credentials, bool)

// Identity is what a verified request proves.
type Identity struct {
	AccessKeyID string
	Region      string
	Service     string
	SignedAt    time.Time
	// SessionToken is the verified security token ("" for long-term keys).
	SessionToken string
	// Presigned is true for the query form; Expires is then when it lapses.
	Presigned bool
	Expires   time.Time
	// SignedHeaders are the lower-cased names the signature covers.
	SignedHeaders []string
	// PayloadHash is the payload line of the canonical request: a hex
	// digest, UnsignedPayload or a STREAMING-* value. PayloadVerified
	// reports whether Verify checked the body against a hex digest; when it
	// is false and PayloadHash is a digest (body passed as nil), the caller
	// must check the body itself.
	PayloadHash     string
	PayloadVerified bool
	// Signature is the request (seed) signature, hex. Scope is
	// "DATE/REGION/SERVICE/aws4_request" and SigningKey the derived key:
	// with them the S3 layer verifies aws-chunked chunk signatures.
	Signature  string
	Scope      string
	SigningKey []byte
}

// ChunkSignature returns the signature of one aws-chunked chunk whose
// predecessor (the seed signature for the first chunk) is previous. The
// final, empty chunk is signed too.
func (id *Identity) ChunkSignature(previous string, chunk []byte) string {
	sum := sha256.Sum256(chunk)
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + id.SignedAt.UTC().Format(timeFormat) + "\n" + id.Scope + "\n" +
		previous + "\n" + emptyHash + "\n" + hex.EncodeToString(sum[:])
	return hex.EncodeToString(hmacSHA256(id.SigningKey, sts))
}

// TrailerSignature returns the signature of the trailing headers of an
// aws-chunked body (the bytes "name:value\n" for each trailer), chained
// from the last chunk's signature.
func (id *Identity) TrailerSignature(previous string, trailer []byte) string {
	sum := sha256.Sum256(trailer)
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + id.SignedAt.UTC().Format(timeFormat) + "\n" + id.Scope + "\n" +
		previous + "\n" + hex.EncodeToString(sum[:])
	return hex.EncodeToString(hmacSHA256(id.SigningKey, sts))
}

// Verifier checks SigV4 signatures against the keys Lookup knows.
type Verifier struct {
	Lookup Lookup
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Skew is the allowed clock difference both ways; zero means
	// DefaultSkew.
	Skew time.Duration
	// Region, when set, is the only region a credential scope may name.
	Region string
	// Keys, when set, keeps derived signing keys (one per secret, day,
	// region and service) so that a key's requests of the same day skip
	// the four HMACs of the derivation; nil derives every time.
	Keys *KeyCache
}

// KeyCache holds derived signing keys; the zero value is ready and safe
// for concurrent use. It forgets everything past maxCachedKeys entries.
// Identity.SigningKey is then shared between requests: callers must not
// modify it.
type KeyCache struct {
	mu   sync.Mutex
	keys map[string][]byte
}

const maxCachedKeys = 4096

func (c *KeyCache) get(secret, date, region, service string) []byte {
	id := secret + "\x00" + date + "\x00" + region + "\x00" + service
	c.mu.Lock()
	k, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = SigningKey(secret, date, region, service)
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxCachedKeys {
		c.keys = map[string][]byte{}
	}
	c.keys[id] = k
	c.mu.Unlock()
	return k
}

var emptyHash = hex.EncodeToString(sha256.New().Sum(nil))

// auth is the parsed authentication of one request.
type auth struct {
	presigned     bool
	accessKeyID   string
	date          string // scope date YYYYMMDD
	region        string
	service       string
	signedHeaders []string
	signedRaw     string
	signature     string
	amzDate       time.Time
	expires       time.Duration
	token         string
}

// Verify checks the signature of r for the signing service service ("s3"
// selects the S3 canonical URI rules). body is the request body already
// read; pass nil when it is not available (presigned requests, streaming or
// unsigned payloads, or when the caller checks Identity.PayloadHash itself).
// Verify never reads r.Body. Errors wrap one of the Err* values above.
func (v *Verifier) Verify(r *http.Request, body []byte, service string) (*Identity, error) {
	a, err := parseAuth(r)
	if err != nil {
		return nil, err
	}
	if a.service != service {
		return nil, fmt.Errorf("%w: credential scope names service %q, want %q", ErrMalformed, a.service, service)
	}
	if v.Region != "" && a.region != v.Region {
		return nil, fmt.Errorf("%w: credential scope names region %q, want %q", ErrMalformed, a.region, v.Region)
	}
	if !contains(a.signedHeaders, "host") {
		return nil, fmt.Errorf("%w: host is not among the signed headers", ErrMalformed)
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	skew := v.Skew
	if skew <= 0 {
		skew = DefaultSkew
	}
	if a.presigned {
		if a.amzDate.After(now.Add(skew)) {
			return nil, fmt.Errorf("%w: presigned request signed at %s is in the future", ErrTimeSkewed, a.amzDate.Format(timeFormat))
		}
		if now.After(a.amzDate.Add(a.expires)) {
			return nil, fmt.Errorf("%w: at %s", ErrExpired, a.amzDate.Add(a.expires).Format(timeFormat))
		}
	} else if d := now.Sub(a.amzDate); d > skew || d < -skew {
		return nil, fmt.Errorf("%w: signed at %s, now %s", ErrTimeSkewed, a.amzDate.Format(timeFormat), now.UTC().Format(timeFormat))
	}
	if v.Lookup == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, a.accessKeyID)
	}
	creds, ok := v.Lookup(a.accessKeyID)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, a.accessKeyID)
	}
	if subtle.ConstantTimeCompare([]byte(creds.SessionToken), []byte(a.token)) != 1 {
		switch {
		case a.token == "":
			return nil, fmt.Errorf("%w: temporary credentials need X-Amz-Security-Token", ErrSessionToken)
		case creds.SessionToken == "":
			return nil, fmt.Errorf("%w: token sent with a long-term key", ErrSessionToken)
		default:
			return nil, fmt.Errorf("%w: token does not belong to the key", ErrSessionToken)
		}
	}

	payload, verified, err := payloadHash(r, a, body, service)
	if err != nil {
		return nil, err
	}
	scope := a.date + "/" + a.region + "/" + a.service + "/aws4_request"
	var key []byte
	if v.Keys != nil {
		key = v.Keys.get(creds.SecretAccessKey, a.date, a.region, a.service)
	} else {
		key = SigningKey(creds.SecretAccessKey, a.date, a.region, a.service)
	}
	want, err := hex.DecodeString(a.signature)
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not hex", ErrMalformed)
	}
	headers, err := canonicalHeaders(r, a.signedHeaders)
	if err != nil {
		return nil, err
	}
	queries, err := canonicalQueries(r, a.presigned)
	if err != nil {
		return nil, err
	}
	matched := false
	for _, uri := range canonicalURIs(r, service == "s3") {
		for _, query := range queries {
			creq := r.Method + "\n" + uri + "\n" + query + "\n" + headers + "\n" + a.signedRaw + "\n" + payload
			sum := sha256.Sum256([]byte(creq))
			sts := Algorithm + "\n" + a.amzDate.Format(timeFormat) + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
			if hmac.Equal(hmacSHA256(key, sts), want) {
				matched = true
				break
			}
		}
		if matched {
			break
		}
	}
	if !matched {
		return nil, fmt.Errorf("%w: access key %s", ErrSignatureMismatch, a.accessKeyID)
	}
	id := &Identity{
		AccessKeyID: a.accessKeyID, Region: a.region, Service: a.service, SignedAt: a.amzDate,
		SessionToken: a.token, Presigned: a.presigned, SignedHeaders: a.signedHeaders,
		PayloadHash: payload, PayloadVerified: verified,
		Signature: a.signature, Scope: scope, SigningKey: key,
	}
	if a.presigned {
		id.Expires = a.amzDate.Add(a.expires)
	}
	return id, nil
}

// SigningKey derives the SigV4 signing key for a secret, scope date
// (YYYYMMDD), region and service.
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func parseAuth(r *http.Request) (*auth, error) {
	hdrs := r.Header.Values("Authorization")
	q := r.URL.Query()
	_, hasQuery := q["X-Amz-Algorithm"]
	switch {
	case len(hdrs) > 1:
		return nil, fmt.Errorf("%w: more than one Authorization header", ErrMalformed)
	case len(hdrs) == 1 && hasQuery:
		return nil, fmt.Errorf("%w: both an Authorization header and X-Amz-Algorithm; only one auth mechanism is allowed", ErrMalformed)
	case len(hdrs) == 1:
		return parseHeader(r, hdrs[0])
	case hasQuery:
		return parseQuery(q)
	default:
		if _, ok := q["X-Amz-Signature"]; ok {
			return nil, fmt.Errorf("%w: presigned query lacks X-Amz-Algorithm", ErrMalformed)
		}
		return nil, ErrMissingAuth
	}
}

func parseHeader(r *http.Request, h string) (*auth, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != Algorithm {
		if alg == "" {
			return nil, fmt.Errorf("%w: empty Authorization header", ErrMissingAuth)
		}
		return nil, fmt.Errorf("%w: unsupported algorithm %.40q, want %s", ErrMalformed, alg, Algorithm)
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%w: Authorization component %.40q is not name=value", ErrMalformed, part)
		}
		switch k {
		case "Credential":
			if haveCred {
				return nil, fmt.Errorf("%w: Credential given twice", ErrMalformed)
			}
			cred, haveCred = val, true
		case "SignedHeaders":
			if haveSigned {
				return nil, fmt.Errorf("%w: SignedHeaders given twice", ErrMalformed)
			}
			signed, haveSigned = val, true
		case "Signature":
			if haveSig {
				return nil, fmt.Errorf("%w: Signature given twice", ErrMalformed)
			}
			sig, haveSig = val, true
		default:
			return nil, fmt.Errorf("%w: unknown Authorization component %.40q", ErrMalformed, k)
		}
	}
	switch {
	case !haveCred:
		return nil, fmt.Errorf("%w: Authorization lacks Credential", ErrMalformed)
	case !haveSigned:
		return nil, fmt.Errorf("%w: Authorization lacks SignedHeaders", ErrMalformed)
	case !haveSig:
		return nil, fmt.Errorf("%w: Authorization lacks Signature", ErrMalformed)
	}
	a := &auth{}
	if err := a.setCredential(cred); err != nil {
		return nil, err
	}
	if err := a.setSignedHeaders(signed); err != nil {
		return nil, err
	}
	if err := a.setSignature(sig); err != nil {
		return nil, err
	}
	var err error
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		a.amzDate, err = time.Parse(timeFormat, d)
		if err != nil {
			return nil, fmt.Errorf("%w: X-Amz-Date %.40q is not YYYYMMDDTHHMMSSZ", ErrMalformed, d)
		}
	} else if d := r.Header.Get("Date"); d != "" {
		a.amzDate, err = http.ParseTime(d)
		if err != nil {
			return nil, fmt.Errorf("%w: Date %.40q is not an HTTP date", ErrMalformed, d)
		}
		a.amzDate = a.amzDate.UTC()
	} else {
		return nil, fmt.Errorf("%w: neither X-Amz-Date nor Date is present", ErrMalformed)
	}
	if err := a.checkDate(); err != nil {
		return nil, err
	}
	tokens := r.Header.Values("X-Amz-Security-Token")
	if len(tokens) > 1 {
		return nil, fmt.Errorf("%w: more than one X-Amz-Security-Token", ErrMalformed)
	}
	if len(tokens) == 1 {
		a.token = tokens[0]
	}
	return a, nil
}

func parseQuery(q map[string][]string) (*auth, error) {
	get := func(name string, required bool) (string, error) {
		vs := q[name]
		switch {
		case len(vs) > 1:
			return "", fmt.Errorf("%w: %s given more than once", ErrMalformed, name)
		case len(vs) == 0 && required:
			return "", fmt.Errorf("%w: presigned query lacks %s", ErrMalformed, name)
		case len(vs) == 0:
			return "", nil
		}
		return vs[0], nil
	}
	a := &auth{presigned: true}
	alg, err := get("X-Amz-Algorithm", true)
	if err != nil {
		return nil, err
	}
	if alg != Algorithm {
		return nil, fmt.Errorf("%w: unsupported algorithm %.40q, want %s", ErrMalformed, alg, Algorithm)
	}
	vals := map[string]string{}
	for _, n := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if vals[n], err = get(n, true); err != nil {
			return nil, err
		}
	}
	if a.token, err = get("X-Amz-Security-Token", false); err != nil {
		return nil, err
	}
	if err := a.setCredential(vals["X-Amz-Credential"]); err != nil {
		return nil, err
	}
	if err := a.setSignedHeaders(vals["X-Amz-SignedHeaders"]); err != nil {
		return nil, err
	}
	if err := a.setSignature(vals["X-Amz-Signature"]); err != nil {
		return nil, err
	}
	if a.amzDate, err = time.Parse(timeFormat, vals["X-Amz-Date"]); err != nil {
		return nil, fmt.Errorf("%w: X-Amz-Date %.40q is not YYYYMMDDTHHMMSSZ", ErrMalformed, vals["X-Amz-Date"])
	}
	if err := a.checkDate(); err != nil {
		return nil, err
	}
	secs, err := strconv.ParseInt(vals["X-Amz-Expires"], 10, 64)
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > maxPresignExpiry {
		return nil, fmt.Errorf("%w: X-Amz-Expires %.20q must be 1 to 604800 seconds", ErrMalformed, vals["X-Amz-Expires"])
	}
	a.expires = time.Duration(secs) * time.Second
	return a, nil
}

func (a *auth) setCredential(c string) error {
	parts := strings.Split(c, "/")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" || parts[3] == "" || parts[4] != "aws4_request" {
		return fmt.Errorf("%w: Credential %.80q is not KEY/YYYYMMDD/REGION/SERVICE/aws4_request", ErrMalformed, c)
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil || len(parts[1]) != 8 {
		return fmt.Errorf("%w: Credential date %.20q is not YYYYMMDD", ErrMalformed, parts[1])
	}
	a.accessKeyID, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

func (a *auth) setSignedHeaders(s string) error {
	if s == "" {
		return fmt.Errorf("%w: SignedHeaders is empty", ErrMalformed)
	}
	names := strings.Split(s, ";")
	for i, n := range names {
		if n == "" || !validHeaderName(n) {
			return fmt.Errorf("%w: SignedHeaders entry %.40q is not a lower-case header name", ErrMalformed, n)
		}
		if i > 0 && names[i-1] >= n {
			return fmt.Errorf("%w: SignedHeaders must be sorted and without duplicates", ErrMalformed)
		}
	}
	a.signedHeaders, a.signedRaw = names, s
	return nil
}

func (a *auth) setSignature(s string) error {
	if len(s) != 64 {
		return fmt.Errorf("%w: Signature must be 64 hex digits", ErrMalformed)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%w: Signature must be 64 lower-case hex digits", ErrMalformed)
		}
	}
	a.signature = s
	return nil
}

func (a *auth) checkDate() error {
	if d := a.amzDate.Format("20060102"); d != a.date {
		return fmt.Errorf("%w: credential scope date %s differs from request date %s", ErrMalformed, a.date, d)
	}
	return nil
}

func validHeaderName(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= 'A' && c <= 'Z' || !httptoken.IsTokenByte(c) {
			return false
		}
	}
	return true
}

func contains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

func payloadHash(r *http.Request, a *auth, body []byte, service string) (string, bool, error) {
	var h string
	if a.presigned {
		h = r.URL.Query().Get("X-Amz-Content-Sha256")
		if h == "" {
			h = r.Header.Get("X-Amz-Content-Sha256")
		}
		if h == "" {
			if service == "s3" {
				return UnsignedPayload, false, nil
			}
			sum := sha256.Sum256(body)
			return hex.EncodeToString(sum[:]), body != nil, nil
		}
	} else {
		vs := r.Header.Values("X-Amz-Content-Sha256")
		if len(vs) > 1 {
			return "", false, fmt.Errorf("%w: more than one x-amz-content-sha256", ErrMalformed)
		}
		if len(vs) == 0 {
			sum := sha256.Sum256(body)
			return hex.EncodeToString(sum[:]), true, nil
		}
		h = vs[0]
	}
	switch h {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer:
		return h, false, nil
	}
	if len(h) != 64 {
		return "", false, fmt.Errorf("%w: x-amz-content-sha256 %.80q is neither a SHA-256 hex digest nor a known keyword", ErrMalformed, h)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", false, fmt.Errorf("%w: x-amz-content-sha256 is not hex", ErrMalformed)
	}
	h = strings.ToLower(h)
	if body == nil && r.ContentLength != 0 {
		return h, false, nil
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != h {
		return "", false, fmt.Errorf("%w: x-amz-content-sha256 %s", ErrPayloadMismatch, h)
	}
	return h, true, nil
}

// canonicalHeaders builds the canonical header block (each "name:value\n").
func canonicalHeaders(r *http.Request, names []string) (string, error) {
	var b strings.Builder
	for _, n := range names {
		var vals []string
		switch n {
		case "host":
			vals = []string{r.Host}
			if r.Host == "" {
				vals = r.Header.Values("Host")
			}
			if len(vals) == 1 {
				// SDKs sign the host without a default port (:80, :443).
				vals[0] = strings.TrimSuffix(strings.TrimSuffix(vals[0], ":80"), ":443")
			}
		default:
			vals = r.Header.Values(n)
			if len(vals) == 0 && n == "content-length" && r.ContentLength >= 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
			if len(vals) == 0 && n == "transfer-encoding" && len(r.TransferEncoding) > 0 {
				vals = []string{strings.Join(r.TransferEncoding, ",")}
			}
		}
		if len(vals) == 0 {
			return "", fmt.Errorf("%w: signed header %q is not in the request", ErrSignatureMismatch, n)
		}
		b.WriteString(n)
		b.WriteByte(':')
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(collapseSpaces(v))
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// collapseSpaces trims v and replaces each run of spaces with one space
// (tabs are kept, as the AWS SDKs keep them).
func collapseSpaces(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}

// wirePath is the request path exactly as the client sent it.
func wirePath(r *http.Request) string {
	p := ""
	if r.RequestURI != "" && r.RequestURI != "*" {
		p = r.RequestURI
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
			// absolute-form request target: drop scheme and authority
			rest := p[strings.Index(p, "//")+2:]
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				p = rest[i:]
			} else {
				p = ""
			}
		}
	} else if r.URL != nil {
		p = r.URL.EscapedPath()
	}
	if p == "" {
		p = "/"
	}
	return p
}

// canonicalURIs returns the canonical URI candidates: one for most
// services; for S3 the strict once-encoded form first and, when it differs,
// the path as sent (which SDKs sign for S3 when they already encoded it
// their way). Both denote the same decoded path.
func canonicalURIs(r *http.Request, s3 bool) []string {
	p := wirePath(r)
	if !s3 {
		return []string{URIEncode(p, false)}
	}
	dec, err := pathUnescape(p)
	if err != nil {
		return []string{p}
	}
	strict := URIEncode(dec, false)
	if strict == p {
		return []string{p}
	}
	return []string{strict, p}
}

func pathUnescape(p string) (string, error) {
	if !strings.Contains(p, "%") {
		return p, nil
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			return "", errors.New("bad escape")
		}
		b.WriteByte(unhex(p[i+1])<<4 | unhex(p[i+2]))
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// URIEncode percent-encodes s per SigV4: unreserved characters
// (A-Z a-z 0-9 - _ . ~) are kept, '/' is kept unless encodeSlash, every
// other byte becomes %XX with upper-case hex.
func URIEncode(s string, encodeSlash bool) string {
	const hexdigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && (s[i] != '/' || encodeSlash) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (c == '/' && !encodeSlash) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexdigits[c>>4], hexdigits[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

type pair struct{ k, v string }

// canonicalQueries returns the canonical query candidates: sorted by
// encoded name and value as AWS defines it and, when it differs, sorted by
// decoded name and value (what aws-sdk-go-v2 does). Both hold the same
// parameters.
func canonicalQueries(r *http.Request, presigned bool) ([]string, error) {
	raw := r.URL.RawQuery
	if raw == "" {
		return []string{""}, nil
	}
	var enc, dec []pair
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, ok1 := queryUnescape(k)
		dv, ok2 := queryUnescape(v)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: query parameter %.40q has an invalid %%-escape", ErrMalformed, part)
		}
		if presigned && dk == "X-Amz-Signature" {
			continue
		}
		enc = append(enc, pair{URIEncode(dk, true), URIEncode(dv, true)})
		dec = append(dec, pair{dk, dv})
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].k != enc[j].k {
			return enc[i].k < enc[j].k
		}
		return enc[i].v < enc[j].v
	})
	first := joinPairs(enc, false)
	sort.SliceStable(dec, func(i, j int) bool {
		if dec[i].k != dec[j].k {
			return dec[i].k < dec[j].k
		}
		return dec[i].v < dec[j].v
	})
	second := joinPairs(dec, true)
	if second == first {
		return []string{first}, nil
	}
	return []string{first, second}, nil
}

func joinPairs(ps []pair, encode bool) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		if encode {
			b.WriteString(URIEncode(p.k, true))
			b.WriteByte('=')
			b.WriteString(URIEncode(p.v, true))
		} else {
			b.WriteString(p.k)
			b.WriteByte('=')
			b.WriteString(p.v)
		}
	}
	return b.String()
}

// queryUnescape decodes a query component: %XX escapes and '+' as space.
// ok is false for an invalid escape.
func queryUnescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}
