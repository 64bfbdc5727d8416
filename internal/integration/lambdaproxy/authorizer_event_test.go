package lambdaproxy

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestAuthorizerEvents checks that the authorizer events are valid JSON
// whatever the identity values hold, carry them as given (2.0: an array;
// 1.0: joined with ","), and leave out the body.
func TestAuthorizerEvents(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want2  []any
		want1  string
	}{
		{name: "none", values: nil, want2: []any{}, want1: ""},
		{name: "one", values: []string{"tok"}, want2: []any{"tok"}, want1: "tok"},
		{name: "several", values: []string{"a", "b,c"}, want2: []any{"a", "b,c"}, want1: "a,b,c"},
		{name: "escapes", values: []string{"q\"\\\n\x01"}, want2: []any{"q\"\\\n\x01"}, want1: "q\"\\\n\x01"},
		{name: "invalid utf-8", values: []string{"a\xffb"}, want2: []any{"a\ufffdb"}, want1: "a\ufffdb"},
	}
	const arn = "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/v1/POST/orders/42"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest("POST", "/v1/orders/42?x=1", "v1", "POST /orders/{id}", []byte("body"), "Content-Type", "text/plain")
			var v2, v1 map[string]any
			ev2 := AppendAuthorizerEventV2(nil, r, arn, tt.values)
			if err := json.Unmarshal(ev2, &v2); err != nil {
				t.Fatalf("2.0 event is not JSON: %v\n%s", err, ev2)
			}
			ev1 := AppendAuthorizerEventV1(nil, r, arn, tt.values)
			if err := json.Unmarshal(ev1, &v1); err != nil {
				t.Fatalf("1.0 event is not JSON: %v\n%s", err, ev1)
			}
			if !reflect.DeepEqual(v2["identitySource"], tt.want2) || v2["routeArn"] != arn || v2["type"] != "REQUEST" || v2["version"] != "2.0" {
				t.Errorf("2.0 event: identitySource %#v routeArn %v type %v", v2["identitySource"], v2["routeArn"], v2["type"])
			}
			if v1["identitySource"] != tt.want1 || v1["authorizationToken"] != tt.want1 || v1["methodArn"] != arn || v1["type"] != "REQUEST" {
				t.Errorf("1.0 event: identitySource %q authorizationToken %q methodArn %v", v1["identitySource"], v1["authorizationToken"], v1["methodArn"])
			}
			for _, k := range []string{"body", "isBase64Encoded"} {
				if _, ok := v2[k]; ok {
					t.Errorf("2.0 event has %s", k)
				}
				if _, ok := v1[k]; ok {
					t.Errorf("1.0 event has %s", k)
				}
			}
		})
	}
}
