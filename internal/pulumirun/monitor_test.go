package pulumirun

import (
	"context"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/pulumiyaml"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// startMonitor serves a monitor on loopback over real gRPC, as Run does,
// and returns clients for its two services.
func startMonitor(t *testing.T) (*monitor, pulumirpc.ResourceMonitorClient, pulumirpc.EngineClient) {
	t.Helper()
	m := newMonitor("proj", "dev", "/src/prog", pulumiyaml.Options{APIEndpoint: func(string) string { return "http://127.0.0.1:8080" }}, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pulumirpc.RegisterResourceMonitorServer(srv, m)
	pulumirpc.RegisterEngineServer(srv, m)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return m, pulumirpc.NewResourceMonitorClient(conn), pulumirpc.NewEngineClient(conn)
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := encodeStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMonitorRegistersAndAnswersWithAWSOutputs(t *testing.T) {
	m, rm, eng := startMonitor(t)
	ctx := context.Background()
	info, err := rm.GetDeploymentInfo(ctx, &emptypb.Empty{})
	if err != nil || len(info.GetSupportedFeatures()) != 0 || info.GetStack() != "dev" {
		t.Fatalf("GetDeploymentInfo = %v, %v; want no features", info, err)
	}
	stack, err := rm.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{Type: stackType, Name: "proj-dev"})
	if err != nil {
		t.Fatal(err)
	}
	comp, err := rm.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{Type: "my:ai:Service", Name: "svc", Parent: stack.GetUrn()})
	if err != nil {
		t.Fatal(err)
	}
	// A secret-wrapped input and an archive, as the Go SDK sends them.
	fn, err := rm.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{
		Type: "aws:lambda/function:Function", Name: "scorer", Custom: true, Parent: comp.GetUrn(),
		SourcePosition: &pulumirpc.SourcePosition{Uri: "file:///sdk/context.go", Line: 7},
		StackTrace: &pulumirpc.StackTrace{Frames: []*pulumirpc.StackFrame{
			{Pc: &pulumirpc.SourcePosition{Uri: "file:///sdk/context.go", Line: 7}},
			{Pc: &pulumirpc.SourcePosition{Uri: "file:///src/prog/main.go", Line: 42, Column: 9}},
			{Pc: &pulumirpc.SourcePosition{Uri: "file:///src/prog/run.go", Line: 3}},
		}},
		Object: mustStruct(t, map[string]any{
			"runtime": map[string]any{sigKey: sigSecret, "value": "python3.12"},
			"code":    pulumiyaml.Archive{Path: "./app"},
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "urn:pulumi:dev::proj::my:ai:Service$aws:lambda/function:Function::scorer"; fn.GetUrn() != want {
		t.Errorf("urn = %s, want %s", fn.GetUrn(), want)
	}
	outs, err := decodeStruct(fn.GetObject())
	if err != nil {
		t.Fatal(err)
	}
	wantArn := "arn:aws:lambda:us-east-1:000000000000:function:scorer"
	if fn.GetId() != "scorer" || outs["arn"] != wantArn || outs["runtime"] != "python3.12" ||
		outs["invokeArn"] != "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"+wantArn+"/invocations" {
		t.Errorf("function outputs: id %q, %v", fn.GetId(), outs)
	}
	if _, ok := outs["code"].(pulumiyaml.Archive); !ok {
		t.Errorf("code output = %#v, want the archive back", outs["code"])
	}

	api, err := rm.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{Type: "aws:apigatewayv2/api:Api", Name: "http", Custom: true,
		Object: mustStruct(t, map[string]any{"protocolType": "HTTP"})})
	if err != nil {
		t.Fatal(err)
	}
	stage, err := rm.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{Type: "aws:apigatewayv2/stage:Stage", Name: "v1", Custom: true,
		Object: mustStruct(t, map[string]any{"apiId": api.GetId(), "name": "v1"})})
	if err != nil {
		t.Fatal(err)
	}
	if got := stage.GetObject().GetFields()["invokeUrl"].GetStringValue(); got != "http://127.0.0.1:8080/v1" {
		t.Errorf("stage invokeUrl = %q", got)
	}

	_, err = rm.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{Type: "aws:lambda/function:Function", Name: "scorer", Custom: true, Parent: comp.GetUrn()})
	if status.Code(err) != codes.AlreadyExists {
		t.Errorf("second registration of one URN: err = %v, want AlreadyExists", err)
	}
	_, err = rm.RegisterResource(ctx, &pulumirpc.RegisterResourceRequest{Type: "aws:iam/role:Role", Name: "r", Custom: true,
		Object: mustStruct(t, map[string]any{"name": unknownValue})})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "property name: value is unknown") {
		t.Errorf("unknown input: err = %v, want InvalidArgument naming the property", err)
	}

	if _, err := rm.RegisterResourceOutputs(ctx, &pulumirpc.RegisterResourceOutputsRequest{Urn: stack.GetUrn(),
		Outputs: mustStruct(t, map[string]any{"url": "http://x", "n": 2.0})}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Log(ctx, &pulumirpc.LogRequest{Severity: pulumirpc.LogSeverity_ERROR, Message: "boom"}); err != nil {
		t.Fatal(err)
	}
	regs, stackOuts, logged := m.result()
	if len(regs) != 3 || regs[0].Name != "scorer" || regs[0].Origin != (pulumiyaml.Origin{File: "/src/prog/main.go", Line: 42, Col: 9}) {
		t.Errorf("registrations = %+v; want the function, API and stage, with the function's source position", regs)
	}
	if got := stackOutputs(stackOuts); !reflect.DeepEqual(got, []pulumiyaml.Output{{Name: "n", Value: "2"}, {Name: "url", Value: "http://x"}}) {
		t.Errorf("stack outputs = %+v", got)
	}
	if !reflect.DeepEqual(logged, []string{"boom"}) {
		t.Errorf("logged errors = %q", logged)
	}
	if _, err := rm.ReadResource(ctx, &pulumirpc.ReadResourceRequest{Type: "aws:s3/bucketV2:BucketV2", Name: "b"}); status.Code(err) != codes.Unimplemented {
		t.Errorf("ReadResource: err = %v, want Unimplemented", err)
	}
}

func TestMonitorInvoke(t *testing.T) {
	_, rm, _ := startMonitor(t)
	ctx := context.Background()
	ret, err := rm.Invoke(ctx, &pulumirpc.ResourceInvokeRequest{Tok: "aws:iam/getPolicyDocument:getPolicyDocument", Args: mustStruct(t, map[string]any{
		"statements": []any{map[string]any{
			"actions":    []any{"sts:AssumeRole"},
			"principals": []any{map[string]any{"type": "Service", "identifiers": []any{"lambda.amazonaws.com"}}},
		}, map[string]any{
			"effect": "Deny", "actions": []any{"s3:GetObject", "s3:PutObject"}, "resources": []any{"arn:aws:s3:::models/*"},
			"conditions": []any{map[string]any{"test": "Bool", "variable": "aws:SecureTransport", "values": []any{"false"}}},
		}},
	})})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"lambda.amazonaws.com"}},` +
		`{"Effect":"Deny","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::models/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	if got := ret.GetReturn().GetFields()["minifiedJson"].GetStringValue(); got != want {
		t.Errorf("policy document\n got %s\nwant %s", got, want)
	}
	ret, err = rm.Invoke(ctx, &pulumirpc.ResourceInvokeRequest{Tok: "aws:index/getCallerIdentity:getCallerIdentity"})
	if err != nil || ret.GetReturn().GetFields()["accountId"].GetStringValue() != account {
		t.Errorf("getCallerIdentity = %v, %v", ret, err)
	}
	_, err = rm.Invoke(ctx, &pulumirpc.ResourceInvokeRequest{Tok: "aws:ec2/getAmi:getAmi"})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "aws:ec2/getAmi:getAmi: data source not supported") {
		t.Errorf("unsupported data source: err = %v", err)
	}
}

