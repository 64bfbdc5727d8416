package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func TestVerifyPresignedV2(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	keys := map[string]Credentials{
		"AKIAIOSFODNN7EXAMPLE": {AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: secret},
		"ASIATEMP":             {AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "tok"},
	}
	v := &Verifier{
		Lookup: func(id string) (Credentials, bool) { c, ok := keys[id]; return c, ok },
		Now:    func() time.Time { return time.Unix(1175139000, 0) },
	}
	sign := func(secret, sts string) string {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(sts))
		return url.QueryEscape(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	tests := []struct {
		name, method, url, prefix string
		want                      error
	}{
		// The example of AWS's documentation of query string authentication.
		{"documented example", "GET", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D", "/johnsmith", nil},
		{"bucket not in the resource", "GET", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D", "", ErrSignatureMismatch},
		{"path style", "GET", "http://127.0.0.1/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D", "", nil},
		{"other method", "PUT", "http://127.0.0.1/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D", "", ErrSignatureMismatch},
		{"other key", "GET", "http://127.0.0.1/johnsmith/photos/kitten.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D", "", ErrSignatureMismatch},
		{"expires moved", "GET", "http://127.0.0.1/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139621&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D", "", ErrSignatureMismatch},
		{"expired", "GET", "http://127.0.0.1/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175138000&Signature=" + sign(secret, "GET\n\n\n1175138000\n/johnsmith/photos/puppy.jpg"), "", ErrExpired},
		{"unknown key", "GET", "http://127.0.0.1/b/k?AWSAccessKeyId=AKIANOBODY&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D", "", ErrUnknownKey},
		{"bad expires", "GET", "http://127.0.0.1/b/k?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=soon&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D", "", ErrMalformed},
		{"signature not base64", "GET", "http://127.0.0.1/b/k?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=%25%25", "", ErrSignatureMismatch},
		{"sub-resources signed", "GET", "http://127.0.0.1/b/k?uploadId=u1&partNumber=2&foo=bar&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=" +
			sign(secret, "GET\n\n\n1175139620\n/b/k?partNumber=2&uploadId=u1"), "", nil},
		{"session token signed as a header", "GET", "http://127.0.0.1/b/k?AWSAccessKeyId=ASIATEMP&Expires=1175139620&x-amz-security-token=tok&Signature=" +
			sign("temp-secret", "GET\n\n\n1175139620\nx-amz-security-token:tok\n/b/k"), "", nil},
		{"session token missing", "GET", "http://127.0.0.1/b/k?AWSAccessKeyId=ASIATEMP&Expires=1175139620&Signature=" +
			sign("temp-secret", "GET\n\n\n1175139620\n/b/k"), "", ErrSessionToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.url, nil)
			if !IsPresignedV2(r) {
				t.Fatal("IsPresignedV2 = false")
			}
			id, err := v.VerifyPresignedV2(r, tc.prefix)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err == nil && (!id.Presigned || id.PayloadHash != UnsignedPayload) {
				t.Errorf("identity %+v", id)
			}
		})
	}
	if IsPresignedV2(httptest.NewRequest("GET", "http://h/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&AWSAccessKeyId=a&Signature=b", nil)) {
		t.Error("a SigV4 query taken for SigV2")
	}
}

// FuzzVerifyPresignedV2 feeds arbitrary paths and queries. Verification
// must never panic, and no query that does not carry the genuine signature
// of its exact method, path and sub-resources may verify.
func FuzzVerifyPresignedV2(f *testing.F) {
	f.Add("/b/k", "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D")
	f.Add("/%zz", "AWSAccessKeyId=A&Expires=-1&Signature=%25&uploadId&tagging=x")
	f.Add("/b/k%20x", "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=99999999999999999999&Signature=")
	v := &Verifier{
		Lookup: func(id string) (Credentials, bool) {
			return Credentials{AccessKeyID: id, SecretAccessKey: "secret"}, id == "AKIAIOSFODNN7EXAMPLE"
		},
		Now: func() time.Time { return time.Unix(1175139000, 0) },
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		r := httptest.NewRequest("GET", "http://h/", nil)
		r.URL.RawQuery = query
		r.RequestURI = "/" + path + "?" + query
		if _, err := v.VerifyPresignedV2(r, ""); err == nil {
			t.Fatalf("forged SigV2 query verified: %q %q", path, query)
		}
	})
}
