package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/portico-dev/portico/internal/spec"
)

// TestFunctionURLs runs examples/function-urls: a RESPONSE_STREAM URL with
// CORS (curl by path and by host name), and an AWS_IAM URL signed with
// aws-sdk-go-v2's SigV4 signer (service lambda).
func TestFunctionURLs(t *testing.T) {
	curl, err := exec.LookPath("curl")
	needTool(t, err == nil, "curl")
	in := up(t, copyExample(t, "function-urls"))
	port := in.gateway[strings.LastIndexByte(in.gateway, ':')+1:]
	host := func(fn string) string { return spec.DeriveURLID(fn) + ".lambda-url." + region + ".localhost:" + port }

	t.Run("stream with curl, both addresses", func(t *testing.T) {
		for _, url := range []string{in.gateway + "/_lambda-url/streamer/?q=curl", "http://" + host("streamer") + "/?q=curl"} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, err := exec.CommandContext(ctx, curl, "-sSN", "--resolve", host("streamer")+":127.0.0.1", "-D", "-", url).CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("curl %s: %v\n%s", url, err, out)
			}
			s := string(out)
			if !strings.Contains(s, "HTTP/1.1 200") || !strings.Contains(s, "text/event-stream") || !strings.Contains(s, "data: curl.") || !strings.HasSuffix(s, "data: [DONE]\n\n") {
				t.Errorf("%s:\n%s", url, s)
			}
		}
	})

	t.Run("python streaming", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, curl, "-sSN", in.gateway+"/_lambda-url/pystream/?q=tokens").CombinedOutput()
		if err != nil || string(out) != "Python\nstreams\ntokens\nword\nby\nword\n" {
			t.Errorf("curl: %v\n%q", err, out)
		}
	})

	t.Run("cors", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", in.gateway+"/", nil)
		req.Host = host("streamer")
		req.Header.Set("Origin", "http://page.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "GET") {
			t.Errorf("preflight %d %v", resp.StatusCode, resp.Header)
		}
	})

	a := in.admin(t)
	signed := func(key, secret, body string) *http.Request {
		req, _ := http.NewRequest("POST", in.gateway+"/some/path?x=1", strings.NewReader(body))
		req.Host = host("private")
		req.Header.Set("Content-Type", "text/plain")
		if key != "" {
			sum := sha256.Sum256([]byte(body))
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
				req, hex.EncodeToString(sum[:]), "lambda", region, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		return req
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"unsigned", signed("", "", "hi"), 403},
		{"wrong secret", signed("AKIAFUNCTIONURLCALL", "nope", "hi"), 403},
		{"unknown key", signed("AKIANOBODY00000000", "x", "hi"), 403},
		{"caller allowed by its role", signed("AKIAFUNCTIONURLCALL", "function-url-caller-secret", "hi"), 200},
		{"admin", signed(a.AccessKeyID, a.SecretAccessKey, "hi"), 200},
	}
	for _, tt := range tests {
		t.Run("AWS_IAM "+tt.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tt.status)
			}
			if tt.status != 200 {
				if !bytes.Contains(b, []byte(`"Message":"Forbidden"`)) {
					t.Errorf("body %s", b)
				}
				return
			}
			var ev struct {
				RawPath, Body, RouteKey, Version string
				RequestContext                   struct {
					APIID        string `json:"apiId"`
					DomainName   string `json:"domainName"`
					DomainPrefix string `json:"domainPrefix"`
					Stage        string `json:"stage"`
					Authorizer   struct {
						IAM map[string]any `json:"iam"`
					} `json:"authorizer"`
				}
			}
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
			id := spec.DeriveURLID("private")
			rc := ev.RequestContext
			if ev.RawPath != "/some/path" || ev.Body != "hi" || ev.RouteKey != "$default" || ev.Version != "2.0" ||
				rc.APIID != id || rc.DomainPrefix != id || rc.DomainName != id+".lambda-url."+region+".localhost" || rc.Stage != "$default" ||
				rc.Authorizer.IAM["accessKey"] == nil {
				t.Errorf("event %s", b)
			}
		})
	}
}
