package pulumirun

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/pulumiyaml"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// stackType is the type of the root resource every program registers;
// its outputs are the stack outputs.
const stackType = "pulumi:pulumi:Stack"

// monitor is the engine side of a program's run: the resource monitor
// and engine services a Pulumi SDK connects to. It records what the
// program registers and answers each registration at once with the
// outputs AWS would give (pulumiyaml.Outputs): nothing is created until
// the program has finished and its whole model is known.
type monitor struct {
	pulumirpc.UnimplementedResourceMonitorServer
	pulumirpc.UnimplementedEngineServer

	project, stack string
	dir            string // the program's sources, absolute: errors point into them
	opts           pulumiyaml.Options
	log            func(severity pulumirpc.LogSeverity, msg string)

	mu       sync.Mutex
	regs     []pulumiyaml.Registration
	urns     map[string]string // URN -> qualified type (for children's URNs)
	stackURN string
	outputs  map[string]any // the stack's outputs
	root     string         // the engine's root resource
	errs     []string       // error-severity log messages
}

func newMonitor(project, stack, dir string, opts pulumiyaml.Options, log func(pulumirpc.LogSeverity, string)) *monitor {
	return &monitor{project: project, stack: stack, dir: dir, opts: opts, log: log, urns: map[string]string{}}
}

// GetDeploymentInfo tells the SDK about the run. It lists no features:
// without them the SDK sends plain values (no resource references, no
// output values), which is all a run that resolves everything at once needs.
func (m *monitor) GetDeploymentInfo(context.Context, *emptypb.Empty) (*pulumirpc.DeploymentInfo, error) {
	return &pulumirpc.DeploymentInfo{Project: m.project, Stack: m.stack, Organization: organization}, nil
}

// SupportsFeature answers older SDKs' feature checks; see GetDeploymentInfo.
func (m *monitor) SupportsFeature(context.Context, *pulumirpc.SupportsFeatureRequest) (*pulumirpc.SupportsFeatureResponse, error) {
	return &pulumirpc.SupportsFeatureResponse{HasSupport: false}, nil
}

func (m *monitor) RegisterResource(_ context.Context, req *pulumirpc.RegisterResourceRequest) (*pulumirpc.RegisterResourceResponse, error) {
	inputs, err := decodeStruct(req.GetObject())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "resource %s (%s): %v", req.GetName(), req.GetType(), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	qualified := req.GetType()
	if pt, ok := m.urns[req.GetParent()]; ok && req.GetParent() != m.stackURN {
		qualified = pt + "$" + qualified
	}
	urn := "urn:pulumi:" + m.stack + "::" + m.project + "::" + qualified + "::" + req.GetName()
	if _, dup := m.urns[urn]; dup {
		return nil, status.Errorf(codes.AlreadyExists, "duplicate resource URN %s: a resource of this type and name is registered twice", urn)
	}
	m.urns[urn] = qualified
	resp := &pulumirpc.RegisterResourceResponse{Urn: urn, Result: pulumirpc.Result_SUCCESS}
	switch {
	case req.GetType() == stackType:
		m.stackURN = urn
		return resp, nil
	case !req.GetCustom():
		// A component: it only groups its children.
		return resp, nil
	case strings.HasPrefix(req.GetType(), "pulumi:providers:"):
		// An explicit provider: Portico is every provider's target.
		resp.Id = req.GetName()
		return resp, nil
	}
	reg := pulumiyaml.Registration{Type: req.GetType(), Name: req.GetName(), Inputs: inputs, Origin: m.origin(req)}
	id, outs := pulumiyaml.Outputs(m.project, reg, m.opts)
	obj, err := encodeStruct(outs)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "resource %s: outputs: %v", req.GetName(), err)
	}
	m.regs = append(m.regs, reg)
	resp.Id, resp.Object = id, obj
	return resp, nil
}

func (m *monitor) RegisterResourceOutputs(_ context.Context, req *pulumirpc.RegisterResourceOutputsRequest) (*emptypb.Empty, error) {
	outs, err := decodeStruct(req.GetOutputs())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "outputs of %s: %v", req.GetUrn(), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if req.GetUrn() == m.stackURN {
		m.outputs = outs
	}
	return &emptypb.Empty{}, nil
}

