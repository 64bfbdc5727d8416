package httpproxy

import (
	"testing"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
)

func TestCheckTraversal(t *testing.T) {
	tests := []struct {
		name     string
		routeKey string
		params   map[string]string
		rawPath  string
		want     int // 0: let through
	}{
		{name: "greedy value", routeKey: "ANY /api/{proxy+}", params: map[string]string{"proxy": "a/b.txt"}},
		{name: "greedy dot-dot", routeKey: "ANY /api/{proxy+}", params: map[string]string{"proxy": "a/../../admin"}, want: 400},
		{name: "greedy backslash dot-dot", routeKey: "ANY /api/{proxy+}", params: map[string]string{"proxy": `..\admin`}, want: 400},
		{name: "single with slash", routeKey: "GET /items/{id}", params: map[string]string{"id": "a/b"}, want: 404},
		{name: "single dot", routeKey: "GET /items/{id}", params: map[string]string{"id": "."}, want: 400},
		{name: "$default plain", routeKey: "$default", rawPath: "/v1/a/b"},
		{name: "$default dot-dot", routeKey: "$default", rawPath: "/v1/../admin", want: 400},
		{name: "$default encoded dot-dot", routeKey: "$default", rawPath: "/v1/%2E%2e/admin", want: 400},
		{name: "$default encoded slashes", routeKey: "$default", rawPath: "/v1/a%2f..%2fadmin", want: 400},
		{name: "$default bad escape is left to the upstream", routeKey: "$default", rawPath: "/v1/%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkTraversal(&integration.Request{RouteKey: tt.routeKey, PathParameters: tt.params, RawPath: tt.rawPath})
			got := 0
			if err != nil {
				got = edge.As(err).Kind.Status()
			}
			if got != tt.want {
				t.Errorf("status %d (%v), want %d", got, err, tt.want)
			}
		})
	}
}
