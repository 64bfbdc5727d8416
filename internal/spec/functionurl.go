package spec

import (
	"crypto/sha256"
	"math/big"
	"strings"
)

// FunctionURL is a Lambda function URL: an HTTPS endpoint of its own that
// invokes the function with a payload 2.0 event.
type FunctionURL struct {
	// AuthorizationType is NONE (anyone may call) or AWS_IAM (callers sign
	// with SigV4, service lambda, and need lambda:InvokeFunctionUrl);
	// required, as on AWS.
	AuthorizationType string `yaml:"authorizationType"`
	// InvokeMode is BUFFERED (default) or RESPONSE_STREAM.
	InvokeMode string `yaml:"invokeMode"`
	// Cors is the URL's CORS configuration, as an API's.
	Cors *Cors `yaml:"cors"`
}

// DeriveURLID is the function URL id Portico uses for a function: 32
// lower-case letters and digits derived from its name (AWS's are random
// and of the same shape), stable across runs.
func DeriveURLID(function string) string {
	sum := sha256.Sum256([]byte("function-url/" + function))
	id := new(big.Int).SetBytes(sum[:]).Text(36)
	if len(id) < 32 {
		id = strings.Repeat("0", 32-len(id)) + id
	}
	return id[:32]
}

// functionURL validates a function's url.
func (v *validator) functionURL(f *Function) {
	u, p := f.URL, v.pos.or(&f.URL, f.Pos)
	switch u.AuthorizationType {
	case AuthNone, AuthIAM:
	case "":
		v.add(p, "url: authorizationType is required (NONE or AWS_IAM)")
	default:
		v.add(v.pos.or(&u.AuthorizationType, p), "authorizationType: must be NONE or AWS_IAM, got %q%s", u.AuthorizationType, didYouMean(u.AuthorizationType, []string{AuthNone, AuthIAM}))
	}
	switch u.InvokeMode {
	case "", "BUFFERED", "RESPONSE_STREAM":
	default:
		v.add(v.pos.or(&u.InvokeMode, p), "invokeMode: must be BUFFERED or RESPONSE_STREAM, got %q%s", u.InvokeMode, didYouMean(u.InvokeMode, []string{"BUFFERED", "RESPONSE_STREAM"}))
	}
	if u.Cors != nil {
		v.cors(u.Cors, v.pos.or(&u.Cors, p))
	}
}
