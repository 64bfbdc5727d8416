package main

// End-to-end tests of the management APIs on the AWS endpoint, with the
// clients users have: the AWS CLI v1, boto3 and aws-sdk-go-v2, on every
// example.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	apitypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/internal/awsauth"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/testtool"
)

// awsTarget is a running Portico's AWS endpoint and the admin credentials
// the tests call its management APIs with.
type awsTarget struct{ endpoint, id, secret string }

// adminTarget is the AWS endpoint of in, with its admin credentials.
func adminTarget(t *testing.T, in *instance) awsTarget {
	return targetOf(t, in.aws, in.dataDir)
}

// targetOf is the AWS endpoint at endpoint, with the admin credentials of
// the state directory dataDir.
func targetOf(t *testing.T, endpoint, dataDir string) awsTarget {
	t.Helper()
	a, err := awsauth.ReadAdmin(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return awsTarget{endpoint: endpoint, id: a.AccessKeyID, secret: a.SecretAccessKey}
}

// requireTool finds a tool the test needs: missing, the test fails under
// CI=true and is skipped elsewhere.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testtool.Missing(t, name, "not installed")
	}
	return p
}

// awsEnv is the environment of AWS CLI and boto3 processes: the admin
// credentials, no configuration files, the endpoint.
func awsEnv(t *testing.T, tgt awsTarget) []string {
	id, secret, endpoint := tgt.id, tgt.secret, tgt.endpoint
	none := filepath.Join(t.TempDir(), "none")
	env := []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none,
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_MAX_ATTEMPTS=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// awsCLI returns a runner of the AWS CLI against endpoint: its stdout and
// stderr, and its error.
func awsCLI(t *testing.T, tgt awsTarget) func(args ...string) (string, string, error) {
	bin := requireTool(t, "aws")
	env := awsEnv(t, tgt)
	return func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(args, "--output", "json")...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
}

// sdkClients are aws-sdk-go-v2 clients of the AWS endpoint.
func sdkClients(tgt awsTarget) (*apigatewayv2.Client, *lambdasdk.Client) {
	endpoint := tgt.endpoint
	creds := credentials.NewStaticCredentialsProvider(tgt.id, tgt.secret, "")
	return apigatewayv2.New(apigatewayv2.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds}),
		lambdasdk.New(lambdasdk.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds})
}

// counts is what a client found through the management APIs of one
// system, by API name: routes, integrations, stages, authorizers,
// deployments; and the functions.
type counts struct {
	APIs      map[string][5]int `json:"apis"`
	Functions []string          `json:"functions"`
}

func specCounts(sp *spec.Spec) counts {
	c := counts{APIs: map[string][5]int{}}
	for name, a := range sp.APIs {
		c.APIs[name] = [5]int{len(a.Routes), len(a.Integrations), len(a.Stages), len(a.Authorizers), -1}
	}
	for name := range sp.Functions {
		c.Functions = append(c.Functions, name)
	}
	return c
}

// sameCounts compares got with want; want's deployment counts (-1) are
// not compared.
func sameCounts(t *testing.T, client string, got, want counts) {
	t.Helper()
	for name, w := range want.APIs {
		g, ok := got.APIs[name]
		w[4] = g[4]
		if !ok || g != w {
			t.Errorf("%s: API %s: routes, integrations, stages, authorizers = %v, want %v", client, name, g, w)
		}
		if g[4] < 1 {
			t.Errorf("%s: API %s: %d deployments, want at least 1", client, name, g[4])
		}
	}
	if len(got.APIs) != len(want.APIs) {
		t.Errorf("%s: %d APIs, want %d", client, len(got.APIs), len(want.APIs))
	}
	if strings.Join(sortStrings(got.Functions), ",") != strings.Join(sortStrings(want.Functions), ",") {
		t.Errorf("%s: functions %v, want %v", client, got.Functions, want.Functions)
	}
}

