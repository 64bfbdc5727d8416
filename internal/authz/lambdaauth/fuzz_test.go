package lambdaauth

import (
	"testing"
)

// FuzzParseResponse feeds arbitrary payloads to the response parser: it
// must never panic, and what it accepts must be a usable result.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`{"isAuthorized":true,"context":{"a":1}}`,
		`{"isAuthorized":false}`,
		`{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},"context":{"x":[1,{"y":null}]}}`,
		`null`, `[]`, `"x"`, `{"isAuthorized":"yes"}`, `{`, ``,
	} {
		f.Add([]byte(s), true, false)
		f.Add([]byte(s), false, true)
	}
	f.Fuzz(func(t *testing.T, payload []byte, simple, v1 bool) {
		res, err := parseResponse(payload, simple, v1)
		if err != nil {
			if res != nil {
				t.Fatal("result with an error")
			}
			return
		}
		if res.identity == nil || res.identity.Lambda == nil {
			t.Fatal("accepted response without an identity")
		}
		if simple != (res.policy == nil) {
			t.Fatalf("simple=%v but policy=%v", simple, res.policy)
		}
		if v1 {
			for k, v := range res.identity.Lambda {
				if _, ok := v.(string); !ok {
					t.Fatalf("1.0 context %q is %T, want a string", k, v)
				}
			}
		}
		_ = res.allows("arn:aws:execute-api:us-east-1:000000000000:api/stage/GET/x")
	})
}
