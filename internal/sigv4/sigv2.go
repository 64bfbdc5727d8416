package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// S3 still accepts Signature Version 2 presigned URLs (query parameters
// AWSAccessKeyId, Expires — Unix seconds — and Signature), and boto3 and
// AWS CLI v1 `aws s3 presign` make them by default for us-east-1. Only
// this query form is verified here; the SigV2 Authorization header
// ("AWS AKID:signature") is not accepted.
//
// The string to sign is
//
//	METHOD \n Content-MD5 \n Content-Type \n Expires \n
//	x-amz-* headers and query parameters ("name:value\n", lower-case, sorted)
//	canonical resource
//
// where the canonical resource is "/bucket/key" as sent on the wire (the
// bucket taken from the host for virtual-hosted addressing) followed by
// the sub-resources and response-* overrides of the query, sorted by name.
// The signature is base64(HMAC-SHA1(secret, string to sign)).

// v2Subresources are the query parameters a SigV2 canonical resource
// includes.
var v2Subresources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "cors": true, "delete": true, "inventory": true,
	"lifecycle": true, "location": true, "logging": true, "metrics": true, "notification": true,
	"object-lock": true, "partNumber": true, "policy": true, "replication": true, "requestPayment": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
	"restore": true, "select": true, "select-type": true, "tagging": true, "torrent": true,
	"uploadId": true, "uploads": true, "versionId": true, "versioning": true, "versions": true, "website": true,
}

// IsPresignedV2 reports whether r carries a SigV2 presigned query
// (AWSAccessKeyId and Signature, without X-Amz-Algorithm).
func IsPresignedV2(r *http.Request) bool {
	q := r.URL.Query()
	_, v4 := q["X-Amz-Algorithm"]
	return !v4 && q.Get("AWSAccessKeyId") != "" && q.Has("Signature")
}

// VerifyPresignedV2 checks a SigV2 presigned S3 request. bucketPrefix is
// "/BUCKET" when the bucket is addressed by the host name (virtual-hosted
// style), "" otherwise. The Identity it returns is Presigned with an
// UnsignedPayload and no signing key (aws-chunked bodies are not
// possible). Errors wrap the Err* values: ErrExpired once Expires has
// passed, ErrUnknownKey, ErrSessionToken, ErrSignatureMismatch,
// ErrMalformed.
func (v *Verifier) VerifyPresignedV2(r *http.Request, bucketPrefix string) (*Identity, error) {
	q := r.URL.Query()
	if len(r.Header.Values("Authorization")) > 0 {
		return nil, fmt.Errorf("%w: both an Authorization header and a presigned query; only one auth mechanism is allowed", ErrMalformed)
	}
	id, expiresRaw, sigRaw := q.Get("AWSAccessKeyId"), q.Get("Expires"), q.Get("Signature")
	exp, err := strconv.ParseInt(expiresRaw, 10, 64)
	if err != nil || exp < 0 {
		return nil, fmt.Errorf("%w: Expires %q is not a Unix time", ErrMalformed, expiresRaw)
	}
	want, err := base64.StdEncoding.DecodeString(sigRaw)
	if err != nil || len(want) != sha1.Size {
		return nil, fmt.Errorf("%w: access key %s: signature is not a base64 HMAC-SHA1", ErrSignatureMismatch, id)
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	expires := time.Unix(exp, 0).UTC()
	if now.After(expires) {
		return nil, fmt.Errorf("%w: at %s", ErrExpired, expires.Format(timeFormat))
	}
	if v.Lookup == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, id)
	}
	creds, ok := v.Lookup(id)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, id)
	}
	token := q.Get("x-amz-security-token")
	if token == "" {
		token = r.Header.Get("x-amz-security-token")
	}
	if subtle.ConstantTimeCompare([]byte(creds.SessionToken), []byte(token)) != 1 {
		return nil, fmt.Errorf("%w: security token does not belong to the key", ErrSessionToken)
	}
	prefix := r.Method + "\n" + r.Header.Get("Content-MD5") + "\n" + r.Header.Get("Content-Type") + "\n" +
		expiresRaw + "\n" + v2AmzHeaders(r, q)
	sub := v2SubresourceQuery(q)
	for _, p := range v2Paths(r) {
		mac := hmac.New(sha1.New, []byte(creds.SecretAccessKey))
		mac.Write([]byte(prefix + bucketPrefix + p + sub))
		if hmac.Equal(mac.Sum(nil), want) {
			return &Identity{AccessKeyID: id, Service: "s3", SignedAt: now, SessionToken: token,
				Presigned: true, Expires: expires, SignedHeaders: []string{"host"},
				PayloadHash: UnsignedPayload, Signature: sigRaw}, nil
		}
	}
	return nil, fmt.Errorf("%w: access key %s (SigV2)", ErrSignatureMismatch, id)
}

// v2AmzHeaders is the canonical x-amz-* block: headers and query
// parameters named x-amz-*, lower-case names, values of one name joined
// with ",", each line "name:value\n", sorted by name.
func v2AmzHeaders(r *http.Request, q url.Values) string {
	m := map[string][]string{}
	for k, vs := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			for _, v := range vs {
				m[lk] = append(m[lk], strings.TrimSpace(v))
			}
		}
	}
	for k, vs := range q {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			m[lk] = append(m[lk], vs...)
		}
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + ":" + strings.Join(m[k], ",") + "\n")
	}
	return b.String()
}

// v2SubresourceQuery is "?name=value&name" for the sub-resources of q,
// sorted by name, values decoded; "" when there are none.
func v2SubresourceQuery(q url.Values) string {
	var names []string
	for k := range q {
		if v2Subresources[k] {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		v := q.Get(k)
		if v == "" {
			parts = append(parts, k)
		} else {
			parts = append(parts, k+"="+v)
		}
	}
	return "?" + strings.Join(parts, "&")
}

// v2Paths are the resource path candidates: the path as sent on the wire,
// then S3's strict encoding of the same decoded path when it differs.
func v2Paths(r *http.Request) []string {
	return canonicalURIs(r, true)
}
