package pulumiyaml

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/spec"
)

// api is an HTTP API with an AWS_PROXY integration to fn (see load_test.go)
// and the route GET /, at lines 10-24 of a program starting with head+fn.
const api = `  api:
    type: aws:apigatewayv2/api:Api
    properties: {protocolType: HTTP}
  integ:
    type: aws:apigatewayv2/integration:Integration
    properties:
      apiId: ${api.id}
      integrationType: AWS_PROXY
      integrationUri: ${fn.invokeArn}
  root:
    type: aws:apigatewayv2/route:Route
    properties:
      apiId: ${api.id}
      routeKey: GET /
      target: integrations/${integ.id}
`

func TestTranslate(t *testing.T) {
	jwt := `  users:
    type: aws:apigatewayv2/authorizer:Authorizer
    properties:
      apiId: ${api.id}
      name: people
      authorizerType: JWT
      identitySources: [$request.header.Authorization]
      jwtConfiguration:
        issuer: https://issuer.example
        audiences: [shop]
`
	// A route that uses the JWT authorizer, before it in the program.
	jwtRoute := `  orders:
    type: aws:apigatewayv2/route:Route
    properties:
      apiId: ${api.id}
      routeKey: GET /orders
      target: integrations/${integ.id}
      authorizationType: JWT
      authorizerId: ${users.id}
      authorizationScopes: [orders/read]
`
	other := "  other:\n    type: aws:apigatewayv2/api:Api\n"
	stage := `  v1:
    type: aws:apigatewayv2/stage:Stage
    properties:
      apiId: ${api.id}
      name: v1
`
	logs := "  logs:\n    type: aws:cloudwatch/logGroup:LogGroup\n    properties: {name: /aws/apigateway/api/v1, retentionInDays: 14}\n"
	bucket := "  data:\n    type: aws:s3/bucketV2:BucketV2\n    properties: {bucket: data}\n"
	object := func(name, key, source string) string {
		return "  " + name + ":\n    type: aws:s3/bucketObjectv2:BucketObjectv2\n    properties:\n      bucket: ${data.id}\n      key: " + key + "\n      source: {fn::fileAsset: " + source + "}\n"
	}
	tests := []struct {
		name    string
		text    string
		files   []string // created under the program's directory
		wantErr string   // "" means success; else "line:col: substring"
		check   func(t *testing.T, s *spec.Spec)
	}{
		// Authorizers and routes (1, 2).
		{name: "JWT authorizer named by its name property, route before it", text: head + fn + api + jwtRoute + jwt,
			check: func(t *testing.T, s *spec.Spec) {
				a := s.APIs["api"]
				au := a.Authorizers["people"]
				want := &spec.JWTConfiguration{Issuer: "https://issuer.example", Audience: []string{"shop"}}
				if au == nil || au.Type != spec.AuthorizerJWT || !reflect.DeepEqual(au.JWTConfiguration, want) ||
					!reflect.DeepEqual(au.IdentitySource, []string{"$request.header.Authorization"}) {
					t.Fatalf("authorizers = %+v", a.Authorizers)
				}
				r := a.Routes["GET /orders"]
				if r.Authorizer != "people" || r.AuthorizationType != spec.AuthJWT || !reflect.DeepEqual(r.AuthorizationScopes, []string{"orders/read"}) {
					t.Errorf("route = %+v", r)
				}
			}},
		{name: "REQUEST authorizer named by its resource", text: head + fn + api + `  gate:
    type: aws:apigatewayv2/authorizer:Authorizer
    properties:
      apiId: ${api.id}
      authorizerType: REQUEST
      authorizerUri: ${fn.invokeArn}
      authorizerPayloadFormatVersion: "2.0"
      enableSimpleResponses: true
      authorizerResultTtlInSeconds: 60
      identitySources: [$request.header.X-Token]
  lambda:
    type: aws:apigatewayv2/route:Route
    properties:
      apiId: ${api.id}
      routeKey: GET /lambda
      target: integrations/${integ.id}
      authorizationType: CUSTOM
      authorizerId: ${gate.id}
`, check: func(t *testing.T, s *spec.Spec) {
			au := s.APIs["api"].Authorizers["gate"]
			if au == nil || au.Type != spec.AuthorizerRequest || au.Function != "fn" || au.AuthorizerPayloadFormatVersion != "2.0" ||
				!au.EnableSimpleResponses || au.AuthorizerResultTtlInSeconds == nil || *au.AuthorizerResultTtlInSeconds != 60 ||
				!reflect.DeepEqual(au.IdentitySource, []string{"$request.header.X-Token"}) {
				t.Fatalf("authorizer = %+v", au)
			}
			if r := s.APIs["api"].Routes["GET /lambda"]; r.Authorizer != "gate" || r.AuthorizationType != spec.AuthCustom {
				t.Errorf("route = %+v", r)
			}
		}},
		{name: "jwtConfiguration with a misspelt property", text: head + fn + api + strings.Replace(jwt, "audiences:", "audience:", 1),
			wantErr: "34:19: resource users: jwtConfiguration has no property \"audience\" (want issuer, audiences)"},
		{name: "jwtConfiguration audiences not a list", text: head + fn + api + strings.Replace(jwt, "[shop]", "shop", 1),
			wantErr: "34:20: resource users: jwtConfiguration.audiences must be a list of strings"},
		{name: "authorizerUri is not a function", text: head + fn + api + "  gate:\n    type: aws:apigatewayv2/authorizer:Authorizer\n    properties:\n" +
			"      apiId: ${api.id}\n      authorizerType: REQUEST\n      authorizerUri: arn:aws:lambda:nope\n",
			wantErr: "30:22: resource gate: authorizerUri \"arn:aws:lambda:nope\" does not refer to a aws:lambda:Function"},
		{name: "two authorizers of an API with one name", text: head + fn + api + jwt + strings.Replace(jwt, "  users:", "  users2:", 1),
			wantErr: "39:13: resource users2: authorizer name \"people\" is also that of resource users (Pulumi.yaml:25:3)"},
		{name: "issuer checked by the spec, in the program", text: head + fn + api + strings.Replace(jwt, "https://issuer.example", "http://issuer.example", 1),
			wantErr: "33:17: (spec) issuer: \"http://issuer.example\": must use https://"},
		{name: "authorizerId of another API", text: head + fn + api + other + jwtRoute + strings.Replace(jwt, "${api.id}", "${other.id}", 1),
			wantErr: "34:21: resource orders: authorizer users belongs to another API"},
		{name: "authorizerId is not an authorizer", text: head + fn + api + strings.Replace(jwtRoute, "${users.id}", "${integ.id}", 1),
			wantErr: "32:21: resource orders: authorizerId \"integ\" does not refer to a aws:apigatewayv2:Authorizer"},
		{name: "authorizationScopes not strings", text: head + fn + api + strings.Replace(jwtRoute, "[orders/read]", "[1]", 1) + jwt,
			wantErr: "33:28: resource orders: authorizationScopes must be a list of strings"},

		// CORS and the API's name (3).
		{name: "corsConfiguration and a name", text: head + fn + strings.Replace(api, "properties: {protocolType: HTTP}", `properties:
      name: Shop API
      protocolType: HTTP
      corsConfiguration:
        allowOrigins: [https://shop.example]
        allowMethods: [GET, POST]
        allowHeaders: [content-type]
        exposeHeaders: [x-request-id]
        maxAge: 600.0
        allowCredentials: true`, 1),
			check: func(t *testing.T, s *spec.Spec) {
				maxAge := 600
				want := &spec.Cors{AllowOrigins: []string{"https://shop.example"}, AllowMethods: []string{"GET", "POST"},
					AllowHeaders: []string{"content-type"}, ExposeHeaders: []string{"x-request-id"}, MaxAge: &maxAge, AllowCredentials: true}
				if a := s.APIs["api"]; a == nil || !reflect.DeepEqual(a.Cors, want) {
					t.Errorf("apis = %v, cors = %+v", s.APIs, a.Cors)
				}
			}},
		{name: "corsConfiguration maxAge not a number", text: head + fn + strings.Replace(api, "{protocolType: HTTP}", "{corsConfiguration: {maxAge: soon}}", 1),
			wantErr: "12:46: resource api: corsConfiguration.maxAge must be an integer, not a string"},
		{name: "corsConfiguration origin checked by the spec", text: head + fn + strings.Replace(api, "{protocolType: HTTP}", "{corsConfiguration: {allowOrigins: [\"https://a.example/x\"]}}", 1),
			wantErr: "12:52: (spec) allowOrigins[0]: \"https://a.example/x\" is not an origin"},
		{name: "API name must be a string", text: head + fn + strings.Replace(api, "{protocolType: HTTP}", "{name: [a]}", 1),
			wantErr: "12:24: resource api: name must be a string, not a list"},

		// Stages (4, 8).
		{name: "stage throttles and access log", text: head + fn + api + logs + stage + `      defaultRouteSettings:
        throttlingRateLimit: 10
        throttlingBurstLimit: 20.0
        detailedMetricsEnabled: true
      routeSettings:
        - routeKey: GET /
          throttlingRateLimit: 0.5
          throttlingBurstLimit: 1
      accessLogSettings:
        destinationArn: ${logs.arn}
        format: $context.requestId $context.status
`, check: func(t *testing.T, s *spec.Spec) {
			st := s.APIs["api"].Stages["v1"]
			d, r := st.DefaultRouteSettings, st.RouteSettings["GET /"]
			if d == nil || *d.ThrottlingRateLimit != 10 || *d.ThrottlingBurstLimit != 20 {
				t.Errorf("defaultRouteSettings = %+v", d)
			}
			if r == nil || *r.ThrottlingRateLimit != 0.5 || *r.ThrottlingBurstLimit != 1 {
				t.Errorf("routeSettings = %+v", st.RouteSettings)
			}
			if al := st.AccessLogSettings; al == nil || al.Format != "$context.requestId $context.status" || al.Destination != "stdout" {
				t.Errorf("accessLogSettings = %+v", al)
			}
		}},
		{name: "throttlingBurstLimit not an integer", text: head + fn + api + stage + "      defaultRouteSettings: {throttlingBurstLimit: 1.5}\n",
			wantErr: "30:52: resource v1: defaultRouteSettings.throttlingBurstLimit must be an integer, not 1.5"},
		{name: "throttlingRateLimit not a number", text: head + fn + api + stage + "      routeSettings: [{routeKey: GET /, throttlingRateLimit: fast}]\n",
			wantErr: "30:62: resource v1: routeSettings[0].throttlingRateLimit must be a number, not a string"},
		{name: "routeSettings without routeKey", text: head + fn + api + stage + "      routeSettings:\n        - throttlingRateLimit: 1\n",
			wantErr: "31:11: resource v1: routeSettings[0].routeKey is required"},
		{name: "routeSettings twice for a route", text: head + fn + api + stage + "      routeSettings:\n        - routeKey: GET /\n        - routeKey: GET /\n",
			wantErr: "32:21: resource v1: routeSettings route key \"GET /\" is given twice"},
		{name: "routeSettings for no route, checked by the spec", text: head + fn + api + stage + "      routeSettings:\n        - routeKey: GET /nope\n",
			wantErr: "31:21: (spec) routeSettings: no route \"GET /nope\""},
		{name: "access log destination is not a log group", text: head + fn + api + stage + "      accessLogSettings: {destinationArn: arn:aws:firehose:x, format: $context.requestId}\n",
			wantErr: "30:43: resource v1: accessLogSettings.destinationArn \"arn:aws:firehose:x\" must be the arn of an aws:cloudwatch:LogGroup"},
		{name: "access log format checked by the spec", text: head + fn + api + logs + stage + "      accessLogSettings: {destinationArn: \"${logs.arn}\", format: $context.nope}\n",
			wantErr: "33:66: (spec) format: unknown variable $context.nope"},

		// Names of functions and roles (5).
		{name: "function and role named by their name property", text: head + strings.Replace(fn, "    properties:\n", "    properties:\n      name: hello\n      role: ${r.arn}\n", 1) +
			"      environment:\n        variables: {SELF: \"${fn.name}\"}\n" +
			"  r:\n    type: aws:iam/role:Role\n    properties: {name: runner}\n" +
			"  attach:\n    type: aws:iam/rolePolicyAttachment:RolePolicyAttachment\n    properties: {role: \"${r.name}\", policyArn: arn:aws:iam::aws:policy/x}\n" + api,
			check: func(t *testing.T, s *spec.Spec) {
				f := s.Functions["hello"]
				if f == nil || f.Role != "runner" || f.Environment["SELF"] != "hello" || s.APIs["api"].Integrations["integ"].Function != "hello" {
					t.Fatalf("functions = %+v", s.Functions)
				}
				if r := s.Roles["runner"]; r == nil || !reflect.DeepEqual(r.ManagedPolicyArns, []string{"arn:aws:iam::aws:policy/x"}) {
					t.Errorf("roles = %+v", s.Roles)
				}
			}},
		{name: "two functions with one name", text: head + fn + strings.Replace(fn, "  fn:\n    type: aws:lambda/function:Function\n    properties:\n",
			"  fn2:\n    type: aws:lambda/function:Function\n    properties:\n      name: fn\n", 1),
			wantErr: "13:13: resource fn2: function name \"fn\" is also that of resource fn (Pulumi.yaml:4:3)"},
		{name: "function name checked by the spec, at the name", text: head + strings.Replace(fn, "    properties:\n", "    properties:\n      name: a.b\n", 1),
			wantErr: "7:13: (spec) function name \"a.b\""},

		// Integrations (6).
		{name: "exported integration names lose their API prefix", text: head + fn + strings.NewReplacer("integ:", "api-backend:", "${integ.id}", "${api-backend.id}").Replace(api) +
			"  x:\n    type: aws:apigatewayv2/integration:Integration\n    properties: {apiId: \"${api.id}\", integrationType: HTTP_PROXY, integrationUri: \"http://127.0.0.1:9/\", integrationMethod: GET, timeoutMilliseconds: 5000.0}\n" +
			"  api-x:\n    type: aws:apigatewayv2/integration:Integration\n    properties: {apiId: \"${api.id}\", integrationType: HTTP_PROXY, integrationUri: \"http://127.0.0.1:9/\"}\n",
			check: func(t *testing.T, s *spec.Spec) {
				is := s.APIs["api"].Integrations
				if len(is) != 3 || is["backend"] == nil || is["x"] == nil || is["api-x"] == nil || s.APIs["api"].Routes["GET /"].Integration != "backend" {
					t.Fatalf("integrations = %v, routes = %v", is, s.APIs["api"].Routes)
				}
				if x := is["x"]; x.Method != "GET" || x.TimeoutInMillis != 5000 || x.PayloadFormatVersion != "1.0" {
					t.Errorf("x = %+v", x)
				}
			}},
		{name: "timeoutMilliseconds not an integer", text: head + fn + strings.Replace(api, "integrationUri: ${fn.invokeArn}\n", "integrationUri: ${fn.invokeArn}\n      timeoutMilliseconds: 1.5\n", 1),
			wantErr: "19:28: resource integ: timeoutMilliseconds must be an integer, not 1.5"},

		// Bucket objects with nested keys (7).
		{name: "nested object keys", text: head + fn + bucket + object("o1", "a/b/c.json", "./site/a/b/c.json") + object("o2", "index.html", "site/index.html"),
			files: []string{"site/a/b/c.json", "site/index.html"},
			check: func(t *testing.T, s *spec.Spec) {
				if b := s.Buckets["data"]; b == nil || filepath.Base(b.Contents) != "site" {
					t.Errorf("buckets = %+v", s.Buckets)
				}
			}},
		{name: "nested key not the end of the source path", text: head + fn + bucket + object("o1", "a/b/c.json", "./site/b/c.json"),
			wantErr: "17:12: resource o1: key \"a/b/c.json\" must be the end of the source path \"site/b/c.json\""},
		{name: "objects from two directories", text: head + fn + bucket + object("o1", "a/c.json", "./site/a/c.json") + object("o2", "c.json", "./site/a/c.json"),
			wantErr: "24:15: resource o2: objects of bucket data must all come from one directory (site, not site/a)"},
		{name: "key not a clean path", text: head + fn + bucket + object("o1", "../c.json", "./c.json"),
			wantErr: "17:12: resource o1: key \"../c.json\" must be a clean relative path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadFiles(t, tt.text, tt.files, tt.wantErr)
			if p == nil {
				return
			}
			// The fixtures' API has no aws:lambda:Permission: that warning
			// is TestMissingPermissionYAML's.
			var warnings []string
			for _, w := range p.Warnings {
				if !strings.Contains(w, "no aws:lambda:Permission") {
					warnings = append(warnings, w)
				}
			}
			if len(warnings) != 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
			if tt.check != nil {
				tt.check(t, p.Spec)
			}
		})
	}
}