func (m *monitor) Invoke(_ context.Context, req *pulumirpc.ResourceInvokeRequest) (*pulumirpc.ResourceInvokeResponse, error) {
	args, err := decodeStruct(req.GetArgs())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "invoke %s: %v", req.GetTok(), err)
	}
	ret, err := invoke(req.GetTok(), args)
	if err != nil {
		return nil, status.Errorf(codes.Unimplemented, "invoke %s: %v", req.GetTok(), err)
	}
	obj, err := encodeStruct(ret)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "invoke %s: %v", req.GetTok(), err)
	}
	return &pulumirpc.ResourceInvokeResponse{Return: obj}, nil
}

func (m *monitor) ReadResource(_ context.Context, req *pulumirpc.ReadResourceRequest) (*pulumirpc.ReadResourceResponse, error) {
	return nil, status.Errorf(codes.Unimplemented, "reading an existing resource (%s %s, a Get call) is not supported: Portico has no existing resources to read", req.GetType(), req.GetName())
}

func (m *monitor) Call(_ context.Context, req *pulumirpc.ResourceCallRequest) (*pulumirpc.CallResponse, error) {
	return nil, status.Errorf(codes.Unimplemented, "method calls (%s) are not supported", req.GetTok())
}

// SignalAndWaitForShutdown is the SDK's last call: nothing is pending.
func (m *monitor) SignalAndWaitForShutdown(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Log receives the program's log messages (ctx.Log and the SDK's report
// of an error the program returned).
func (m *monitor) Log(_ context.Context, req *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	if req.GetSeverity() == pulumirpc.LogSeverity_ERROR {
		m.mu.Lock()
		m.errs = append(m.errs, req.GetMessage())
		m.mu.Unlock()
	}
	if m.log != nil {
		m.log(req.GetSeverity(), req.GetMessage())
	}
	return &emptypb.Empty{}, nil
}

func (m *monitor) GetRootResource(context.Context, *pulumirpc.GetRootResourceRequest) (*pulumirpc.GetRootResourceResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &pulumirpc.GetRootResourceResponse{Urn: m.root}, nil
}

func (m *monitor) SetRootResource(_ context.Context, req *pulumirpc.SetRootResourceRequest) (*pulumirpc.SetRootResourceResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.root = req.GetUrn()
	return &pulumirpc.SetRootResourceResponse{}, nil
}

// result returns what the program registered, its stack outputs and the
// errors it logged.
func (m *monitor) result() ([]pulumiyaml.Registration, map[string]any, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.regs, m.outputs, m.errs
}

// origin is where the program registered a resource: the innermost frame
// of the registration's stack trace that lies in the program's sources
// (the SDK's own source position skips a fixed number of frames, right
// for provider SDKs' constructors, not for a direct ctx.RegisterResource),
// else the SDK's source position.
func (m *monitor) origin(req *pulumirpc.RegisterResourceRequest) pulumiyaml.Origin {
	for _, f := range req.GetStackTrace().GetFrames() {
		if o := position(f.GetPc()); o.File != "" && m.dir != "" && strings.HasPrefix(o.File, m.dir+string(filepath.Separator)) && !dependency(o.File[len(m.dir):]) {
			return o
		}
	}
	return position(req.GetSourcePosition())
}

// dependency reports whether a file of the program's directory belongs to
// its installed packages (a virtualenv's site-packages, node_modules), not
// to its own sources.
func dependency(rel string) bool {
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if part == "site-packages" || part == "node_modules" {
			return true
		}
	}
	return false
}

// position turns an SDK's source position (a file:// URI) into an Origin.
func position(sp *pulumirpc.SourcePosition) pulumiyaml.Origin {
	if sp == nil {
		return pulumiyaml.Origin{}
	}
	file := sp.GetUri()
	if u, err := url.Parse(file); err == nil && u.Scheme == "file" {
		file = filepath.FromSlash(u.Path)
	}
	return pulumiyaml.Origin{File: file, Line: int(sp.GetLine()), Col: int(sp.GetColumn())}
}