func sortStrings(s []string) []string {
	s = append([]string(nil), s...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// TestManagementAPIExamples reads every example's resources through the
// management APIs with the AWS CLI, boto3 and aws-sdk-go-v2 (paging one
// item at a time) and compares them with the spec; unknown resources and
// operations get the services' JSON errors.
func TestManagementAPIExamples(t *testing.T) {
	for _, example := range []string{"seed", "functions", "access", "ai", "storage"} {
		t.Run(example, func(t *testing.T) {
			file := filepath.Join("..", "..", "examples", example, "portico.yaml")
			sp, err := spec.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			in := up(t, file, "--data-dir", t.TempDir())
			want := specCounts(sp)
			t.Run("aws cli", func(t *testing.T) {
				if testing.Short() && example != "seed" {
					t.Skip("-short: the AWS CLI (a second a call) reads the seed only")
				}
				sameCounts(t, "aws cli", cliCounts(t, adminTarget(t, in)), want)
			})
			t.Run("boto3", func(t *testing.T) { sameCounts(t, "boto3", boto3Counts(t, adminTarget(t, in)), want) })
			t.Run("portico routes", func(t *testing.T) { sameRoutes(t, file, adminTarget(t, in)) })
			t.Run("aws-sdk-go-v2", func(t *testing.T) { sameCounts(t, "aws-sdk-go-v2", sdkCounts(t, adminTarget(t, in)), want) })
		})
	}
	for _, example := range []string{"seed-pulumi-yaml", "seed-pulumi"} {
		t.Run(example, func(t *testing.T) { managedProgram(t, example) })
	}
}

// managedProgram reads a Pulumi program's system through the management
// APIs.
func managedProgram(t *testing.T, example string) {
	if testing.Short() && example == "seed-pulumi" {
		t.Skip("-short: the Pulumi Go program is built and run by TestPulumiPrograms")
	}
	root := t.TempDir()
	copyExampleTo(t, "seed", filepath.Join(root, "seed"))
	dir := filepath.Join(root, example)
	copyExampleTo(t, example, dir)
	stdout, _, _ := upProgram(t, dir)
	var endpoint string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "aws" {
			endpoint = f[1]
		}
	}
	// The seed as a program: one API (one route, integration and stage, no
	// authorizer) and one function, whatever the program names them.
	tgt := targetOf(t, endpoint, filepath.Join(dir, ".portico"))
	got := sdkCounts(t, tgt)
	if len(got.APIs) != 1 || len(got.Functions) != 1 {
		t.Fatalf("aws-sdk-go-v2: %+v, want one API and one function", got)
	}
	for _, n := range got.APIs {
		if n[0] != 1 || n[1] != 1 || n[2] != 1 || n[3] != 0 || n[4] < 1 {
			t.Errorf("aws-sdk-go-v2: routes, integrations, stages, authorizers, deployments = %v", n)
		}
	}
	if !testing.Short() { // the AWS CLI takes a second a call
		sameCounts(t, "aws cli", cliCounts(t, tgt), got)
	}
}

// cliCounts reads a system with the AWS CLI's read commands.
func cliCounts(t *testing.T, tgt awsTarget) counts {
	t.Helper()
	aws := awsCLI(t, tgt)
	run := func(v any, args ...string) {
		t.Helper()
		out, stderr, err := aws(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	type items struct{ Items []map[string]any }
	var apis items
	run(&apis, "apigatewayv2", "get-apis")
	c := counts{APIs: map[string][5]int{}}
	for _, a := range apis.Items {
		id, _ := a["ApiId"].(string)
		if ep, _ := a["ApiEndpoint"].(string); !strings.HasPrefix(ep, "http://") {
			t.Errorf("api %s: ApiEndpoint %q", id, ep)
		}
		var one map[string]any
		run(&one, "apigatewayv2", "get-api", "--api-id", id)
		var n [5]int
		for i, cmd := range []string{"get-routes", "get-integrations", "get-stages", "get-authorizers", "get-deployments"} {
			var l items
			run(&l, "apigatewayv2", cmd, "--api-id", id)
			n[i] = len(l.Items)
			if i == 0 && len(l.Items) > 0 {
				var r map[string]any
				run(&r, "apigatewayv2", "get-route", "--api-id", id, "--route-id", l.Items[0]["RouteId"].(string))
				if r["RouteKey"] != l.Items[0]["RouteKey"] {
					t.Errorf("get-route: %v, want %v", r, l.Items[0])
				}
			}
		}
		c.APIs[a["Name"].(string)] = n
	}
	var fns struct{ Functions []map[string]any }
	run(&fns, "lambda", "list-functions")
	for _, f := range fns.Functions {
		name := f["FunctionName"].(string)
		c.Functions = append(c.Functions, name)
	}
	if len(c.Functions) > 0 {
		var fn struct {
			Configuration map[string]any
			Code          map[string]string
		}
		run(&fn, "lambda", "get-function", "--function-name", c.Functions[0])
		if fn.Configuration["FunctionName"] != c.Functions[0] || !strings.HasPrefix(fn.Code["Location"], "file://") {
			t.Errorf("get-function: %+v", fn)
		}
		_, stderr, err := aws("lambda", "get-policy", "--function-name", c.Functions[0])
		if err == nil || !strings.Contains(stderr, "(ResourceNotFoundException)") {
			t.Errorf("get-policy: %v %s, want ResourceNotFoundException", err, stderr)
		}
	}
	var esm struct{ EventSourceMappings []any }
	run(&esm, "lambda", "list-event-source-mappings")
	if esm.EventSourceMappings == nil || len(esm.EventSourceMappings) != 0 {
		t.Errorf("list-event-source-mappings: %v", esm)
	}
	return c
}

// boto3Sweep reads every resource with boto3, paging one item at a time,
// and prints the counts as JSON.
const boto3Sweep = `
import json, boto3, botocore
api = boto3.client("apigatewayv2")
lam = boto3.client("lambda")
def pages(op, key, **kw):
    out, tok, n = [], None, 0
    while True:
        args = dict(kw, MaxResults="1")
        if tok: args["NextToken"] = tok
        r = getattr(api, op)(**args)
        out += r[key]; n += 1
        tok = r.get("NextToken")
        if not tok: break
    assert n >= len(out), (op, n, len(out))
    return out
res = {"apis": {}, "functions": []}
for a in pages("get_apis", "Items"):
    aid = a["ApiId"]
    assert api.get_api(ApiId=aid)["Name"] == a["Name"]
    routes = pages("get_routes", "Items", ApiId=aid)
    for r in routes:
        assert api.get_route(ApiId=aid, RouteId=r["RouteId"])["RouteKey"] == r["RouteKey"]
        assert r["Target"].startswith("integrations/")
    ints = pages("get_integrations", "Items", ApiId=aid)
    ids = {i["IntegrationId"] for i in ints}
    for r in routes:
        assert r["Target"][len("integrations/"):] in ids, r
    for i in ints:
        assert api.get_integration(ApiId=aid, IntegrationId=i["IntegrationId"])["IntegrationType"] == i["IntegrationType"]
    stages = pages("get_stages", "Items", ApiId=aid)
    for s in stages:
        assert api.get_stage(ApiId=aid, StageName=s["StageName"])["DeploymentId"] == s["DeploymentId"]
    auths = pages("get_authorizers", "Items", ApiId=aid)
    for x in auths:
        assert api.get_authorizer(ApiId=aid, AuthorizerId=x["AuthorizerId"])["Name"] == x["Name"]
    deps = pages("get_deployments", "Items", ApiId=aid)
    for d in deps:
        assert api.get_deployment(ApiId=aid, DeploymentId=d["DeploymentId"])["DeploymentStatus"] == "DEPLOYED"
    res["apis"][a["Name"]] = [len(routes), len(ints), len(stages), len(auths), len(deps)]
for page in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1}):
    for f in page["Functions"]:
        name = f["FunctionName"]
        res["functions"].append(name)
        assert lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"] == f["FunctionArn"]
        assert lam.get_function_configuration(FunctionName=f["FunctionArn"])["RevisionId"] == f["RevisionId"]
        try:
            lam.get_policy(FunctionName=name)
            raise SystemExit("get_policy answered")
        except lam.exceptions.ResourceNotFoundException:
            pass
for call in (lambda: api.get_api(ApiId="nope"), lambda: api.get_routes(ApiId="nope"), lambda: api.get_api_mappings(DomainName="example.com")):
    try:
        call(); raise SystemExit("no NotFoundException")
    except api.exceptions.NotFoundException:
        pass
try:
    lam.get_function(FunctionName="nope"); raise SystemExit("no ResourceNotFoundException")
except lam.exceptions.ResourceNotFoundException:
    pass
for call in (lambda: api.create_api(Name="x", ProtocolType="HTTP"), lambda: lam.list_layers()):
    try:
        call(); raise SystemExit("an unsupported operation answered")
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "NotImplemented", e.response
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 501, e.response
        assert "Portico does not serve" in e.response["Error"]["Message"], e.response
print(json.dumps(res))
`

func boto3Counts(t *testing.T, tgt awsTarget) counts {
	t.Helper()
	py := requireTool(t, "python3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		testtool.Missing(t, "boto3", "not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", boto3Sweep)
	cmd.Env = awsEnv(t, tgt)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("boto3: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var c counts
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	return c
}

// sdkCounts reads a system with aws-sdk-go-v2, one item a page, and
// checks its errors.
func sdkCounts(t *testing.T, tgt awsTarget) counts {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	api, lam := sdkClients(tgt)
	one := aws.String("1")
	c := counts{APIs: map[string][5]int{}}
	var apis []apitypes.Api
	for tok := (*string)(nil); ; {
		out, err := api.GetApis(ctx, &apigatewayv2.GetApisInput{MaxResults: one, NextToken: tok})
		if err != nil {
			t.Fatalf("GetApis: %v", err)
		}
		apis = append(apis, out.Items...)
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	for _, a := range apis {
		id := a.ApiId
		var n [5]int
		for tok := (*string)(nil); ; {
			out, err := api.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id, MaxResults: one, NextToken: tok})
			if err != nil {
				t.Fatalf("GetRoutes: %v", err)
			}
			for _, r := range out.Items {
				got, err := api.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: id, RouteId: r.RouteId})
				if err != nil || aws.ToString(got.RouteKey) != aws.ToString(r.RouteKey) {
					t.Errorf("GetRoute %s: %v %v", aws.ToString(r.RouteId), got, err)
				}
			}
			n[0] += len(out.Items)
			if tok = out.NextToken; tok == nil {
				break
			}
		}
		ints, err := api.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: id})
		if err != nil {
			t.Fatalf("GetIntegrations: %v", err)
		}
		for _, in := range ints.Items {
			if _, err := api.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: id, IntegrationId: in.IntegrationId}); err != nil {
				t.Errorf("GetIntegration: %v", err)
			}
		}
		stages, err := api.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: id})
		if err != nil {
			t.Fatalf("GetStages: %v", err)
		}
		for _, s := range stages.Items {
			got, err := api.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: s.StageName})
			if err != nil || got.CreatedDate == nil || got.LastUpdatedDate == nil {
				t.Errorf("GetStage %s: %+v %v", aws.ToString(s.StageName), got, err)
			}
		}
		auths, err := api.GetAuthorizers(ctx, &apigatewayv2.GetAuthorizersInput{ApiId: id})
		if err != nil {
			t.Fatalf("GetAuthorizers: %v", err)
		}
		deps, err := api.GetDeployments(ctx, &apigatewayv2.GetDeploymentsInput{ApiId: id})
		if err != nil {
			t.Fatalf("GetDeployments: %v", err)
		}
		n[1], n[2], n[3], n[4] = len(ints.Items), len(stages.Items), len(auths.Items), len(deps.Items)
		c.APIs[aws.ToString(a.Name)] = n
	}
	p := lambdasdk.NewListFunctionsPaginator(lam, &lambdasdk.ListFunctionsInput{MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListFunctions: %v", err)
		}
		for _, f := range out.Functions {
			c.Functions = append(c.Functions, aws.ToString(f.FunctionName))
			got, err := lam.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: f.FunctionName})
			if err != nil || got.Configuration.LastUpdateStatus != lambdatypes.LastUpdateStatusSuccessful {
				t.Errorf("GetFunction %s: %v", aws.ToString(f.FunctionName), err)
			}
		}
	}

	// Errors: the SDK's own types, and NotImplemented for what Portico does
	// not serve.
	var nf *apitypes.NotFoundException
	if _, err := api.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: aws.String("nope")}); !errors.As(err, &nf) {
		t.Errorf("GetApi nope: %v, want NotFoundException", err)
	}
	var rnf *lambdatypes.ResourceNotFoundException
	if _, err := lam.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{FunctionName: aws.String("nope")}); !errors.As(err, &rnf) {
		t.Errorf("GetFunctionConfiguration nope: %v, want ResourceNotFoundException", err)
	}
	var ae smithy.APIError
	if _, err := api.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: aws.String("x")}); !errors.As(err, &ae) || ae.ErrorCode() != "NotImplemented" {
		t.Errorf("DeleteApi: %v, want NotImplemented", err)
	}
	if _, err := lam.DeleteFunction(ctx, &lambdasdk.DeleteFunctionInput{FunctionName: aws.String("x")}); !errors.As(err, &ae) || ae.ErrorCode() != "NotImplemented" {
		t.Errorf("DeleteFunction: %v, want NotImplemented", err)
	}
	return c
}

