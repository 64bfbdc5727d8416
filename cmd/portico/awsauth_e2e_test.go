package main

// End-to-end tests of the AWS endpoint's trust boundary (issue 13, items
// 4-6): no published credentials, SigV4 and IAM on every call, answered as
// AWS answers, with the real binary, the AWS CLI and boto3.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/portico-dev/portico/internal/awsauth"
	"github.com/portico-dev/portico/internal/testtool"
)

// cli runs a portico command against the instance, with its endpoint and
// state directory (where the admin credentials are).
func (in *instance) cli(args ...string) *exec.Cmd {
	return exec.Command(binary, append(args, "--endpoint", in.aws, "--data-dir", in.dataDir)...)
}

// admin returns the instance's admin credentials.
func (in *instance) admin(t *testing.T) awsauth.Admin {
	t.Helper()
	a, err := awsauth.ReadAdmin(in.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// client returns an HTTP client that signs with the admin credentials.
func (in *instance) client(t *testing.T) *http.Client {
	a := in.admin(t)
	return &http.Client{Timeout: 60 * time.Second, Transport: &awsauth.Signer{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey, Region: region}}
}

const trustSpec = `
roles:
  invoker:
    policies:
      - Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: lambda:InvokeFunction, Resource: "arn:aws:lambda:us-east-1:000000000000:function:target"}
  nobody:
    policies:
      - Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::private/*"}
accessKeys:
  ci:       {accessKeyId: AKIATRUSTCIKEY000001, secretAccessKey: ci-secret-0123456789, role: invoker}
  readonly: {accessKeyId: AKIATRUSTREADONLY001, secretAccessKey: ro-secret-0123456789, role: nobody}
buckets:
  private: {}
functions:
  target:   {runtime: python3.12, handler: app.target, code: ./app, timeout: 10}
  caller:   {runtime: python3.12, handler: app.caller, code: ./app, timeout: 20, role: invoker}
  stranger: {runtime: python3.12, handler: app.caller, code: ./app, timeout: 20, role: nobody}
`

const trustApp = `import json
import boto3
import botocore


def target(event, context):
    return {"from": "target", "got": event}


def caller(event, context):
    # AWS_ENDPOINT_URL and the role's credentials come from the sandbox.
    client = boto3.client("lambda")
    try:
        r = client.invoke(FunctionName=event["fn"], Payload=json.dumps({"by": context.function_name}))
        return {"ok": json.loads(r["Payload"].read())}
    except botocore.exceptions.ClientError as e:
        return {"error": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
`

// signed sends one request signed with creds (nil: unsigned) for the
// path's service, at time at.
func signed(t *testing.T, method, url, body string, creds *aws.Credentials, at time.Time, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if creds != nil {
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), *creds, req, hex.EncodeToString(sum[:]), awsauth.Service(req.URL.Path), region, at); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestAWSEndpointTrust(t *testing.T) {
	if !boto3Available() {
		testtool.Missing(t, "boto3", "not installed")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(dir, "portico.yaml")
	os.WriteFile(spec, []byte(trustSpec), 0o644)
	os.WriteFile(filepath.Join(dir, "app", "app.py"), []byte(trustApp), 0o644)
	in := up(t, spec)
	a := in.admin(t)
	admin := &aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey}

	t.Run("credentials file", func(t *testing.T) {
		fi, err := os.Stat(filepath.Join(in.dataDir, awsauth.AdminFile))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%v %v, want mode 0600", fi.Mode().Perm(), err)
		}
		if a.AccessKeyID == "AKIAPORTICOLOCAL0000" {
			t.Fatal("the published key is back")
		}
	})

	// Before anything is invoked: a cross-site form POST (text/plain, no
	// signature) must run nothing.
	t.Run("cross-site text/plain POST", func(t *testing.T) {
		resp, body := signed(t, "POST", in.aws+"/2015-03-31/functions/target/invocations", `{"evil":1}`, nil, time.Now(),
			"Content-Type", "text/plain", "Origin", "https://evil.example")
		if resp.StatusCode != 403 || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
		}
		pre, _ := signed(t, "OPTIONS", in.aws+"/2015-03-31/functions/target/invocations", "", nil, time.Now(),
			"Origin", "https://evil.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization")
		if pre.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight allowed: %v", pre.Header)
		}
		// target never ran: its log is empty.
		resp, body = signed(t, "GET", in.aws+"/_portico/functions/target/logs", "", admin, time.Now())
		if resp.StatusCode != 200 || strings.Contains(body, "START") {
			t.Errorf("target's log after the cross-site POST: %d %s", resp.StatusCode, body)
		}
	})

	old := &aws.Credentials{AccessKeyID: "AKIAPORTICOLOCAL0000", SecretAccessKey: "portico-local-secret-access-key"}
	unknown := &aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN01", SecretAccessKey: "whatever"}
	forged := &aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: "forged-secret"}
	ro := &aws.Credentials{AccessKeyID: "AKIATRUSTREADONLY001", SecretAccessKey: "ro-secret-0123456789"}
	var apiID string
	{
		resp, body := signed(t, "GET", in.aws+"/v2/apis", "", admin, time.Now())
		if resp.StatusCode != 200 {
			t.Fatalf("GetApis as admin: %d %s", resp.StatusCode, body)
		}
		var out struct{ Items []struct{ APIID string } }
		json.Unmarshal([]byte(body), &out)
		if len(out.Items) > 0 {
			apiID = out.Items[0].APIID
		}
	}
	_ = apiID
	endpoints := []struct {
		name, method, path, body string
		wantOK                   int // status for the admin
	}{
		{"Invoke", "POST", "/2015-03-31/functions/target/invocations", `{"k":"v"}`, 200},
		{"InvokeWithResponseStream", "POST", "/2021-11-15/functions/target/response-streaming-invocations", `{}`, 200},
		{"GetApis", "GET", "/v2/apis", "", 200},
		{"CreateDeployment", "POST", "/v2/apis/nope/deployments", `{"stageName":"x"}`, 404},
		{"list API keys", "GET", "/_portico/apikeys?includeValues=true", "", 200},
		{"create API key", "POST", "/_portico/apikeys", `{"name":"mallory","plan":"none"}`, 400},
		{"delete API key", "DELETE", "/_portico/apikeys/nobody", "", 404},
		{"usage", "GET", "/_portico/apikeys/nobody/usage", "", 404},
		{"logs", "GET", "/_portico/functions/target/logs", "", 200},
	}
	attacks := []struct {
		name     string
		creds    *aws.Credentials
		at       time.Time
		wantType string
		wantMsg  string
	}{
		{"unsigned", nil, time.Now(), "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"unknown key", unknown, time.Now(), "UnrecognizedClientException", "The security token included in the request is invalid."},
		{"old published key", old, time.Now(), "UnrecognizedClientException", "The security token included in the request is invalid."},
		{"forged signature", forged, time.Now(), "InvalidSignatureException", "The request signature we calculated does not match the signature you provided."},
		{"expired", admin, time.Now().Add(-10 * time.Minute), "InvalidSignatureException", "Signature expired: "},
		{"denied", ro, time.Now(), "AccessDeniedException", "User: arn:aws:iam::000000000000:role/nobody is not authorized to perform: "},
	}
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			for _, at := range attacks {
				resp, body := signed(t, ep.method, in.aws+ep.path, ep.body, at.creds, at.at)
				var msg struct {
					Message string `json:"message"`
				}
				if resp.StatusCode != 403 || resp.Header.Get("x-amzn-ErrorType") != at.wantType || json.Unmarshal([]byte(body), &msg) != nil ||
					!strings.HasPrefix(msg.Message, at.wantMsg) || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s: %d %s %s, want 403 %s %q", at.name, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body, at.wantType, at.wantMsg)
				}
			}
			resp, body := signed(t, ep.method, in.aws+ep.path, ep.body, admin, time.Now())
			if resp.StatusCode != ep.wantOK {
				t.Errorf("admin: %d %s, want %d", resp.StatusCode, body, ep.wantOK)
			}
		})
	}
	t.Run("denied invoke message", func(t *testing.T) {
		resp, body := signed(t, "POST", in.aws+"/2015-03-31/functions/target/invocations", `{}`, ro, time.Now())
		want := `{"Type":"User","message":"User: arn:aws:iam::000000000000:role/nobody is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:target because no identity-based policy allows the lambda:InvokeFunction action"}`
		if resp.StatusCode != 403 || body != want {
			t.Errorf("%d %s\nwant %s", resp.StatusCode, body, want)
		}
	})
	t.Run("spec access key allowed by its role", func(t *testing.T) {
		ci := &aws.Credentials{AccessKeyID: "AKIATRUSTCIKEY000001", SecretAccessKey: "ci-secret-0123456789"}
		if resp, body := signed(t, "POST", in.aws+"/2015-03-31/functions/target/invocations", `{"ci":1}`, ci, time.Now()); resp.StatusCode != 200 || !strings.Contains(body, `"ci": 1`) {
			t.Errorf("ci invoking target: %d %s", resp.StatusCode, body)
		}
		if resp, _ := signed(t, "POST", in.aws+"/2015-03-31/functions/caller/invocations", `{}`, ci, time.Now()); resp.StatusCode != 403 {
			t.Errorf("ci invoking caller (not in its policy): %d", resp.StatusCode)
		}
		if resp, _ := signed(t, "GET", in.aws+"/_portico/apikeys", "", ci, time.Now()); resp.StatusCode != 403 {
			t.Errorf("ci listing API keys: %d", resp.StatusCode)
		}
	})

	t.Run("S3 anonymous and forged", func(t *testing.T) {
		for _, path := range []string{"/", "/private", "/private/secret.txt", "/nosuchbucket/x"} {
			resp, body := signed(t, "GET", in.aws+path, "", nil, time.Now())
			if resp.StatusCode != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") || !strings.Contains(resp.Header.Get("Content-Type"), "xml") {
				t.Errorf("anonymous GET %s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
	})

	t.Run("function to function through boto3", func(t *testing.T) {
		for _, tc := range []struct{ fn, target, want string }{
			{"caller", "target", `"ok": {"from": "target", "got": {"by": "caller"}}`},
			{"stranger", "target", `"error": "AccessDeniedException", "message": "User: arn:aws:sts::000000000000:assumed-role/nobody/stranger is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:target because no identity-based policy allows the lambda:InvokeFunction action", "status": 403`},
			{"caller", "stranger", `"error": "AccessDeniedException"`},
		} {
			resp, body := signed(t, "POST", in.aws+"/2015-03-31/functions/"+tc.fn+"/invocations", `{"fn":"`+tc.target+`"}`, admin, time.Now())
			if resp.StatusCode != 200 || !strings.Contains(body, tc.want) {
				t.Errorf("%s invoking %s: %d %s\nwant %s", tc.fn, tc.target, resp.StatusCode, body, tc.want)
			}
		}
	})

	t.Run("portico env with the AWS CLI and boto3", func(t *testing.T) {
		awsBin, err := exec.LookPath("aws")
		if err != nil {
			testtool.Missing(t, "aws", "the AWS CLI is not installed")
		}
		tmp := t.TempDir()
		listen := strings.TrimPrefix(in.aws, "http://")
		env := []string{"HOME=" + tmp, "PATH=" + os.Getenv("PATH"), "AWS_EC2_METADATA_DISABLED=true",
			"AWS_CONFIG_FILE=" + filepath.Join(tmp, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(tmp, "none"),
			"AWS_SESSION_TOKEN=left-over-from-real-aws"}
		sh := func(script string) (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-c", `eval "$("$PORTICO" env --data-dir "$STATE" --aws-listen "$LISTEN")" && `+script)
			cmd.Env = append(env, "PORTICO="+binary, "STATE="+in.dataDir, "LISTEN="+listen, "OUT="+filepath.Join(tmp, "out.json"), "AWSBIN="+awsBin)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := sh(`"$AWSBIN" lambda invoke --function-name target --payload '{"cli":true}' "$OUT" && cat "$OUT"`); err != nil || !strings.Contains(out, `"cli": true`) {
			t.Errorf("aws lambda invoke: %v\n%s", err, out)
		}
		// Portico's own commands, away from the state directory, take the
		// credentials portico env exported.
		if out, err := sh(`cd "$HOME" && "$PORTICO" invoke --endpoint "$AWS_ENDPOINT_URL" target --payload '{"env":1}'`); err != nil || !strings.Contains(out, `"env": 1`) {
			t.Errorf("portico invoke after portico env: %v\n%s", err, out)
		}
		if out, err := sh(`"$AWSBIN" apigatewayv2 get-apis`); err != nil || !strings.Contains(out, "Items") {
			t.Errorf("aws apigatewayv2 get-apis: %v\n%s", err, out)
		}
		if out, err := sh(`"$AWSBIN" s3 ls`); err != nil || !strings.Contains(out, "private") {
			t.Errorf("aws s3 ls: %v\n%s", err, out)
		}
		py := `import boto3, json
r = boto3.client("lambda").invoke(FunctionName="target", Payload=b'{"boto3": 1}')
print(json.loads(r["Payload"].read()))
print([b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]])`
		script := filepath.Join(tmp, "boto3_check.py")
		os.WriteFile(script, []byte(py), 0o644)
		if out, err := sh(`python3 ` + script); err != nil || !strings.Contains(out, "'boto3': 1") || !strings.Contains(out, "['private']") {
			t.Errorf("boto3: %v\n%s", err, out)
		}
		// The old published key is refused to the CLI too.
		cmd := exec.Command(awsBin, "lambda", "invoke", "--function-name", "target", "--endpoint-url", in.aws, filepath.Join(tmp, "x.json"))
		cmd.Env = append(env[:len(env)-1], "AWS_ACCESS_KEY_ID=AKIAPORTICOLOCAL0000", "AWS_SECRET_ACCESS_KEY=portico-local-secret-access-key", "AWS_DEFAULT_REGION=us-east-1")
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "UnrecognizedClientException") {
			t.Errorf("aws with the old key: %v\n%s", err, out)
		}
	})

	t.Run("portico env bad input", func(t *testing.T) {
		out, err := exec.Command(binary, "env", "--data-dir", t.TempDir()).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "admin.json") {
			t.Errorf("env without state: %v %s", err, out)
		}
		out, err = exec.Command(binary, "logs", "target", "--endpoint", in.aws, "--data-dir", t.TempDir()).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--data-dir") {
			t.Errorf("logs without credentials: %v %s", err, out)
		}
	})
}

// TestAdminListener: pprof only when asked for (the token guard off
// loopback is tested in internal/system).
func TestAdminListener(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "portico.yaml")
	os.WriteFile(spec, []byte("buckets:\n  bkt: {}\n"), 0o644)
	in := up(t, spec)
	if resp, _ := get(t, in.console+"/debug/pprof/"); resp.StatusCode == 200 {
		t.Errorf("pprof without --pprof: %d", resp.StatusCode)
	}
	if resp, _ := get(t, in.console+"/metrics"); resp.StatusCode != 200 {
		t.Errorf("metrics on loopback: %d", resp.StatusCode)
	}
	in2 := up(t, spec, "--pprof", "--data-dir", t.TempDir()) // a second instance: its own state
	if resp, _ := get(t, in2.console+"/debug/pprof/"); resp.StatusCode != 200 {
		t.Errorf("pprof with --pprof: %d", resp.StatusCode)
	}

}

// boto3Available reports whether python3 can import boto3.
func boto3Available() bool {
	py, err := exec.LookPath("python3")
	return err == nil && exec.Command(py, "-c", "import boto3").Run() == nil
}
