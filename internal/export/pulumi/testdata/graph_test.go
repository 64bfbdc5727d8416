// Written into an exported program by portico's exporter tests (the
// exporter itself never writes it): it runs the program's deploy function
// under Pulumi's mocks, with no engine and no AWS, and writes every resource
// deploy registers as JSON to the file $PORTICO_GRAPH names, for the
// exporter's tests to check the resource graph.

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/archive"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/asset"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The account and region the mocked resources live in.
const (
	account = "123456789012"
	region  = "us-east-1"
)

// node is one registered resource. Outputs are the inputs plus what the
// mocks made up; DependsOn names every resource it depends on, explicitly or
// through an input.
type node struct {
	Type      string         `json:"type"`
	Name      string         `json:"name"`
	ID        string         `json:"id"`
	Inputs    map[string]any `json:"inputs"`
	Outputs   map[string]any `json:"outputs"`
	DependsOn []string       `json:"dependsOn"`
}

// mocks records resources; the engine's RPCs call it from many goroutines.
type mocks struct {
	mu    sync.Mutex
	nodes []node
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, state := outputs(args.TypeToken, args.Name, args.Inputs)
	deps := []string{}
	if rpc := args.RegisterRPC; rpc != nil {
		for _, u := range rpc.GetDependencies() {
			deps = append(deps, resource.URN(u).Name())
		}
	}
	sort.Strings(deps)
	n := node{
		Type:      args.TypeToken,
		Name:      args.Name,
		ID:        id,
		Inputs:    plainMap(args.Inputs),
		Outputs:   plainMap(state),
		DependsOn: deps,
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes = append(m.nodes, n)
	return id, state, nil
}

// Call fails: the exported programs call no provider functions, so one that
// does has changed in a way the checks should hear about.
func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected call of %s", args.Token)
}

// outputs returns the ID and the state of a new resource: its inputs and the
// outputs other resources read, made up from its name in AWS's formats.
func outputs(typ, name string, in resource.PropertyMap) (string, resource.PropertyMap) {
	id := name + "-id"
	state := in.Copy()
	str := func(key, def string) string {
		if v, ok := in[resource.PropertyKey(key)]; ok && v.IsString() && v.StringValue() != "" {
			return v.StringValue()
		}
		return def
	}
	set := func(key, value string) { state[resource.PropertyKey(key)] = resource.NewStringProperty(value) }
	switch typ {
	case "aws:iam/role:Role":
		n := str("name", name)
		set("name", n)
		set("arn", fmt.Sprintf("arn:aws:iam::%s:role/%s", account, n))
	case "aws:lambda/function:Function":
		n := str("name", name)
		arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, account, n)
		set("name", n)
		set("arn", arn)
		set("invokeArn", fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", region, arn))
	case "aws:lambda/layerVersion:LayerVersion":
		n := str("layerName", name)
		set("layerArn", fmt.Sprintf("arn:aws:lambda:%s:%s:layer:%s", region, account, n))
		set("arn", fmt.Sprintf("arn:aws:lambda:%s:%s:layer:%s:1", region, account, n))
	case "aws:s3/bucketV2:BucketV2":
		id = str("bucket", name)
		set("bucket", id)
		set("arn", "arn:aws:s3:::"+id)
	case "aws:apigatewayv2/api:Api":
		set("apiEndpoint", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com", id, region))
		set("executionArn", fmt.Sprintf("arn:aws:execute-api:%s:%s:%s", region, account, id))
		set("arn", fmt.Sprintf("arn:aws:apigateway:%s::/apis/%s", region, id))
	case "aws:apigatewayv2/stage:Stage":
		api, stage := str("apiId", "unknown"), str("name", name)
		url := fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/", api, region)
		if stage != "$default" {
			url += stage
		}
		set("invokeUrl", url)
		set("executionArn", fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s", region, account, api, stage))
	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, account, str("name", name)))
	default:
		// "aws:lambda/permission:Permission" -> arn:aws:lambda:...:permission/ID
		module, kind, _ := strings.Cut(strings.TrimPrefix(typ, "aws:"), "/")
		kind, _, _ = strings.Cut(kind, ":")
		set("arn", fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", module, region, account, kind, id))
	}
	return id, state
}

// plainMap and plain turn property values into JSON values: assets become
// {"path"|"text"|"uri": ...}, archives also {"assets": {...}}, secrets and
// known outputs their values, unknowns "<unknown>".
func plainMap(m resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[string(k)] = plain(v)
	}
	return out
}

func plain(v resource.PropertyValue) any {
	switch {
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		var out []any
		for _, e := range v.ArrayValue() {
			out = append(out, plain(e))
		}
		return out
	case v.IsObject():
		return plainMap(v.ObjectValue())
	case v.IsAsset():
		return plainAsset(v.AssetValue())
	case v.IsArchive():
		return plainArchive(v.ArchiveValue())
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsOutput():
		if o := v.OutputValue(); o.Known {
			return plain(o.Element)
		}
		return "<unknown>"
	case v.IsComputed():
		return "<unknown>"
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	}
	return fmt.Sprint(v.V)
}

func plainAsset(a *asset.Asset) map[string]any {
	out := map[string]any{}
	for k, v := range map[string]string{"path": a.Path, "text": a.Text, "uri": a.URI} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func plainArchive(a *archive.Archive) map[string]any {
	out := map[string]any{}
	for k, v := range map[string]string{"path": a.Path, "uri": a.URI} {
		if v != "" {
			out[k] = v
		}
	}
	if a.Assets != nil {
		assets := map[string]any{}
		for k, e := range a.Assets {
			switch e := e.(type) {
			case *asset.Asset:
				assets[k] = plainAsset(e)
			case *archive.Archive:
				assets[k] = plainArchive(e)
			default:
				assets[k] = fmt.Sprint(e)
			}
		}
		out["assets"] = assets
	}
	return out
}

func TestGraph(t *testing.T) {
	path := os.Getenv("PORTICO_GRAPH")
	if path == "" {
		t.Skip("PORTICO_GRAPH is not set (portico's exporter tests set it)")
	}
	m := &mocks{}
	if err := pulumi.RunErr(deploy, pulumi.WithMocks("portico-export", "test", m)); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	sort.Slice(m.nodes, func(i, j int) bool {
		if m.nodes[i].Type != m.nodes[j].Type {
			return m.nodes[i].Type < m.nodes[j].Type
		}
		return m.nodes[i].Name < m.nodes[j].Name
	})
	data, err := json.MarshalIndent(m.nodes, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
