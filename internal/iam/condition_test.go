package iam

import (
	"testing"
	"time"
)

func TestConditionEvaluate(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	keys := NewKeys("10.1.2.3:5555", false, now, "arn:aws:iam::123456789012:role/app").
		Set("s3:prefix", "home/alice/").Set("s3:max-keys", "50")
	noPrefix := NewKeys("192.168.0.9:1", true, now, "arn:aws:iam::123456789012:role/app")
	tests := []struct {
		name string
		cond string
		keys Keys
		want bool
	}{
		{"StringEquals match", `{"StringEquals":{"s3:prefix":"home/alice/"}}`, keys, true},
		{"StringEquals any of values", `{"StringEquals":{"s3:prefix":["x","home/alice/"]}}`, keys, true},
		{"StringEquals miss", `{"StringEquals":{"s3:prefix":"home/bob/"}}`, keys, false},
		{"StringEquals absent key", `{"StringEquals":{"s3:prefix":"home/alice/"}}`, noPrefix, false},
		{"StringNotEquals absent key is true", `{"StringNotEquals":{"s3:prefix":"home/alice/"}}`, noPrefix, true},
		{"StringNotEquals none of values", `{"StringNotEquals":{"s3:prefix":["a","b"]}}`, keys, true},
		{"StringNotEquals one matches", `{"StringNotEquals":{"s3:prefix":["a","home/alice/"]}}`, keys, false},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"s3:prefix":"HOME/Alice/"}}`, keys, true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"s3:prefix":"HOME/Alice/"}}`, keys, false},
		{"StringLike", `{"StringLike":{"s3:prefix":"home/*"}}`, keys, true},
		{"StringNotLike", `{"StringNotLike":{"s3:prefix":"home/*"}}`, keys, false},
		{"key name any case", `{"StringLike":{"S3:Prefix":"home/*"}}`, keys, true},
		{"IfExists absent", `{"StringLikeIfExists":{"s3:prefix":"tmp/*"}}`, noPrefix, true},
		{"IfExists present", `{"StringLikeIfExists":{"s3:prefix":"tmp/*"}}`, keys, false},
		{"Null true absent", `{"Null":{"s3:prefix":"true"}}`, noPrefix, true},
		{"Null false present", `{"Null":{"s3:prefix":"false"}}`, keys, true},
		{"Null true present", `{"Null":{"s3:prefix":true}}`, keys, false},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"s3:max-keys":100}}`, keys, true},
		{"NumericGreaterThan", `{"NumericGreaterThan":{"s3:max-keys":"100"}}`, keys, false},
		{"NumericEquals", `{"NumericEquals":{"s3:max-keys":"50"}}`, keys, true},
		{"NumericNotEquals", `{"NumericNotEquals":{"s3:max-keys":"50"}}`, keys, false},
		{"DateLessThan", `{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, keys, true},
		{"DateGreaterThan", `{"DateGreaterThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, keys, false},
		{"DateEquals epoch", `{"DateEquals":{"aws:EpochTime":"1780315200"}}`, keys, true},
		{"DateGreaterThanEquals", `{"DateGreaterThanEquals":{"aws:EpochTime":"2026-06-01T12:00:00Z"}}`, keys, true},
		{"Bool false", `{"Bool":{"aws:SecureTransport":"false"}}`, keys, true},
		{"Bool true over plain HTTP", `{"Bool":{"aws:SecureTransport":true}}`, keys, false},
		{"IpAddress in block", `{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}}`, keys, true},
		{"IpAddress single address", `{"IpAddress":{"aws:SourceIp":"10.1.2.3"}}`, keys, true},
		{"IpAddress outside", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/16"}}`, keys, false},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, keys, false},
		{"ArnLike", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/a*"}}`, keys, true},
		{"ArnEquals", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/app"}}`, keys, true},
		{"ArnNotLike", `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/a*"}}`, keys, false},
		{"ArnNotEquals", `{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/other"}}`, keys, true},
		{"ForAnyValue", `{"ForAnyValue:StringEquals":{"s3:prefix":["x","home/alice/"]}}`, keys, true},
		{"ForAnyValue absent", `{"ForAnyValue:StringEquals":{"s3:prefix":"x"}}`, noPrefix, false},
		{"ForAllValues absent is true", `{"ForAllValues:StringEquals":{"s3:prefix":"x"}}`, noPrefix, true},
		{"ForAllValues miss", `{"ForAllValues:StringEquals":{"s3:prefix":"x"}}`, keys, false},
		{"clauses are ANDed", `{"StringLike":{"s3:prefix":"home/*"},"IpAddress":{"aws:SourceIp":"172.16.0.0/12"}}`, keys, false},
		{"nil keys", `{"StringEquals":{"s3:prefix":"home/alice/"}}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":` + tt.cond + `}}`
			p, err := ParsePolicy(doc)
			if err != nil {
				t.Fatalf("ParsePolicy: %v", err)
			}
			got := p.EvaluateWith("s3:ListBucket", "arn:aws:s3:::b", tt.keys) == Allow
			if got != tt.want {
				t.Errorf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

// A Deny with a condition applies only when the condition holds.
func TestConditionDeny(t *testing.T) {
	p, err := ParsePolicy(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:*","Resource":"*"},
		{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(0, 0)
	if d := p.EvaluateWith("s3:GetObject", "arn:aws:s3:::b/k", NewKeys("127.0.0.1:1", false, now, "")); d != Deny {
		t.Errorf("plain HTTP: %v, want Deny", d)
	}
	if d := p.EvaluateWith("s3:GetObject", "arn:aws:s3:::b/k", NewKeys("127.0.0.1:1", true, now, "")); d != Allow {
		t.Errorf("TLS: %v, want Allow", d)
	}
}

// BenchmarkEvaluateConditions compares a decision without conditions (the
// callers skip building keys then) with one that builds the request's keys
// and evaluates three conditions.
func BenchmarkEvaluateConditions(b *testing.B) {
	plain, err := ParsePolicy(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`)
	if err != nil {
		b.Fatal(err)
	}
	cond, err := ParsePolicy(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
		"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"false"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}}`)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.Run("plain", func(b *testing.B) {
		ps := []*Policy{plain}
		for b.Loop() {
			var keys Keys
			if AnyConditions(ps) {
				keys = NewKeys("10.1.2.3:4", false, now, "")
			}
			if EvaluateWith(ps, "s3:GetObject", "arn:aws:s3:::b/k", keys) != Allow {
				b.Fatal("not allowed")
			}
		}
	})
	b.Run("conditions", func(b *testing.B) {
		ps := []*Policy{cond}
		for b.Loop() {
			var keys Keys
			if AnyConditions(ps) {
				keys = NewKeys("10.1.2.3:4", false, now, "arn:aws:iam::1:role/r")
			}
			if EvaluateWith(ps, "s3:GetObject", "arn:aws:s3:::b/k", keys) != Allow {
				b.Fatal("not allowed")
			}
		}
	})
}

func TestNewKeys(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	tests := []struct {
		name, addr, arn    string
		wantIP, wantARN    string
		wantTLS, wantEpoch string
	}{
		{"IPv4 with port, assumed role", "10.1.2.3:5555", "arn:aws:sts::123456789012:assumed-role/app/fn", "10.1.2.3", "arn:aws:iam::123456789012:role/app", "false", "1780311600"},
		{"IPv6 with port", "[::1]:80", "arn:aws:iam::1:role/r", "::1", "arn:aws:iam::1:role/r", "false", "1780311600"},
		{"IPv4-mapped IPv6", "[::ffff:10.0.0.1]:1", "", "10.0.0.1", "", "false", "1780311600"},
		{"bare address", "192.0.2.7", "", "192.0.2.7", "", "false", "1780311600"},
		{"no address", "", "", "", "", "false", "1780311600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKeys(tt.addr, false, now, tt.arn)
			first := func(key string) string {
				if v := k[key]; len(v) > 0 {
					return v[0]
				}
				return ""
			}
			if got := first(KeySourceIP); got != tt.wantIP {
				t.Errorf("aws:SourceIp = %q, want %q", got, tt.wantIP)
			}
			if got := first(KeyPrincipalARN); got != tt.wantARN {
				t.Errorf("aws:PrincipalArn = %q, want %q", got, tt.wantARN)
			}
			if got := first(KeySecureTransport); got != tt.wantTLS {
				t.Errorf("aws:SecureTransport = %q", got)
			}
			if got := first(KeyEpochTime); got != tt.wantEpoch {
				t.Errorf("aws:EpochTime = %q, want %q", got, tt.wantEpoch)
			}
			if got := first(KeyCurrentTime); got != "2026-06-01T11:00:00Z" {
				t.Errorf("aws:CurrentTime = %q", got)
			}
		})
	}
}