// loadFiles loads text as a program, creating files (holding "{}") in its
// directory first. With wantErr ("line:col: substring") it checks the
// error, positioned in Pulumi.yaml, and returns nil.
func loadFiles(t *testing.T, text string, files []string, wantErr string) *Program {
	t.Helper()
	dir := program(t, text)
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Load(dir, Options{})
	if wantErr == "" {
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		return p
	}
	if err == nil {
		t.Fatalf("Load succeeded, want error %q\n%s", wantErr, p.SpecText)
	}
	var list spec.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %T is not a spec.ErrorList: %v", err, err)
	}
	if !strings.Contains(err.Error(), "Pulumi.yaml:"+wantErr) {
		t.Fatalf("error:\n%v\nwant it to contain %q", err, "Pulumi.yaml:"+wantErr)
	}
	return nil
}

// TestExportedAccessProgram loads testdata/access, examples/access as
// `portico export pulumi` writes it, and expects the example's model back,
// except for what the exporter documents: the Portico extensions it leaves
// out (API keys, usage plans, access keys, the account throttle) and what
// it adds (a default role for functions without one, a trust policy for
// roles without one, and Lambda permissions, which have no effect).
func TestExportedAccessProgram(t *testing.T) {
	p, err := Load(filepath.Join("testdata", "access"), Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings = %q, want none", p.Warnings)
	}
	want, err := spec.Load("../../examples/access/portico.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := p.Spec
	if got.Roles["porticoDefaultLambdaRole"] == nil {
		t.Fatalf("roles = %v, want the exporter's default role", got.Roles)
	}
	delete(got.Roles, "porticoDefaultLambdaRole")
	for name, f := range want.Functions {
		if f.Role == "" && got.Functions[name] != nil && got.Functions[name].Role == "porticoDefaultLambdaRole" {
			got.Functions[name].Role = ""
		}
	}
	for name, r := range want.Roles {
		if r.AssumeRolePolicy == nil && got.Roles[name] != nil {
			got.Roles[name].AssumeRolePolicy = nil
		}
	}
	want.APIs["shop"].Routes["GET /keyed"].APIKeyRequired = false
	if g, w := scrub(t, got), scrub(t, want); g != w {
		t.Errorf("model differs from examples/access/portico.yaml\n got: %s\nwant: %s", g, w)
	}
}

// TestRegistrationNumbers: a Pulumi program's numbers are doubles, and
// arrive as such in registrations.
func TestRegistrationNumbers(t *testing.T) {
	for _, tt := range []struct {
		name, wantErr string
		settings      map[string]any
	}{
		{name: "integral and fractional", settings: map[string]any{"throttlingRateLimit": 2.5, "throttlingBurstLimit": 5.0}},
		{name: "fractional burst", settings: map[string]any{"throttlingBurstLimit": 5.5},
			wantErr: "main.go:110:3: resource apiStage: defaultRouteSettings.throttlingBurstLimit must be an integer, not 5.5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := seedRegistrations()
			r.regs[10].Inputs["defaultRouteSettings"] = tt.settings
			p, err := FromRegistrations(seedDir, r.project, r.regs, nil, Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := p.Spec.APIs["aiServicesHttpApi"].Stages["v1"].DefaultRouteSettings
			if d == nil || *d.ThrottlingRateLimit != 2.5 || *d.ThrottlingBurstLimit != 5 {
				t.Errorf("defaultRouteSettings = %+v", d)
			}
		})
	}
}
