package spec

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testCAPEM returns a throwaway self-signed certificate (PEM).
func testCAPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestIntegrationTLSConfig(t *testing.T) {
	const head = "apis:\n  a:\n    integrations:\n      i:\n        type: HTTP_PROXY\n        uri: https://upstream.internal/{proxy}\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"bad server name", head + "        tlsConfig: {serverNameToVerify: \"not a name\"}\n",
			[]string{`7:41: serverNameToVerify: "not a name" is not a host name`}},
		{"missing CA file", head + "        tlsConfig: {caFile: nope.pem}\n",
			[]string{`7:29: caFile: open ` + "DIR" + `/nope.pem: no such file or directory`}},
		{"CA file without certificates", head + "        tlsConfig: {caFile: file}\n",
			[]string{`7:29: caFile: "file" holds no PEM certificate`}},
		{"not for AWS_PROXY", "functions:\n  f: {runtime: python3.12, handler: a.b, code: app}\napis:\n  a:\n    integrations:\n      i: {type: AWS_PROXY, function: f, tlsConfig: {serverNameToVerify: x.test}}\n",
			[]string{`6:52: tlsConfig: only for HTTP_PROXY integrations`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := parseInDir(t, tt.yaml)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			got := positioned(t, err, filepath.Join(dir, "portico.yaml"))
			for i := range got {
				got[i] = strings.ReplaceAll(got[i], dir, "DIR")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		dir := t.TempDir()
		ca := testCAPEM(t)
		if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Parse(filepath.Join(dir, "portico.yaml"), []byte(head+"        tlsConfig: {serverNameToVerify: api.internal, caFile: ca.pem}\n"))
		if err != nil {
			t.Fatal(err)
		}
		c := s.APIs["a"].Integrations["i"].TLSConfig
		if c.ServerNameToVerify != "api.internal" || c.CAFile != filepath.Join(dir, "ca.pem") || !bytes.Equal(c.CAPEM, ca) {
			t.Errorf("tlsConfig = %+v", c)
		}
	})
}
