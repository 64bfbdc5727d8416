package pulumi

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/spec"
)

// Resource type tokens of pulumi-aws v6.
const (
	tRole          = "aws:iam/role:Role"
	tRolePolicy    = "aws:iam/rolePolicy:RolePolicy"
	tAttachment    = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	tBucket        = "aws:s3/bucketV2:BucketV2"
	tObject        = "aws:s3/bucketObjectv2:BucketObjectv2"
	tFunction      = "aws:lambda/function:Function"
	tLayer         = "aws:lambda/layerVersion:LayerVersion"
	tPermission    = "aws:lambda/permission:Permission"
	tAPI           = "aws:apigatewayv2/api:Api"
	tAuthorizer    = "aws:apigatewayv2/authorizer:Authorizer"
	tIntegrate     = "aws:apigatewayv2/integration:Integration"
	tRoute         = "aws:apigatewayv2/route:Route"
	tStage         = "aws:apigatewayv2/stage:Stage"
	tLogGroup      = "aws:cloudwatch/logGroup:LogGroup"
	tEventCfg      = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
	tNotify        = "aws:s3/bucketNotification:BucketNotification"
	tRouteResponse = "aws:apigatewayv2/routeResponse:RouteResponse"
	tFunctionURL   = "aws:lambda/functionUrl:FunctionUrl"
)

// TestProgramGraph compiles, vets and runs every example's exported program:
// a graph_test.go from testdata runs its deploy function under Pulumi's
// mocks and writes the resources it registers, which must be exactly the
// ones the spec calls for, wired to each other as AWS needs. The go command
// runs with -mod=readonly and no proxy, so a go.mod or go.sum that lacks
// anything fails here. It needs pulumi-aws in the module cache (it never
// downloads it); with the packages already built it takes tens of seconds,
// mostly linking.
func TestProgramGraph(t *testing.T) {
	requirePulumiModules(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "examples", "*", "portico.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example specs: %v", err)
	}
	mocks, err := os.ReadFile(filepath.Join("testdata", "graph_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	// go vet compiles every dependency; one at a time, so that on a cold
	// build cache the programs do not each compile pulumi-aws at once. The
	// links of go test then run in parallel.
	var vetMu sync.Mutex
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sp := load(t, name)
			dir := filepath.Join(root, name)
			if err := Write(sp, dir); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := os.WriteFile(filepath.Join(dir, "graph_test.go"), mocks, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(root, name+".graph.json")
			start := time.Now()
			func() {
				vetMu.Lock()
				defer vetMu.Unlock() // also when goCmd fails the test
				goCmd(t, dir, nil, "vet", ".")
			}()
			goCmd(t, dir, []string{"PORTICO_GRAPH=" + out}, "test", "-count=1", "-vet=off", "-run", "^TestGraph$", ".")
			t.Logf("go vet + go test: %v", time.Since(start).Round(time.Millisecond))
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("the program's test wrote no graph: %v", err)
			}
			var nodes []*node
			if err := json.Unmarshal(data, &nodes); err != nil {
				t.Fatalf("graph: %v", err)
			}
			g := newGraph(nodes)
			checkGraph(t, g, wantGraph(t, sp, g))
		})
	}
}

// requirePulumiModules skips the test when pulumi-aws is not in the module
// cache: it is far too large to download in a test.
// Under -short it skips: building the programs is the long test tier.
func requirePulumiModules(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds Pulumi Go programs: long tier, skipped under -short")
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "pulumi", "pulumi-aws", "sdk", "v6@"+AWSSDKVersion)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("pulumi-aws %s is not in the module cache; not downloading it in a test", AWSSDKVersion)
	}
}

// goCmd runs the go command in dir, offline and with go.mod and go.sum as
// written, failing the test with go's output if it fails.
func goCmd(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout(t))
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in the exported program: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// cmdTimeout bounds one go command: 8 minutes (a cold build of pulumi-aws),
// or less if the test's own deadline comes first.
func cmdTimeout(t *testing.T) time.Duration {
	d := 8 * time.Minute
	if dl, ok := t.Deadline(); ok {
		d = min(d, time.Until(dl)-10*time.Second)
	}
	return d
}

