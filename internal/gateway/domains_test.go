package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/internal/router"
)

// TestDomainMappings routes requests for custom domain names by their API
// mappings: the longest matching key wins and is stripped, the stage comes
// from the mapping (not the path), other hosts route as before.
func TestDomainMappings(t *testing.T) {
	shop := NewAPI("abc1234567", "shop", "000000000000")
	for _, st := range []string{"$default", "prod"} {
		if err := shop.AddStage(st, nil, []router.Route[*Route]{route("ANY /{proxy+}", "ANY", "/{proxy+}", echo("shop")), route("GET /", "GET", "/", echo("shop"))}); err != nil {
			t.Fatal(err)
		}
	}
	orders := NewAPI("def1234567", "orders", "000000000000")
	if err := orders.AddStage("v2", nil, []router.Route[*Route]{route("ANY /{proxy+}", "ANY", "/{proxy+}", echo("orders"))}); err != nil {
		t.Fatal(err)
	}
	d := NewDeployment([]*API{shop, orders})
	api := NewDomain("API.example.test", nil, nil)
	for _, m := range []struct {
		key, stage string
		api        *API
	}{{"", "prod", shop}, {"orders", "v2", orders}, {"orders/beta", "$default", shop}} {
		if err := api.Map(m.key, m.api, m.stage); err != nil {
			t.Fatal(err)
		}
	}
	if err := api.Map("orders", orders, "v2"); err == nil {
		t.Error("a key mapped twice was accepted")
	}
	if err := api.Map("x", orders, "nope"); err == nil {
		t.Error("a missing stage was accepted")
	}
	wild := NewDomain("*.apps.test", nil, nil)
	if err := wild.Map("v1", orders, "v2"); err != nil {
		t.Fatal(err)
	}
	d.SetDomains([]*Domain{api, wild})
	s := New(Deps{})
	s.Swap(d)

	tests := []struct{ host, target, want string }{
		{"api.example.test", "/items/1", "200 shop ANY /{proxy+} stage=prod path=/items/1"},
		{"api.example.test:8443", "/prod/items/1", "200 shop ANY /{proxy+} stage=prod path=/prod/items/1"},
		{"api.example.test", "/orders/42", "200 orders ANY /{proxy+} stage=v2 path=/42"},
		{"api.example.test", "/orders", "404 "},
		{"api.example.test", "/ordersx/1", "200 shop ANY /{proxy+} stage=prod path=/ordersx/1"},
		{"API.Example.Test", "/orders/beta/x", "200 shop ANY /{proxy+} stage=$default path=/x"},
		{"a.apps.test", "/v1/7", "200 orders ANY /{proxy+} stage=v2 path=/7"},
		{"a.apps.test", "/v2/7", "404 "},
		{"b.a.apps.test", "/v1/7", "404 "},
		{"shop.localhost", "/prod/items/1", "200 shop ANY /{proxy+} stage=prod path=/items/1"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		b, _ := io.ReadAll(w.Body)
		got := string(b)
		if w.Code != 200 {
			got = ""
		} else if i := len(tt.want) - 4; len(got) > i {
			got = got[:min(len(got), len(tt.want)-4)]
		}
		if got := w.Result().Status[:4] + got; got != tt.want {
			t.Errorf("%s %s: got %q, want %q", tt.host, tt.target, got, tt.want)
		}
	}
}

// TestDomainMutualTLS: a domain with client CAs refuses requests that did
// not come over a connection verified for it.
func TestDomainMutualTLS(t *testing.T) {
	a := NewAPI("abc1234567", "shop", "000000000000")
	if err := a.AddStage("$default", nil, []router.Route[*Route]{route("GET /", "GET", "/", echo("shop"))}); err != nil {
		t.Fatal(err)
	}
	d := NewDeployment([]*API{a})
	dm := NewDomain("secure.example.test", nil, x509.NewCertPool())
	if err := dm.Map("", a, "$default"); err != nil {
		t.Fatal(err)
	}
	d.SetDomains([]*Domain{dm})
	s := New(Deps{})
	s.Swap(d)
	verified := [][]*x509.Certificate{{&x509.Certificate{}}}
	for _, tt := range []struct {
		name string
		tls  *tls.ConnectionState
		want int
	}{
		{"plain HTTP", nil, 403},
		{"TLS without a client certificate", &tls.ConnectionState{ServerName: "secure.example.test"}, 403},
		{"handshake for another name", &tls.ConnectionState{ServerName: "other.example.test", VerifiedChains: verified}, 403},
		{"verified for the domain", &tls.ConnectionState{ServerName: "secure.example.test", VerifiedChains: verified, PeerCertificates: verified[0]}, 200},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host, r.TLS = "secure.example.test", tt.tls
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
	}
}
