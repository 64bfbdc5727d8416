package s3

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/sigv4"
)

// TestPolicyConditions runs AWS's "home folder" policy and a few global
// keys through real SDK requests: the store fills s3:prefix, s3:max-keys,
// aws:SourceIp and aws:SecureTransport, and the conditions decide.
func TestPolicyConditions(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	policy, err := iam.ParsePolicy(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::home",
		 "Condition":{"StringLike":{"s3:prefix":["","alice/*"]}}},
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/alice/*",
		 "Condition":{"IpAddress":{"aws:SourceIp":["127.0.0.0/8","::1"]}}},
		{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::home/alice/*",
		 "Condition":{"Bool":{"aws:SecureTransport":"true"}}},
		{"Effect":"Deny","Action":"s3:ListBucket","Resource":"*",
		 "Condition":{"NumericGreaterThan":{"s3:max-keys":"100"}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	kr := h.srv.deps.Principals.(*Keyring)
	if err := kr.Set([]Principal{
		{Name: "admin", Credentials: sigv4.Credentials{AccessKeyID: adminID, SecretAccessKey: adminSecret}, Admin: true},
		{Name: "accessKey/alice", ARN: "arn:aws:iam::000000000000:role/alice", Credentials: sigv4.Credentials{AccessKeyID: "AKIAALICE", SecretAccessKey: "alice-secret"}, Policies: []*iam.Policy{policy}},
	}); err != nil {
		t.Fatal(err)
	}
	admin, alice := h.admin(true), h.client("AKIAALICE", "alice-secret", "", true)
	b := aws.String("home")
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("alice/notes.txt"), Body: strings.NewReader("hi")}); err != nil {
		t.Fatal(err)
	}
	list := func(prefix string, maxKeys int32) error {
		in := &s3.ListObjectsV2Input{Bucket: b}
		if prefix != "-" {
			in.Prefix = aws.String(prefix)
		}
		if maxKeys > 0 {
			in.MaxKeys = aws.Int32(maxKeys)
		}
		_, err := alice.ListObjectsV2(ctx, in)
		return err
	}
	tests := []struct {
		name string
		do   func() error
		want string // "" or the error code
	}{
		{"list her folder", func() error { return list("alice/", 0) }, ""},
		{"list without a prefix (s3:prefix is \"\")", func() error { return list("-", 0) }, ""},
		{"list another folder", func() error { return list("bob/", 0) }, "AccessDenied"},
		{"list with max-keys 50", func() error { return list("alice/", 50) }, ""},
		{"list with max-keys 500 (explicit deny)", func() error { return list("alice/", 500) }, "AccessDenied"},
		{"get from loopback", func() error {
			_, err := alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("alice/notes.txt")})
			return err
		}, ""},
		{"put over plain HTTP", func() error {
			_, err := alice.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("alice/new.txt"), Body: strings.NewReader("x")})
			return err
		}, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if got := apiCode(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("error = %v (%s), want %q", err, got, tt.want)
			}
		})
	}
}
