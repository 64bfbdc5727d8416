package lambdaproxy

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/internal/integration"
)

// TestEventProtocol: requestContext's protocol is HTTP/1.1 in both payload
// versions, for an HTTP/2 request too, as API Gateway reports it.
func TestEventProtocol(t *testing.T) {
	for _, tt := range []struct {
		name  string
		major int
		want  string
	}{
		{"HTTP/2", 2, "HTTP/1.1"},
		{"HTTP/1.1", 1, "HTTP/1.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hr := httptest.NewRequest("GET", "/p", nil)
			hr.ProtoMajor = tt.major
			r := &integration.Request{HTTP: hr, RawPath: "/p", Path: "/p", RouteKey: "GET /p", Stage: "$default"}
			var v2 struct {
				RequestContext struct {
					HTTP struct{ Protocol string } `json:"http"`
				} `json:"requestContext"`
			}
			if err := json.Unmarshal(AppendEventV2(nil, r), &v2); err != nil {
				t.Fatal(err)
			}
			var v1 struct {
				RequestContext struct{ Protocol string } `json:"requestContext"`
			}
			if err := json.Unmarshal(AppendEventV1(nil, r), &v1); err != nil {
				t.Fatal(err)
			}
			if v2.RequestContext.HTTP.Protocol != tt.want || v1.RequestContext.Protocol != tt.want {
				t.Errorf("protocol v2 %q, v1 %q, want %q", v2.RequestContext.HTTP.Protocol, v1.RequestContext.Protocol, tt.want)
			}
		})
	}
}
