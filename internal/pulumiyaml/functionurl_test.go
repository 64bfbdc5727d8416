package pulumiyaml

import (
	"strings"
	"testing"
)

func TestFunctionURL(t *testing.T) {
	const url = `  url:
    type: aws:lambda:FunctionUrl
    properties:
      functionName: ${fn.name}
      authorizationType: AWS_IAM
      invokeMode: RESPONSE_STREAM
      cors:
        allowOrigins: ["*"]
        maxAge: 60
`
	p, err := Load(program(t, head+fn+url), Options{})
	if err != nil {
		t.Fatal(err)
	}
	u := p.Spec.Functions["fn"].URL
	if u == nil || u.AuthorizationType != "AWS_IAM" || u.InvokeMode != "RESPONSE_STREAM" || u.Cors == nil || *u.Cors.MaxAge != 60 {
		t.Fatalf("url = %+v", u)
	}
	tests := []struct{ name, from, to, want string }{
		{"bad auth type", "authorizationType: AWS_IAM", "authorizationType: IAM", "authorizationType: must be NONE or AWS_IAM"},
		{"not a function", "functionName: ${fn.name}", "functionName: other", `functionName "other" does not refer to a aws:lambda:Function`},
		{"unknown cors field", "maxAge: 60", "maxAges: 60", "maxAges"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(program(t, head+fn+strings.Replace(url, tt.from, tt.to, 1)), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