// zipOf packs files (name -> content) into a .zip package.
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestUpdateFunction changes a running function through the Lambda API:
// new code with `aws lambda update-function-code --zip-file`, a new
// environment with update-function-configuration, while its route keeps
// serving; bad input is refused in Lambda's error shapes; an edit of the
// spec file ends the overrides.
func TestUpdateFunction(t *testing.T) {
	dir := copySeed(t)
	specFile := filepath.Join(dir, "portico.yaml")
	in := up(t, specFile)
	ep := in.endpoints["aiServicesHttpApi v1"] + "/?text=great"
	cli := awsCLI(t, adminTarget(t, in))

	// Requests keep being served while the function changes underneath.
	var served, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if resp, _ := get(t, ep); resp.StatusCode == 200 {
				served.Add(1)
			} else {
				failed.Add(1)
			}
		}
	}()

	pkg := filepath.Join(t.TempDir(), "package.zip")
	handler := "import os\ndef main(event, context):\n    return {'statusCode': 200, 'body': 'v2 ' + os.environ.get('GREETING', 'none')}\n"
	if err := os.WriteFile(pkg, zipOf(t, map[string]string{"handler.py": handler}), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := cli("lambda", "update-function-code", "--function-name", "aiServiceFunction", "--zip-file", "fileb://"+pkg)
	if err != nil {
		t.Fatalf("update-function-code: %v\n%s", err, stderr)
	}
	var cfg struct {
		LastUpdateStatus, State, CodeSha256, RevisionId string
		CodeSize                                        int64
	}
	if err := json.Unmarshal([]byte(out), &cfg); err != nil || cfg.LastUpdateStatus != "Successful" || cfg.State != "Active" || cfg.CodeSize == 0 {
		t.Errorf("update-function-code answered %s (%v)", out, err)
	}
	if _, stderr, err := cli("lambda", "wait", "function-updated", "--function-name", "aiServiceFunction"); err != nil {
		t.Errorf("aws lambda wait function-updated: %v\n%s", err, stderr)
	}
	if _, body := get(t, ep); body != "v2 none" {
		t.Errorf("after update-function-code: %q, want the new code's answer", body)
	}
	out, stderr, err = cli("lambda", "update-function-configuration", "--function-name", "aiServiceFunction",
		"--environment", "Variables={GREETING=hello}", "--timeout", "10", "--memory-size", "256")
	if err != nil || !strings.Contains(out, `"GREETING": "hello"`) || !strings.Contains(out, `"Timeout": 10`) {
		t.Fatalf("update-function-configuration: %v\n%s%s", err, out, stderr)
	}
	if _, body := get(t, ep); body != "v2 hello" {
		t.Errorf("after update-function-configuration: %q", body)
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || served.Load() == 0 {
		t.Errorf("while updating: %d served, %d failed; want every request served", served.Load(), failed.Load())
	}

	// The package can come from Portico's own store too.
	pkg3 := filepath.Join(t.TempDir(), "package3.zip")
	if err := os.WriteFile(pkg3, zipOf(t, map[string]string{"handler.py": strings.Replace(handler, "v2 ", "v3 ", 1)}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := cli("s3", "cp", pkg3, "s3://models/code/package3.zip"); err != nil {
		t.Fatalf("aws s3 cp: %v\n%s", err, stderr)
	}
	if _, stderr, err := cli("lambda", "update-function-code", "--function-name", "aiServiceFunction", "--s3-bucket", "models", "--s3-key", "code/package3.zip"); err != nil {
		t.Fatalf("update-function-code from the store: %v\n%s", err, stderr)
	}
	if _, body := get(t, ep); body != "v3 hello" {
		t.Errorf("after update-function-code from the store: %q", body)
	}

	// CreateDeployment as the CLI sends it; the stage then runs it.
	apiID, _, err := cli("apigatewayv2", "get-apis", "--query", "Items[0].ApiId")
	if err != nil {
		t.Fatal(err)
	}
	apiID = strings.Trim(strings.TrimSpace(apiID), `"`)
	out, stderr, err = cli("apigatewayv2", "create-deployment", "--api-id", apiID, "--stage-name", "v1")
	var dep struct{ DeploymentId, DeploymentStatus string }
	if err != nil || json.Unmarshal([]byte(out), &dep) != nil || dep.DeploymentStatus != "DEPLOYED" {
		t.Fatalf("create-deployment: %v %s%s", err, out, stderr)
	}
	if out, _, err := cli("apigatewayv2", "get-stage", "--api-id", apiID, "--stage-name", "v1"); err != nil || !strings.Contains(out, `"DeploymentId": "`+dep.DeploymentId+`"`) {
		t.Errorf("get-stage after create-deployment %s: %v %s", dep.DeploymentId, err, out)
	}

	// Bad input, each beside its good form above.
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"update-function-configuration", "--function-name", "aiServiceFunction", "--timeout", "1000"}, "(InvalidParameterValueException)"},
		{[]string{"update-function-configuration", "--function-name", "aiServiceFunction", "--environment", "Variables={AWS_REGION=x}"}, "reserved keys"},
		{[]string{"update-function-configuration", "--function-name", "aiServiceFunction", "--role", "arn:aws:iam::000000000000:role/x"}, "Portico does not apply Role"},
		{[]string{"update-function-configuration", "--function-name", "aiServiceFunction", "--handler", "handler.main", "--revision-id", "stale"}, "(PreconditionFailedException)"},
		{[]string{"update-function-configuration", "--function-name", "nope", "--timeout", "5"}, "(ResourceNotFoundException)"},
		{[]string{"update-function-code", "--function-name", "aiServiceFunction", "--s3-bucket", "models", "--s3-key", "x.zip"}, "NoSuchKey"},
		{[]string{"update-function-code", "--function-name", "aiServiceFunction", "--s3-bucket", "models", "--s3-key", "model.json"}, "Could not unzip"},
	}
	for _, b := range bad {
		if _, stderr, err = cli(append([]string{"lambda"}, b.args...)...); err == nil || !strings.Contains(stderr, b.want) {
			t.Errorf("aws lambda %v: %v %s, want %q", b.args, err, stderr, b.want)
		}
	}
	_, lam := sdkClients(adminTarget(t, in))
	ctx := context.Background()
	var ip *lambdatypes.InvalidParameterValueException
	if _, err := lam.UpdateFunctionCode(ctx, &lambdasdk.UpdateFunctionCodeInput{FunctionName: aws.String("aiServiceFunction"), ZipFile: []byte("not a zip")}); !errors.As(err, &ip) {
		t.Errorf("UpdateFunctionCode with a bad package: %v, want InvalidParameterValueException", err)
	}
	upd, err := lam.UpdateFunctionConfiguration(ctx, &lambdasdk.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("aiServiceFunction"), Description: aws.String("set with aws-sdk-go-v2")})
	if err != nil || aws.ToString(upd.Description) != "set with aws-sdk-go-v2" || aws.ToInt32(upd.Timeout) != 10 {
		t.Errorf("UpdateFunctionConfiguration: %+v %v, want the description added to the earlier changes", upd, err)
	}
	escape := zipOf(t, map[string]string{"../escape.py": "x"})
	if _, err := lam.UpdateFunctionCode(ctx, &lambdasdk.UpdateFunctionCodeInput{FunctionName: aws.String("aiServiceFunction"), ZipFile: escape}); !errors.As(err, &ip) {
		t.Errorf("UpdateFunctionCode with ../: %v, want InvalidParameterValueException", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".portico", "functions", "escape.py")); err == nil {
		t.Error("a package entry was written outside its directory")
	}
	if _, body := get(t, ep); body != "v3 hello" {
		t.Errorf("after refused updates: %q, want the last good update", body)
	}

	// A spec edit that does not load changes nothing, overrides included.
	good, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specFile, append(append([]byte(nil), good...), "\nnot: [valid\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() bool { return strings.Contains(in.stderr.String(), "spec not applied") })
	if _, body := get(t, ep); body != "v3 hello" {
		t.Errorf("after a bad spec edit: %q, want the overrides still running", body)
	}
	if got, err := lam.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{FunctionName: aws.String("aiServiceFunction")}); err != nil || aws.ToInt32(got.Timeout) != 10 {
		t.Errorf("after a bad spec edit: %+v %v, want the overrides still reported", got, err)
	}

	// A good edit of the spec file ends the overrides: the spec's function again.
	if err := os.WriteFile(specFile, good, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() bool {
		_, body := get(t, ep)
		return strings.Contains(body, `"label"`)
	})
	got, err := lam.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{FunctionName: aws.String("aiServiceFunction")})
	if err != nil || aws.ToInt32(got.Timeout) != 3 || got.Environment.Variables["GREETING"] != "" {
		t.Errorf("after the spec changed: %+v %v, want the spec's configuration", got, err)
	}
}

