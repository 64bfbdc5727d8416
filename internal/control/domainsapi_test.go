package control

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/internal/spec"
)

// TestDomainNamesAPI reads the spec's custom domain names and API mappings
// as apigatewayv2's GetDomainNames, GetDomainName, GetApiMappings and
// GetApiMapping answer them.
func TestDomainNamesAPI(t *testing.T) {
	c := New(Config{}, Deps{})
	c.spec = &spec.Spec{
		APIs: map[string]*spec.API{"shop": {Name: "shop", ID: "abc1234567"}},
		DomainNames: map[string]*spec.DomainName{"shop.localhost": {Name: "shop.localhost", APIMappings: []*spec.APIMapping{
			{API: "shop", Stage: "prod"}, {API: "shop", Stage: "v2", APIMappingKey: "orders"},
		}}},
	}
	get := func(path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	code, body := get("/v2/domainnames")
	items, _ := body["items"].([]any)
	if code != 200 || len(items) != 1 || items[0].(map[string]any)["domainName"] != "shop.localhost" {
		t.Fatalf("GetDomainNames: %d %v", code, body)
	}
	if code, body := get("/v2/domainnames/shop.localhost"); code != 200 || body["apiMappingSelectionExpression"] != "$request.basepath" {
		t.Errorf("GetDomainName: %d %v", code, body)
	}
	code, body = get("/v2/domainnames/shop.localhost/apimappings")
	items, _ = body["items"].([]any)
	if code != 200 || len(items) != 2 {
		t.Fatalf("GetApiMappings: %d %v", code, body)
	}
	m := items[1].(map[string]any)
	if m["apiId"] != "abc1234567" || m["apiMappingKey"] != "orders" || m["stage"] != "v2" {
		t.Errorf("mapping = %v", m)
	}
	if code, body := get("/v2/domainnames/shop.localhost/apimappings/" + m["apiMappingId"].(string)); code != 200 || body["stage"] != "v2" {
		t.Errorf("GetApiMapping: %d %v", code, body)
	}
	for _, path := range []string{"/v2/domainnames/nope.localhost", "/v2/domainnames/nope.localhost/apimappings", "/v2/domainnames/shop.localhost/apimappings/nope"} {
		if code, _ := get(path); code != 404 {
			t.Errorf("GET %s: %d, want 404 NotFoundException", path, code)
		}
	}
}
