package lambdaproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// TestEventV2ClientCert: a mutual TLS client certificate appears in
// requestContext.authentication.clientCert (2.0) and
// requestContext.identity.clientCert (1.0) as AWS documents them.
func TestEventV2ClientCert(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x0a1b2c), Subject: pkix.Name{CommonName: "alice", Organization: []string{"Example"}},
		NotBefore: time.Date(2019, 5, 8, 12, 30, 2, 0, time.UTC), NotAfter: time.Date(2031, 8, 15, 9, 36, 4, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	r := newRequest("GET", "/", "$default", "$default", nil)
	r.ClientCert = cert
	var m struct {
		RequestContext struct {
			Authentication struct {
				ClientCert struct {
					ClientCertPem, SubjectDN, IssuerDN, SerialNumber string
					Validity                                         struct{ NotBefore, NotAfter string }
				}
			}
		}
	}
	if err := json.Unmarshal(AppendEventV2(nil, r), &m); err != nil {
		t.Fatal(err)
	}
	c := m.RequestContext.Authentication.ClientCert
	want := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if c.ClientCertPem != want || c.SubjectDN != "CN=alice,O=Example" || c.IssuerDN != "CN=alice,O=Example" ||
		c.SerialNumber != "0a:1b:2c" || c.Validity.NotBefore != "May  8 12:30:02 2019 GMT" || c.Validity.NotAfter != "Aug 15 09:36:04 2031 GMT" {
		t.Errorf("clientCert = %+v", c)
	}
	var v1 struct {
		RequestContext struct {
			Identity struct {
				ClientCert struct{ SubjectDN, SerialNumber string }
				UserArn    *string
			}
		}
	}
	if err := json.Unmarshal(AppendEventV1(nil, r), &v1); err != nil {
		t.Fatal(err)
	}
	if id := v1.RequestContext.Identity; id.ClientCert.SubjectDN != "CN=alice,O=Example" || id.ClientCert.SerialNumber != "0a:1b:2c" {
		t.Errorf("1.0 identity.clientCert = %+v", id.ClientCert)
	}
	r.ClientCert = nil
	var plain map[string]map[string]any
	json.Unmarshal(AppendEventV2(nil, r), &plain)
	if _, ok := plain["requestContext"]["authentication"]; ok {
		t.Error("authentication present without a client certificate")
	}
}