// sameRoutes checks that `portico routes --output json` shows each stage's
// routes as the running system's GetRoutes does, IDs included.
func sameRoutes(t *testing.T, file string, tgt awsTarget) {
	t.Helper()
	out, err := exec.Command(binary, "routes", "-f", file, "--output", "json").Output()
	if err != nil {
		t.Fatalf("portico routes: %v", err)
	}
	var stages []struct {
		ApiId string
		Items []json.RawMessage
	}
	if err := json.Unmarshal(out, &stages); err != nil {
		t.Fatal(err)
	}
	api, _ := sdkClients(tgt)
	for _, st := range stages {
		got, err := api.GetRoutes(context.Background(), &apigatewayv2.GetRoutesInput{ApiId: aws.String(st.ApiId)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Items) != len(st.Items) {
			t.Fatalf("api %s: %d routes from GetRoutes, %d from portico routes", st.ApiId, len(got.Items), len(st.Items))
		}
		for i, raw := range st.Items {
			var item struct {
				RouteId, RouteKey, Target, AuthorizationType string
				AuthorizerId                                 *string
			}
			if err := json.Unmarshal(raw, &item); err != nil {
				t.Fatal(err)
			}
			r := got.Items[i]
			if item.RouteId != aws.ToString(r.RouteId) || item.RouteKey != aws.ToString(r.RouteKey) || item.Target != aws.ToString(r.Target) ||
				item.AuthorizationType != string(r.AuthorizationType) || aws.ToString(item.AuthorizerId) != aws.ToString(r.AuthorizerId) {
				t.Errorf("api %s: portico routes %s, GetRoutes %+v", st.ApiId, raw, r)
			}
		}
	}
}