// node is a resource as testdata/graph_test.go writes it.
type node struct {
	Type      string         `json:"type"`
	Name      string         `json:"name"`
	ID        string         `json:"id"`
	Inputs    map[string]any `json:"inputs"`
	Outputs   map[string]any `json:"outputs"`
	DependsOn []string       `json:"dependsOn"`
}

// graph indexes the registered resources by type and name.
type graph map[[2]string]*node

func newGraph(nodes []*node) graph {
	g := graph{}
	for _, n := range nodes {
		g[[2]string{n.Type, n.Name}] = n
	}
	return g
}

// out is an output of a resource ("id" is its ID), or a placeholder that
// matches nothing when the resource or output is missing.
func (g graph) out(typ, name, key string) string {
	n := g[[2]string{typ, name}]
	if n == nil {
		return fmt.Sprintf("<no %s %q>", typ, name)
	}
	if key == "id" {
		return n.ID
	}
	if s, ok := n.Outputs[key].(string); ok {
		return s
	}
	return fmt.Sprintf("<%s %q has no output %s>", typ, name, key)
}

// want is a resource the graph must hold: inputs maps dotted paths into its
// inputs to the values they must have, deps lists resources (by name) it
// must depend on.
type want struct {
	typ, name string
	inputs    map[string]any
	deps      []string
}

