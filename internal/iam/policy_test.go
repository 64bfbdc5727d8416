package iam

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const rolePolicy = `{"Version":"2012-10-17","Statement":[
 {"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:List*"],"Resource":["arn:aws:s3:::models","arn:aws:s3:::models/*"]},
 {"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::models/secret/*"},
 {"Effect":"Allow","NotAction":"s3:*","Resource":"arn:aws:logs:*"},
 {"Effect":"Allow","Action":"execute-api:Invoke","NotResource":"arn:aws:execute-api:*:*:api1/*/DELETE/*"}]}`

func TestEvaluate(t *testing.T) {
	p, err := ParsePolicy(rolePolicy)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, action, resource string
		want                   Decision
	}{
		{"allowed object", "s3:GetObject", "arn:aws:s3:::models/m.bin", Allow},
		{"action case-insensitive", "S3:getobject", "arn:aws:s3:::models/m.bin", Allow},
		{"resource case-sensitive", "s3:GetObject", "arn:aws:s3:::Models/m.bin", NotApplicable},
		{"wildcard action", "s3:ListBucket", "arn:aws:s3:::models", Allow},
		{"explicit deny wins", "s3:GetObject", "arn:aws:s3:::models/secret/k", Deny},
		{"not granted", "s3:PutObject", "arn:aws:s3:::models/m.bin", NotApplicable},
		{"NotAction allows others", "logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:x", Allow},
		{"NotResource", "execute-api:Invoke", "arn:aws:execute-api:us-east-1:1:api1/v1/GET/items", Allow},
		{"NotResource excludes", "execute-api:Invoke", "arn:aws:execute-api:us-east-1:1:api1/v1/DELETE/items", NotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Evaluate(tt.action, tt.resource); got != tt.want {
				t.Errorf("Evaluate(%s, %s) = %s, want %s", tt.action, tt.resource, got, tt.want)
			}
		})
	}
}

