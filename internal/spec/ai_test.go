package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestLoadNewFields loads testdata/ai.yaml, which uses every field added
// for streaming, concurrency caps, upstreams, token limits, access logs
// and external storage, and checks the values and defaults.
func TestLoadNewFields(t *testing.T) {
	s, err := Load(filepath.Join("testdata", "ai.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	a := s.APIs["llm"]
	stream, vllm := a.Integrations["stream"], a.Integrations["vllm"]
	tests := []struct {
		name      string
		got, want any
	}{
		{"stream invoke mode", stream.InvokeMode, InvokeStream},
		{"stream idle timeout", stream.IdleTimeoutInMillis, ptr(15000)},
		{"stream max concurrency", stream.MaxConcurrency, ptr(8)},
		{"stream default queue", stream.MaxQueue, ptr(0)},
		{"stream default queue timeout", stream.QueueTimeoutInMillis, ptr(DefaultQueueTimeoutInMillis)},
		{"vllm default invoke mode", vllm.InvokeMode, InvokeBuffered},
		{"vllm idle timeout unset", vllm.IdleTimeoutInMillis, (*int)(nil)},
		{"vllm queue", vllm.MaxQueue, ptr(64)},
		{"vllm queue timeout", vllm.QueueTimeoutInMillis, ptr(5000)},
		{"vllm openai", vllm.OpenAICompatible, true},
		{"vllm upstreams", vllm.Upstreams, []*Upstream{
			{URI: "http://127.0.0.1:8000/{proxy}", Weight: ptr(1)},
			{URI: "http://127.0.0.1:8001/{proxy}", Weight: ptr(3)},
			{URI: "https://api.example.com/${stageVariables.tier}/{proxy}", Priority: 1, Weight: ptr(1)},
		}},
		{"default route token limits", a.Stages["prod"].DefaultRouteSettings.TokenLimits, &TokenLimits{PerDay: ptr[int64](10000000)}},
		{"route token limits", a.Stages["prod"].RouteSettings["ANY /v1/{proxy+}"].TokenLimits, &TokenLimits{PerMinute: ptr[int64](100000), PerDay: ptr[int64](5000000000)}},
		{"plan token limits", s.UsagePlans["paid"].TokenLimits, &TokenLimits{PerMinute: ptr[int64](20000)}},
		{"access log", a.Stages["prod"].AccessLogSettings, &AccessLogSettings{Destination: filepath.Join(abs, "access.log"),
			Format: "$context.requestId $context.routeKey $context.status $context.ai.model $context.ai.promptTokens $context.ai.completionTokens $context.integration.queueWait"}},
		{"access log defaults", a.Stages["dev"].AccessLogSettings, &AccessLogSettings{Destination: DefaultAccessLogDestination}},
		{"bucket contents", s.Buckets["models"].Contents, filepath.Join(abs, "objects")},
		{"bucket without contents", s.Buckets["empty"].Contents, ""},
		{"storage", s.Storage, &Storage{Endpoint: "http://127.0.0.1:9000", Region: DefaultStorageRegion, AccessKeyID: "minioadmin", SecretAccessKey: "minioadmin", ForcePathStyle: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %s, want %s", jsonOf(tt.got), jsonOf(tt.want))
			}
		})
	}
}

func TestNewFieldDefaults(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, s *Spec)
	}{
		{
			name: "no concurrency cap means no queue",
			yaml: "apis:\n  a:\n    integrations: {h: {type: HTTP_PROXY, uri: 'http://h'}}\n",
			check: func(t *testing.T, s *Spec) {
				h := s.APIs["a"].Integrations["h"]
				if h.MaxConcurrency != nil || h.MaxQueue != nil || h.QueueTimeoutInMillis != nil || h.InvokeMode != InvokeBuffered || h.Upstreams != nil {
					t.Errorf("integration = %s", jsonOf(h))
				}
				if s.Storage != nil {
					t.Errorf("storage = %s", jsonOf(s.Storage))
				}
			},
		},
		{
			name: "storage region given, absolute log path kept, null fields take defaults",
			yaml: "storage: {endpoint: 'https://s3.eu-west-1.amazonaws.com/', region: eu-west-1, accessKeyId: AKIA, secretAccessKey: s}\napis:\n  a:\n    integrations: {h: {type: HTTP_PROXY, uri: 'http://h', invokeMode: ~, maxConcurrency: 2, maxQueue: ~}}\n    stages: {v1: {accessLogSettings: {destination: ~, format: '$context.extendedRequestId'}}}\n",
			check: func(t *testing.T, s *Spec) {
				if s.Storage.Region != "eu-west-1" {
					t.Errorf("region = %q", s.Storage.Region)
				}
				h := s.APIs["a"].Integrations["h"]
				if h.InvokeMode != InvokeBuffered || *h.MaxQueue != 0 || *h.QueueTimeoutInMillis != 30000 {
					t.Errorf("integration = %s", jsonOf(h))
				}
				if d := s.APIs["a"].Stages["v1"].AccessLogSettings.Destination; d != "stdout" {
					t.Errorf("destination = %q", d)
				}
			},
		},
		{
			name: "log file in a subdirectory; stderr",
			yaml: "apis:\n  a:\n    integrations: {h: {type: HTTP_PROXY, uri: 'http://h'}}\n    stages:\n      v1: {accessLogSettings: {destination: app/../app/access.log}}\n      v2: {accessLogSettings: {destination: stderr}}\n",
			check: func(t *testing.T, s *Spec) {
				st := s.APIs["a"].Stages
				if d := st["v1"].AccessLogSettings.Destination; !filepath.IsAbs(d) || filepath.Base(filepath.Dir(d)) != "app" || filepath.Base(d) != "access.log" {
					t.Errorf("destination = %q", d)
				}
				if d := st["v2"].AccessLogSettings.Destination; d != "stderr" {
					t.Errorf("destination = %q", d)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := parseInDir(t, tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

// TestAccessLogVariablesMatchObserve keeps AccessLogVariables equal to the
// $context variables named in the comments of observe.Record (read as
// text: spec must not import observe).
func TestAccessLogVariablesMatchObserve(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "observe", "observe.go"))
	if err != nil {
		t.Skipf("observe.go not readable: %v", err)
	}
	var want []string
	for _, m := range regexp.MustCompile(`\$context(?:\.[A-Za-z0-9_]+)+`).FindAllString(string(src), -1) {
		if !slices.Contains(want, m) {
			want = append(want, m)
		}
	}
	got := AccessLogVariables()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("AccessLogVariables() = %v\nobserve.Record names %v", got, want)
	}
	got[0] = "changed"
	if AccessLogVariables()[0] == "changed" {
		t.Errorf("AccessLogVariables returns shared storage")
	}
}

// TestAccessLogVariablesAccepted: a format using every variable loads.
func TestAccessLogVariablesAccepted(t *testing.T) {
	format := strings.Join(AccessLogVariables(), " ")
	text := "apis:\n  a:\n    integrations: {h: {type: HTTP_PROXY, uri: 'http://h'}}\n    stages: {v1: {accessLogSettings: {format: '" + format + "'}}}\n"
	if _, _, err := parseInDir(t, text); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaAcceptsNewFields(t *testing.T) {
	root := loadSchema(t)
	b, err := os.ReadFile(filepath.Join("testdata", "ai.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if errs := validateSchema(root, root, doc, "spec"); len(errs) > 0 {
		t.Errorf("testdata/ai.yaml does not validate:\n%s", strings.Join(errs, "\n"))
	}
}

func TestSchemaRejectsNewFields(t *testing.T) {
	root := loadSchema(t)
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"invoke mode", "apis: {a: {integrations: {i: {type: AWS_PROXY, invokeMode: STREAM}}}}", "spec.apis.a.integrations.i.invokeMode: STREAM not in enum"},
		{"idle timeout", "apis: {a: {integrations: {i: {type: AWS_PROXY, idleTimeoutInMillis: 0}}}}", "spec.apis.a.integrations.i.idleTimeoutInMillis: 0 < minimum 1"},
		{"max queue", "apis: {a: {integrations: {i: {type: AWS_PROXY, maxQueue: 100001}}}}", "spec.apis.a.integrations.i.maxQueue: 100001 > maximum 100000"},
		{"upstream weight", "apis: {a: {integrations: {i: {type: HTTP_PROXY, upstreams: [{uri: 'http://h', weight: 1001}]}}}}", "spec.apis.a.integrations.i.upstreams[0].weight: 1001 > maximum 1000"},
		{"upstream unknown field", "apis: {a: {integrations: {i: {type: HTTP_PROXY, upstreams: [{url: 'http://h'}]}}}}", "spec.apis.a.integrations.i.upstreams[0]: unknown property url"},
		{"too many upstreams", "apis: {a: {integrations: {i: {type: HTTP_PROXY, upstreams: [" + strings.Repeat("{uri: 'http://h'}, ", 16) + "{uri: 'http://h'}]}}}}", "more than 16 items"},
		{"token limit", "usagePlans: {p: {tokenLimits: {perMinute: 0}}}", "spec.usagePlans.p.tokenLimits.perMinute: 0 < minimum 1"},
		{"route token limit field", "apis: {a: {stages: {v1: {routeSettings: {$default: {tokenLimits: {perHour: 5}}}}}}}", "tokenLimits: unknown property perHour"},
		{"access log multiline", "apis: {a: {stages: {v1: {accessLogSettings: {format: \"a\\nb\"}}}}}", "accessLogSettings.format"},
		{"access log field", "apis: {a: {stages: {v1: {accessLogSettings: {destinationArn: x}}}}}", "accessLogSettings: unknown property destinationArn"},
		{"storage endpoint path", "storage: {endpoint: 'https://s3/x'}", "spec.storage.endpoint"},
		{"storage needs endpoint", "storage: {region: x}", "spec.storage: missing required endpoint"},
		{"bucket contents", "buckets: {abc: {contents: ''}}", "spec.buckets.abc.contents: shorter than 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := yaml.Unmarshal([]byte(tt.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			errs := strings.Join(validateSchema(root, root, doc, "spec"), "\n")
			if !strings.Contains(errs, tt.want) {
				t.Errorf("errors %q do not contain %q", errs, tt.want)
			}
		})
	}
}