// wantGraph lists every resource the exported program must register for sp,
// with the inputs that wire it to the others; those are other resources'
// outputs, looked up in g.
func wantGraph(t *testing.T, sp *spec.Spec, g graph) []want {
	var ws []want
	add := func(typ, name string, inputs map[string]any, deps ...string) {
		ws = append(ws, want{typ: typ, name: name, inputs: inputs, deps: deps})
	}
	for _, name := range sortedKeys(sp.Roles) {
		r := sp.Roles[name]
		add(tRole, name, nil)
		for i, arn := range r.ManagedPolicyArns {
			add(tAttachment, fmt.Sprintf("%s-attach-%d", name, i), map[string]any{"role": g.out(tRole, name, "name"), "policyArn": arn})
		}
		for i := range r.Policies {
			add(tRolePolicy, fmt.Sprintf("%s-policy-%d", name, i), map[string]any{"role": g.out(tRole, name, "name")})
		}
	}
	const defaultRole = "porticoDefaultLambdaRole"
	if slices.ContainsFunc(sortedKeys(sp.Functions), func(n string) bool { return sp.Functions[n].Role == "" }) {
		add(tRole, defaultRole, nil)
		add(tAttachment, defaultRole+"-attach-0", map[string]any{"role": g.out(tRole, defaultRole, "name"), "policyArn": basicExecution})
	}
	for _, name := range sortedKeys(sp.Buckets) {
		b := sp.Buckets[name]
		add(tBucket, name, map[string]any{"bucket": name})
		if b.Contents == "" {
			continue
		}
		keys, err := listFiles(b.Contents)
		if err != nil {
			t.Fatalf("bucket %s: %v", name, err)
		}
		for _, k := range keys {
			add(tObject, name+"/"+k, map[string]any{"bucket": g.out(tBucket, name, "bucket"), "key": k, "source.path": "./" + path.Join("buckets", name, k)})
		}
	}
	layerName := map[string]string{}
	for _, l := range layersOf(sp) {
		layerName[l.src] = l.name
		add(tLayer, l.name, map[string]any{"layerName": l.name, "code.path": l.rel, "compatibleRuntimes": l.runtimes})
	}
	for _, name := range sortedKeys(sp.Functions) {
		fn := sp.Functions[name]
		role := defaultRole
		if fn.Role != "" {
			role = fn.Role
		}
		in := map[string]any{"runtime": fn.Runtime, "role": g.out(tRole, role, "arn"), "timeout": fn.Timeout, "memorySize": fn.MemorySize}
		if strings.HasPrefix(fn.Runtime, "provided") {
			in["handler"] = "bootstrap"
			in["code.assets.bootstrap.path"] = "./" + path.Join("functions", name, "bootstrap")
		} else {
			in["handler"] = fn.Handler
			in["code.path"] = "./" + path.Join("functions", name)
		}
		for k, v := range fn.Environment {
			in["environment.variables."+k] = v
		}
		if len(fn.Layers) > 0 {
			var arns []string
			for _, l := range fn.Layers {
				arns = append(arns, g.out(tLayer, layerName[l], "arn"))
			}
			in["layers"] = arns
		}
		add(tFunction, name, in)
	}
	ws = append(ws, wantAsync(sp, g, defaultRole)...)
	urls := streamingURLs(sp)
	for _, name := range sortedKeys(urls) {
		in := map[string]any{"functionName": g.out(tFunction, name, "name"), "authorizationType": urls[name].AuthorizationType}
		if m := urls[name].InvokeMode; m != "" {
			in["invokeMode"] = m
		}
		add(tFunctionURL, name+"-url", in)
	}
	for _, an := range sortedKeys(sp.APIs) {
		a := sp.APIs[an]
		apiID := g.out(tAPI, an, "id")
		apiIn := map[string]any{"name": an, "protocolType": a.ProtocolType}
		if a.ProtocolType == spec.WebSocket {
			apiIn["routeSelectionExpression"] = a.RouteSelectionExpression
		}
		add(tAPI, an, apiIn)
		invoked := map[string]bool{}
		for _, aun := range sortedKeys(a.Authorizers) {
			au := a.Authorizers[aun]
			in := map[string]any{"apiId": apiID, "name": aun, "authorizerType": au.Type}
			if au.Type == spec.AuthorizerRequest {
				in["authorizerUri"] = g.out(tFunction, au.Function, "invokeArn")
				invoked[au.Function] = true
			}
			if au.Type == spec.AuthorizerJWT && au.JWTConfiguration != nil {
				in["jwtConfiguration.issuer"] = au.JWTConfiguration.Issuer
			}
			add(tAuthorizer, an+"-"+aun, in)
		}
		for _, inn := range sortedKeys(a.Integrations) {
			i := a.Integrations[inn]
			in := map[string]any{"apiId": apiID, "integrationType": i.Type}
			if i.Type == spec.AWSProxy {
				in["integrationUri"] = g.out(tFunction, i.Function, "invokeArn")
				invoked[i.Function] = true
			}
			if i.URI != "" {
				in["integrationUri"] = i.URI
			}
			add(tIntegrate, an+"-"+inn, in)
		}
		// Without this permission API Gateway cannot invoke the function.
		for _, fn := range sortedKeys(invoked) {
			add(tPermission, an+"-"+fn+"-invoke", map[string]any{
				"action":    "lambda:InvokeFunction",
				"function":  g.out(tFunction, fn, "name"),
				"principal": "apigateway.amazonaws.com",
				"sourceArn": g.out(tAPI, an, "executionArn") + "/*/*",
			})
		}
		var routes []string
		for _, rk := range sortedKeys(a.Routes) {
			r := a.Routes[rk]
			in := map[string]any{"apiId": apiID, "routeKey": rk, "target": "integrations/" + g.out(tIntegrate, an+"-"+r.Integration, "id")}
			if r.Authorizer != "" {
				in["authorizerId"] = g.out(tAuthorizer, an+"-"+r.Authorizer, "id")
			}
			add(tRoute, an+"-"+rk, in)
			routes = append(routes, an+"-"+rk)
			if r.RouteResponseSelectionExpression != "" {
				in["routeResponseSelectionExpression"] = r.RouteResponseSelectionExpression
				add(tRouteResponse, an+"-"+rk+"-response", map[string]any{"apiId": apiID, "routeId": g.out(tRoute, an+"-"+rk, "id"), "routeResponseKey": "$default"})
			}
		}
		for _, stn := range sortedKeys(a.Stages) {
			st := a.Stages[stn]
			in := map[string]any{"apiId": apiID, "name": stn, "autoDeploy": st.AutoDeploy}
			if st.AccessLogSettings != nil {
				logs := an + "-" + stn + "-access"
				add(tLogGroup, logs, map[string]any{"name": "/aws/apigateway/" + an + "/" + strings.TrimPrefix(stn, "$")})
				in["accessLogSettings.destinationArn"] = g.out(tLogGroup, logs, "arn")
			}
			// A stage depends on its API's routes, so that its route
			// settings find them.
			add(tStage, an+"-"+stn, in, routes...)
		}
	}
	return ws
}

