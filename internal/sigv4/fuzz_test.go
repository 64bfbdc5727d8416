package sigv4

import (
	"errors"
	"net/http"
	"testing"
)

// FuzzVerify feeds arbitrary Authorization headers, paths, queries and
// header values. Verify must never panic, and a request whose path, query,
// header or body differs from the one signed must never verify.
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260314/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "/a%20b", "x=1&y=", "v", "body")
	f.Add("", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a/b/c/d/e", "", "")
	f.Add("AWS4-HMAC-SHA256 ,,,", "/%zz", "%zz=1&+=+", "  a  b ", "x")
	f.Fuzz(func(t *testing.T, authz, path, query, hval, body string) {
		v := testVerifier()
		// Arbitrary header: must not panic and must not verify.
		r, err := http.NewRequest("POST", "http://h/", nil)
		if err != nil {
			return
		}
		r.URL.RawQuery = query
		r.RequestURI = "/" + path + "?" + query
		r.Header.Set("Authorization", authz)
		r.Header.Set("X-Amz-Date", "20260314T150926Z")
		if _, err := v.Verify(r, []byte(body), "execute-api"); err == nil {
			t.Fatalf("forged request verified: %q", authz)
		}

		// A genuinely signed request, then tampered.
		signed, err := http.NewRequest("POST", "http://h/", nil)
		if err != nil {
			return
		}
		signed.URL.Path, signed.URL.RawPath = "", ""
		signed.URL.Opaque = ""
		if err := setRawPath(signed, "/"+path); err != nil {
			return
		}
		signed.URL.RawQuery = query
		signed.Header.Set("X-Custom", hval)
		if _, err := http.NewRequest("POST", signed.URL.String(), nil); err != nil {
			return
		}
		sr := sdkSign(t, testCreds, "POST", signed.URL.String(), signed.Header, []byte(body), "execute-api", testNow, "")
		if _, err := v.Verify(sr, []byte(body), "execute-api"); err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("signed request: unexpected error class %v", err)
		}
		if _, err := v.Verify(sr, []byte(body+"x"), "execute-api"); err == nil {
			t.Fatal("tampered body verified")
		}
		sr.Header.Set("X-Custom", hval+"x")
		if _, err := v.Verify(sr, []byte(body), "execute-api"); err == nil {
			t.Fatal("tampered header verified")
		}
	})
}

func setRawPath(r *http.Request, p string) error {
	u, err := r.URL.Parse(p)
	if err != nil {
		return err
	}
	r.URL = u
	return nil
}