func TestEvaluateSeveral(t *testing.T) {
	allow, _ := ManagedPolicy("arn:aws:iam::aws:policy/AmazonS3FullAccess")
	deny, err := ParsePolicy(map[string]any{"Version": "2012-10-17", "Statement": map[string]any{"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		policies []*Policy
		action   string
		want     Decision
	}{
		{"none", nil, "s3:GetObject", NotApplicable},
		{"allow", []*Policy{allow, deny}, "s3:GetObject", Allow},
		{"deny across policies", []*Policy{allow, deny}, "s3:DeleteObject", Deny},
		{"nil skipped", []*Policy{nil, allow}, "s3:PutObject", Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(tt.policies, tt.action, "arn:aws:s3:::b/k"); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name    string
		doc     any
		wantErr string // "" for success
	}{
		{"yaml-shaped map", map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": []any{"logs:*"}, "Resource": "*"}}}, ""},
		{"missing version is 2008", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, ""},
		{"trust policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, ""},
		{"bytes", []byte(`{"Version":"2008-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`), ""},
		{"bad json", `{"Version":`, "decode JSON"},
		{"not an object", `[1]`, "must be a JSON object"},
		{"nil", nil, "document is empty"},
		{"bad version", `{"Version":"2020-01-01","Statement":[]}`, "Version must be"},
		{"no statement", `{"Version":"2012-10-17"}`, "Statement is missing"},
		{"empty statement", `{"Version":"2012-10-17","Statement":[]}`, "Statement is empty"},
		{"unknown top field", `{"Version":"2012-10-17","Statement":[],"Foo":1}`, `unknown field "Foo"`},
		{"bad effect", `{"Statement":{"Effect":"allow","Action":"s3:*","Resource":"*"}}`, "Effect must be"},
		{"missing effect", `{"Statement":{"Action":"s3:*","Resource":"*"}}`, "Effect is missing"},
		{"missing action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, "Action (or NotAction) is missing"},
		{"both action forms", `{"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"s3:*","Resource":"*"}}`, "both Action and NotAction"},
		{"action without service", `{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}`, `want "service:name"`},
		{"missing resource", `{"Statement":{"Effect":"Allow","Action":"s3:*"}}`, "Resource (or NotResource) is missing"},
		{"resource not arn", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}}`, "want an ARN"},
		{"empty action list", `{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, "empty array"},
		{"non-string action", `{"Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}`, "non-empty strings"},
		{"condition key", `{"Version":"2012-10-17","Statement":{"Sid":"C","Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}}`, "statement 0 (C): Condition Bool: key \"aws:MultiFactorAuthPresent\" is not one Portico supplies"},
		{"condition operator", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"BinaryEquals":{"s3:prefix":"QQ=="}}}}`, "Condition operator \"BinaryEquals\" is not supported"},
		{"condition value", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}}`, "is not an IP address or CIDR block"},
		{"policy variable", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}}`, "policy variables"},
		{"bad principal", `{"Statement":{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"sts:AssumeRole"}}`, "unknown principal type"},
		{"unknown statement field", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Extra":1}}`, `unknown field "Extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy(tt.doc)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"a*c", "abbc", true}, {"a*c", "abcd", false}, {"a?c", "abc", true},
		{"a?c", "ac", false}, {"a?c", "aéc", true}, {"arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y", true},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false}, {"**", "x", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"|"+tt.s, func(t *testing.T) {
			if got := Match(tt.pattern, tt.s); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestManagedPolicies(t *testing.T) {
	tests := []struct {
		arn, action, resource string
		want                  Decision
	}{
		{"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", "logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*", Allow},
		{"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", "s3:GetObject", "arn:aws:s3:::b/k", NotApplicable},
		{"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "s3:GetObject", "arn:aws:s3:::b/k", Allow},
		{"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "s3:PutObject", "arn:aws:s3:::b/k", NotApplicable},
		{"arn:aws:iam::aws:policy/AmazonS3FullAccess", "s3:PutObject", "arn:aws:s3:::b/k", Allow},
		{"arn:aws:iam::aws:policy/AmazonAPIGatewayInvokeFullAccess", "execute-api:Invoke", "arn:aws:execute-api:us-east-1:1:a/v1/GET/x", Allow},
		{"arn:aws:iam::aws:policy/service-role/AWSLambdaRole", "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:f", Allow},
	}
	for _, tt := range tests {
		t.Run(tt.arn+" "+tt.action, func(t *testing.T) {
			p, ok := ManagedPolicy(tt.arn)
			if !ok {
				t.Fatal("unknown managed policy")
			}
			if got := p.Evaluate(tt.action, tt.resource); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	if _, ok := ManagedPolicy("arn:aws:iam::aws:policy/NoSuchPolicy"); ok {
		t.Error("unknown ARN reported as known")
	}
	for _, arn := range ManagedPolicyARNs() {
		if _, ok := ManagedPolicy(arn); !ok {
			t.Errorf("%s does not parse", arn)
		}
	}
}

func FuzzParseEvaluate(f *testing.F) {
	f.Add(rolePolicy, "s3:GetObject", "arn:aws:s3:::models/x")
	f.Add(`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`, "a:b", "arn:")
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAllValues:StringLikeIfExists":{"s3:prefix":["a*"]},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2030-01-01"}}}}`, "s3:ListBucket", "a*")
	keys := NewKeys("10.0.0.1:1", false, time.Unix(1e9, 0), "arn:aws:sts::1:assumed-role/r/s")
	f.Fuzz(func(t *testing.T, doc, action, resource string) {
		p, err := ParsePolicy(doc)
		if err != nil {
			return
		}
		// resource doubles as s3:prefix, so conditions see fuzzed values.
		d := p.EvaluateWith(action, resource, Keys{}.Set(KeyS3Prefix, resource))
		for k, v := range keys {
			_ = p.EvaluateWith(action, resource, Keys{k: v})
		}
		if d != NotApplicable && d != Allow && d != Deny {
			t.Fatalf("decision %d", d)
		}
		// Adding a matching explicit deny always yields Deny.
		deny := &Policy{Statements: []Statement{{Effect: Deny, Actions: []string{"*"}, Resources: []string{"*"}}}}
		if Evaluate([]*Policy{p, deny}, action, resource) != Deny {
			t.Fatal("explicit deny did not win")
		}
	})
}

func TestParsePolicyErrorPath(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"condition key", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`,
			"[Statement 1 Condition Bool aws:MultiFactorAuthPresent]"},
		{"operator", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"BinaryEquals":{"s3:prefix":"QQ=="}}}}`, "[Statement Condition BinaryEquals]"},
		{"resource", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}]}`, "[Statement 0 Resource]"},
		{"top-level field", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}],"Extra":1}`, "[Extra]"},
		{"missing field", `{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}`, "[Statement 0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy(tt.doc)
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v carries no path", err)
			}
			if got := fmt.Sprint(pe.Path); got != tt.want {
				t.Errorf("path = %s, want %s (%v)", got, tt.want, err)
			}
		})
	}
}