func TestCodec(t *testing.T) {
	tests := []struct {
		name string
		wire map[string]any // as encodeStruct takes it (signature maps allowed)
		want map[string]any
	}{
		{"plain", map[string]any{"s": "x", "n": 3.0, "b": true, "z": nil, "l": []any{"a", 1.0}, "m": map[string]any{"k": "v"}},
			map[string]any{"s": "x", "n": 3.0, "b": true, "z": nil, "l": []any{"a", 1.0}, "m": map[string]any{"k": "v"}}},
		{"secret", map[string]any{"s": map[string]any{sigKey: sigSecret, "value": "hidden"}}, map[string]any{"s": "hidden"}},
		{"output value", map[string]any{"s": map[string]any{sigKey: sigOutputValue, "value": "v", "dependencies": []any{"urn:x"}}}, map[string]any{"s": "v"}},
		{"resource reference", map[string]any{"r": map[string]any{sigKey: sigResourceRef, "urn": "urn:x", "id": "api1"}}, map[string]any{"r": "api1"}},
		{"component reference", map[string]any{"r": map[string]any{sigKey: sigResourceRef, "urn": "urn:x"}}, map[string]any{"r": "urn:x"}},
		{"file asset", map[string]any{"a": map[string]any{sigKey: sigAsset, "path": "m.json"}}, map[string]any{"a": pulumiyaml.Asset{Path: "m.json"}}},
		{"asset archive", map[string]any{"a": map[string]any{sigKey: sigArchive, "assets": map[string]any{".": map[string]any{sigKey: sigArchive, "path": "./app"}}}},
			map[string]any{"a": pulumiyaml.Archive{Assets: map[string]any{".": pulumiyaml.Archive{Path: "./app"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeStruct(mustStruct(t, tt.wire))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decoded %#v, want %#v", got, tt.want)
			}
		})
	}
	for _, bad := range []map[string]any{
		{"u": unknownValue},
		{"u": map[string]any{sigKey: sigOutputValue}}, // an output value without a value is unknown
		{"u": map[string]any{sigKey: "nonsense"}},
	} {
		if _, err := decodeStruct(mustStruct(t, bad)); err == nil {
			t.Errorf("decode %v: want an error", bad)
		}
	}
}
