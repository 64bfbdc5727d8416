package spec

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func ptr[T any](v T) *T { return &v }

// TestParseAccess loads testdata/access.yaml, which uses every access
// control and throttling field, and checks the loaded values.
func TestParseAccess(t *testing.T) {
	s, err := Load("testdata/access.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := s.APIs["shop"]
	wantAuth := map[string]*Authorizer{
		"cognito": {Name: "cognito", Pos: Pos{15, 7}, Type: AuthorizerJWT, IdentitySource: []string{"$request.header.Authorization"},
			JWTConfiguration: &JWTConfiguration{Issuer: "https://issuer.example.com/pool", Audience: []string{"web", "mobile"}}},
		"local": {Name: "local", Pos: Pos{20, 7}, Type: AuthorizerJWT, IdentitySource: []string{"$request.querystring.token"},
			JWTConfiguration: &JWTConfiguration{Issuer: "http://127.0.0.1:9000", Audience: []string{"dev"}}},
		"lambda": {Name: "lambda", Pos: Pos{21, 7}, Type: AuthorizerRequest, Function: "authz",
			IdentitySource:                 []string{"$request.header.X-Token", "$context.routeKey", "$stageVariables.tier"},
			AuthorizerPayloadFormatVersion: "2.0", EnableSimpleResponses: true, AuthorizerResultTtlInSeconds: ptr(300)},
		"lambda1": {Name: "lambda1", Pos: Pos{26, 7}, Type: AuthorizerRequest, Function: "authz", IdentitySource: []string{"$request.header.Auth"},
			AuthorizerPayloadFormatVersion: "1.0", AuthorizerResultTtlInSeconds: ptr(60)},
		"nocache": {Name: "nocache", Pos: Pos{27, 7}, Type: AuthorizerRequest, Function: "authz", AuthorizerPayloadFormatVersion: "2.0",
			AuthorizerResultTtlInSeconds: ptr(0)},
	}
	if !reflect.DeepEqual(a.Authorizers, wantAuth) {
		t.Errorf("authorizers = %s\nwant %s", jsonOf(a.Authorizers), jsonOf(wantAuth))
	}
	wantCors := &Cors{AllowOrigins: []string{"https://app.example.com", "http://localhost:3000", "https://*"},
		AllowMethods: []string{"GET", "POST", "*"}, AllowHeaders: []string{"Authorization", "Content-Type"},
		ExposeHeaders: []string{"X-Request-Id"}, MaxAge: ptr(600), AllowCredentials: true}
	if !reflect.DeepEqual(a.Cors, wantCors) {
		t.Errorf("cors = %s", jsonOf(a.Cors))
	}
	routes := []struct {
		key, typ, authorizer string
		scopes               []string
		keyRequired          bool
	}{
		{"GET /public", AuthNone, "", nil, false},
		{"GET /orders", AuthJWT, "cognito", []string{"orders/read"}, false},
		{"POST /orders", AuthCustom, "lambda", nil, true},
		{"GET /admin", AuthIAM, "", nil, false},
		{"GET /open", AuthNone, "", nil, false},
	}
	for _, want := range routes {
		r := a.Routes[want.key]
		if r.AuthorizationType != want.typ || r.Authorizer != want.authorizer || !reflect.DeepEqual(r.AuthorizationScopes, want.scopes) || r.APIKeyRequired != want.keyRequired {
			t.Errorf("route %q = %s", want.key, jsonOf(r))
		}
	}
	prod := a.Stages["prod"]
	if want := (&RouteSettings{Pos: Pos{46, 31}, ThrottlingRateLimit: ptr(100.0), ThrottlingBurstLimit: ptr(50)}); !reflect.DeepEqual(prod.DefaultRouteSettings, want) {
		t.Errorf("defaultRouteSettings = %s", jsonOf(prod.DefaultRouteSettings))
	}
	wantRS := map[string]*RouteSettings{
		"POST /orders": {Key: "POST /orders", Pos: Pos{48, 11}, ThrottlingRateLimit: ptr(2.5), ThrottlingBurstLimit: ptr(5)},
		"$default":     {Key: "$default", Pos: Pos{49, 11}, ThrottlingBurstLimit: ptr(0)},
	}
	if !reflect.DeepEqual(prod.RouteSettings, wantRS) {
		t.Errorf("routeSettings = %s", jsonOf(prod.RouteSettings))
	}
	if dev := a.Stages["dev"]; dev.DefaultRouteSettings != nil || dev.RouteSettings == nil || len(dev.RouteSettings) != 0 {
		t.Errorf("dev stage = %s", jsonOf(dev))
	}
	if want := (&AccountSettings{ThrottlingRateLimit: ptr(500.5), ThrottlingBurstLimit: ptr(5000)}); !reflect.DeepEqual(s.Account, want) {
		t.Errorf("account = %s", jsonOf(s.Account))
	}
	wantKeys := map[string]*AccessKey{"ci": {Name: "ci", Pos: Pos{54, 3}, AccessKeyID: "AKIAIOSFODNN7EXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", Role: "invoker"}}
	if !reflect.DeepEqual(s.AccessKeys, wantKeys) {
		t.Errorf("accessKeys = %s", jsonOf(s.AccessKeys))
	}
	wantPlans := map[string]*UsagePlan{
		"gold": {Name: "gold", Pos: Pos{59, 3}, Throttle: &PlanThrottle{RateLimit: ptr(10.0), BurstLimit: ptr(20)},
			Quota: &PlanQuota{Limit: 10000, Period: "MONTH"}, APIStages: []*PlanStage{{API: "shop", Stage: "prod"}, {API: "shop", Stage: "dev"}}},
		"free": {Name: "free", Pos: Pos{65, 3}, APIStages: []*PlanStage{{API: "shop", Stage: "dev"}}},
	}
	if !reflect.DeepEqual(s.UsagePlans, wantPlans) {
		t.Errorf("usagePlans = %s", jsonOf(s.UsagePlans))
	}
	wantAPIKeys := map[string]*APIKey{
		"alice": {Name: "alice", Pos: Pos{68, 3}, Plan: "gold", Value: "alice-key-0123456789abcdef"},
		"bob":   {Name: "bob", Pos: Pos{69, 3}, Plan: "free", Value: DeriveAPIKeyValue("bob")},
	}
	if !reflect.DeepEqual(s.APIKeys, wantAPIKeys) {
		t.Errorf("apiKeys = %s", jsonOf(s.APIKeys))
	}
}

func TestParseAccessDefaults(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, s *Spec)
	}{
		{
			name: "nothing given",
			yaml: "{}\n",
			check: func(t *testing.T, s *Spec) {
				if s.AccessKeys == nil || s.UsagePlans == nil || s.APIKeys == nil {
					t.Errorf("nil maps: %s", jsonOf(s))
				}
				if want := (&AccountSettings{ThrottlingRateLimit: ptr(10000.0), ThrottlingBurstLimit: ptr(5000)}); !reflect.DeepEqual(s.Account, want) {
					t.Errorf("account = %s", jsonOf(s.Account))
				}
			},
		},
		{
			name: "account burst only; integer rate",
			yaml: "account: {throttlingBurstLimit: 7}\n",
			check: func(t *testing.T, s *Spec) {
				if *s.Account.ThrottlingRateLimit != 10000 || *s.Account.ThrottlingBurstLimit != 7 {
					t.Errorf("account = %s", jsonOf(s.Account))
				}
			},
		},
		{
			name: "api and route defaults",
			yaml: fn + "apis:\n  a:\n    integrations: {i: {type: AWS_PROXY, function: fn}}\n    routes: {GET /: {integration: i}}\n    authorizers:\n      j: {type: JWT, jwtConfiguration: {issuer: 'https://i', audience: [x]}}\n      r: {type: REQUEST, function: fn, identitySource: [$request.header.A]}\n      n: {type: REQUEST, function: fn, authorizerResultTtlInSeconds: ~}\n",
			check: func(t *testing.T, s *Spec) {
				a := s.APIs["a"]
				if r := a.Routes["GET /"]; r.AuthorizationType != "NONE" || r.Authorizer != "" || r.APIKeyRequired {
					t.Errorf("route = %s", jsonOf(r))
				}
				if a.Cors != nil || a.Stages["$default"].RouteSettings == nil || a.Stages["$default"].DefaultRouteSettings != nil {
					t.Errorf("api = %s", jsonOf(a))
				}
				if j := a.Authorizers["j"]; !reflect.DeepEqual(j.IdentitySource, []string{"$request.header.Authorization"}) || j.AuthorizerResultTtlInSeconds != nil || j.AuthorizerPayloadFormatVersion != "" {
					t.Errorf("jwt authorizer = %s", jsonOf(j))
				}
				if r := a.Authorizers["r"]; r.AuthorizerPayloadFormatVersion != "2.0" || *r.AuthorizerResultTtlInSeconds != 300 {
					t.Errorf("request authorizer = %s", jsonOf(r))
				}
				if n := a.Authorizers["n"]; n.IdentitySource != nil || *n.AuthorizerResultTtlInSeconds != 0 {
					t.Errorf("request authorizer without sources = %s", jsonOf(n))
				}
			},
		},
		{
			name: "api without authorizers",
			yaml: "apis:\n  a: {}\n",
			check: func(t *testing.T, s *Spec) {
				if s.APIs["a"].Authorizers == nil {
					t.Errorf("nil authorizers")
				}
			},
		},
		{
			name: "api key value derived from the name",
			yaml: "usagePlans: {p: {}}\napiKeys:\n  k1: {plan: p}\n  k2: {plan: p, value: ~}\n",
			check: func(t *testing.T, s *Spec) {
				if v := s.APIKeys["k1"].Value; v != DeriveAPIKeyValue("k1") || len(v) != 40 {
					t.Errorf("k1 value = %q", v)
				}
				if s.APIKeys["k1"].Value == s.APIKeys["k2"].Value {
					t.Errorf("k1 and k2 share a value")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := parseInDir(t, tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestDeriveAPIKeyValue(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"", "a", "bob", "alice", "alice2"} {
		v := DeriveAPIKeyValue(name)
		if len(v) != 40 || strings.Trim(v, base62) != "" {
			t.Errorf("DeriveAPIKeyValue(%q) = %q, want 40 base-62 digits", name, v)
		}
		if other, dup := seen[v]; dup {
			t.Errorf("DeriveAPIKeyValue(%q) = DeriveAPIKeyValue(%q)", name, other)
		}
		seen[v] = name
	}
	// Pinned: a change would invalidate every default key in use.
	if got := DeriveAPIKeyValue("bob"); got != "CZyMWttTzBApnXSPPcmjOSqpCPcb4MCuWNdiYgSP" {
		t.Errorf("DeriveAPIKeyValue(bob) = %q", got)
	}
}

func TestCheckOrigin(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"*", true}, {"http://*", true}, {"https://*", true}, {"https://a.example.com", true},
		{"http://localhost:3000", true}, {"http://[::1]:8080", true}, {"chrome-extension://abcdef", true},
		{"https://a.com/", false}, {"https://a.com/x", false}, {"a.com", false}, {"https://", false},
		{"https://a.com:0", false}, {"https://a.com?x", false}, {"https://u@a.com", false},
		{"https://*.a.com", false}, {"HTTPS://a.com", false}, {"ftp*://a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkOrigin(tt.name); (err == nil) != tt.want {
				t.Errorf("checkOrigin(%q) = %v, want ok=%v", tt.name, err, tt.want)
			}
		})
	}
}