// checkGraph fails unless g holds exactly the wanted resources, each with
// the wanted inputs and dependencies.
func checkGraph(t *testing.T, g graph, wants []want) {
	t.Helper()
	wanted := map[[2]string]bool{}
	for _, w := range wants {
		wanted[[2]string{w.typ, w.name}] = true
		n := g[[2]string{w.typ, w.name}]
		if n == nil {
			t.Errorf("missing %s %q", w.typ, w.name)
			continue
		}
		for _, p := range sortedKeys(w.inputs) {
			got, ok := lookup(n.Inputs, p)
			if !ok {
				t.Errorf("%s %q: no input %s, want %v", w.typ, w.name, p, w.inputs[p])
			} else if fmt.Sprint(got) != fmt.Sprint(w.inputs[p]) {
				t.Errorf("%s %q: input %s = %v, want %v", w.typ, w.name, p, got, w.inputs[p])
			}
		}
		for _, d := range w.deps {
			if !slices.Contains(n.DependsOn, d) {
				t.Errorf("%s %q does not depend on %q (depends on %v)", w.typ, w.name, d, n.DependsOn)
			}
		}
	}
	var extra []string
	for k := range g {
		if !wanted[k] {
			extra = append(extra, fmt.Sprintf("%s %q", k[0], k[1]))
		}
	}
	sort.Strings(extra)
	for _, e := range extra {
		t.Errorf("unexpected resource %s", e)
	}
}

// lookup follows a dotted path into nested JSON objects.
func lookup(m map[string]any, p string) (any, bool) {
	var v any = m
	for _, k := range strings.Split(p, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// wantAsync lists the permissions, event invoke configs (with their
// destinations' role policy) and bucket notifications of sp.
func wantAsync(sp *spec.Spec, g graph, defaultRole string) []want {
	var ws []want
	s3Perms := map[string][]string{}
	for _, name := range sortedKeys(sp.Functions) {
		f := sp.Functions[name]
		for _, p := range f.Permissions {
			in := map[string]any{"action": p.Action, "function": g.out(tFunction, name, "name"), "principal": p.Principal, "statementId": p.StatementID}
			if b, ok := strings.CutPrefix(p.SourceArn, "arn:aws:s3:::"); ok && sp.Buckets[b] != nil {
				in["sourceArn"] = g.out(tBucket, b, "arn")
			}
			ws = append(ws, want{typ: tPermission, name: name + "-" + p.StatementID, inputs: in})
			if p.Principal == spec.S3Principal {
				s3Perms[name] = append(s3Perms[name], name+"-"+p.StatementID)
			}
		}
		c := f.EventInvokeConfig
		if c == nil {
			continue
		}
		in := map[string]any{"functionName": g.out(tFunction, name, "name")}
		if c.MaximumRetryAttempts != nil {
			in["maximumRetryAttempts"] = *c.MaximumRetryAttempts
		}
		var deps []string
		if d := c.DestinationConfig; d != nil {
			if d.OnSuccess != nil {
				in["destinationConfig.onSuccess.destination"] = g.out(tFunction, d.OnSuccess.Destination, "arn")
			}
			if d.OnFailure != nil {
				in["destinationConfig.onFailure.destination"] = g.out(tFunction, d.OnFailure.Destination, "arn")
			}
			role := defaultRole
			if f.Role != "" {
				role = f.Role
			}
			ws = append(ws, want{typ: tRolePolicy, name: name + "-destinations", inputs: map[string]any{"role": g.out(tRole, role, "name")}})
			deps = append(deps, name+"-destinations")
		}
		ws = append(ws, want{typ: tEventCfg, name: name + "-async", inputs: in, deps: deps})
	}
	for _, name := range sortedKeys(sp.Buckets) {
		b := sp.Buckets[name]
		if len(b.Notifications) == 0 {
			continue
		}
		in := map[string]any{"bucket": g.out(tBucket, name, "bucket")}
		var deps []string
		seen := map[string]bool{}
		for _, n := range b.Notifications {
			if !seen[n.Function] {
				seen[n.Function] = true
				deps = append(deps, s3Perms[n.Function]...)
			}
		}
		ws = append(ws, want{typ: tNotify, name: name + "-notifications", inputs: in, deps: deps})
	}
	return ws
}