func TestSchemaAcceptsAccess(t *testing.T) {
	root := loadSchema(t)
	b, err := os.ReadFile("testdata/access.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if errs := validateSchema(root, root, doc, "spec"); len(errs) > 0 {
		t.Errorf("testdata/access.yaml does not validate:\n%s", strings.Join(errs, "\n"))
	}
}

func TestSchemaRejectsAccess(t *testing.T) {
	root := loadSchema(t)
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"authorizer type", "apis: {a: {authorizers: {x: {type: LAMBDA}}}}", "spec.apis.a.authorizers.x.type: LAMBDA not in enum"},
		{"jwt needs configuration", "apis: {a: {authorizers: {x: {type: JWT}}}}", "spec.apis.a.authorizers.x: missing required jwtConfiguration"},
		{"request needs function", "apis: {a: {authorizers: {x: {type: REQUEST}}}}", "spec.apis.a.authorizers.x: missing required function"},
		{"identity source", "apis: {a: {authorizers: {x: {type: REQUEST, function: f, identitySource: [Authorization]}}}}", "spec.apis.a.authorizers.x.identitySource[0]"},
		{"issuer http", "apis: {a: {authorizers: {x: {type: JWT, jwtConfiguration: {issuer: 'http://idp.example.com', audience: [a]}}}}}", "jwtConfiguration.issuer"},
		{"no audience", "apis: {a: {authorizers: {x: {type: JWT, jwtConfiguration: {issuer: 'https://i', audience: []}}}}}", "jwtConfiguration.audience: fewer than 1 items"},
		{"ttl range", "apis: {a: {authorizers: {x: {type: REQUEST, function: f, authorizerResultTtlInSeconds: 3601}}}}", "3601 > maximum 3600"},
		{"authorization type", "apis: {a: {routes: {'GET /': {integration: i, authorizationType: IAM}}}}", "authorizationType: IAM not in enum"},
		{"too many scopes", "apis: {a: {routes: {'GET /': {integration: i, authorizationScopes: [a,b,c,d,e,f,g,h,i,j,k]}}}}", "authorizationScopes: more than 10 items"},
		{"cors origin path", "apis: {a: {cors: {allowOrigins: ['https://a.com/']}}}", "spec.apis.a.cors.allowOrigins[0]"},
		{"cors method", "apis: {a: {cors: {allowMethods: [get]}}}", "allowMethods[0]: get not in enum"},
		{"cors max age", "apis: {a: {cors: {maxAge: 86401}}}", "maxAge: 86401 > maximum 86400"},
		{"negative rate", "apis: {a: {stages: {v1: {defaultRouteSettings: {throttlingRateLimit: -0.5}}}}}", "throttlingRateLimit: -0.5 < minimum 0"},
		{"route settings key", "apis: {a: {stages: {v1: {routeSettings: {'/x': {}}}}}}", "routeSettings./x(name)"},
		{"rate is a number", "account: {throttlingRateLimit: fast}", "spec.account.throttlingRateLimit: type string"},
		{"access key id", "accessKeys: {k: {accessKeyId: akia, secretAccessKey: 0123456789abcdef, role: r}}", "spec.accessKeys.k.accessKeyId"},
		{"quota period", "usagePlans: {p: {quota: {limit: 1, period: YEAR}}}", "quota.period: YEAR not in enum"},
		{"quota limit", "usagePlans: {p: {quota: {limit: 0, period: DAY}}}", "quota.limit: 0 < minimum 1"},
		{"api stage", "usagePlans: {p: {apiStages: [{api: a}]}}", "apiStages[0]: missing required stage"},
		{"api key value", "apiKeys: {k: {plan: p, value: short}}", "spec.apiKeys.k.value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := yaml.Unmarshal([]byte(tt.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			errs := strings.Join(validateSchema(root, root, doc, "spec"), "\n")
			if !strings.Contains(errs, tt.want) {
				t.Errorf("errors %q do not contain %q", errs, tt.want)
			}
		})
	}
}
