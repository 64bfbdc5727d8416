package system

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"

	"github.com/portico-dev/portico/internal/certs"
	"github.com/portico-dev/portico/internal/gateway"
)

// TLSOptions configure the gateway's TLS listener and HTTP/2 (flags of
// `portico up`).
type TLSOptions struct {
	Listen    string   // the HTTPS listener's address, "" for none
	CertFiles []string // --tls-cert, paired in order with KeyFiles
	KeyFiles  []string
	H2C       bool // serve prior-knowledge HTTP/2 on the plain listener
}

// TLSDir is where the local CA lives in a state directory.
func TLSDir(dataDir string) string { return filepath.Join(dataDir, "tls") }

// serverConfig loads the certificates o names, with the local CA of
// dataDir for localhost names (always, so that *.localhost works beside
// files for other names).
func (o *TLSOptions) serverConfig(dataDir string) (*certs.CA, []certs.Pair, error) {
	if len(o.CertFiles) != len(o.KeyFiles) {
		return nil, nil, fmt.Errorf("--tls-cert given %d times and --tls-key %d: give them in pairs", len(o.CertFiles), len(o.KeyFiles))
	}
	if o.Listen == "" && len(o.CertFiles) > 0 {
		return nil, nil, errors.New("--tls-cert needs --tls-listen")
	}
	var pairs []certs.Pair
	for i := range o.CertFiles {
		pairs = append(pairs, certs.Pair{CertFile: o.CertFiles[i], KeyFile: o.KeyFiles[i]})
	}
	if o.Listen == "" {
		return nil, pairs, nil
	}
	ca, err := certs.LoadOrCreateCA(TLSDir(dataDir))
	return ca, pairs, err
}

// startTLS starts the gateway's TLS listener when o asks for one, and
// returns its URL ("" for none).
func (s *System) startTLS(o TLSOptions, dataDir string, gw *gateway.Server, t gateway.Timeouts) (string, error) {
	ca, pairs, err := o.serverConfig(dataDir)
	if err != nil || o.Listen == "" {
		return "", err
	}
	loaded, err := certs.LoadPairs(pairs)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	s.closers = append(s.closers, func() { ln.Close() })
	// Custom domain names' certificates and mutual TLS come from the
	// current deployment, at each handshake.
	cfg := gw.TLSConfig(certs.ServerConfig(loaded, ca))
	s.serve(gateway.NewHTTPServer(gw, t), gateway.TLSListener(ln, cfg, t.Header))
	return "https://" + ln.Addr().String(), nil
}

// h2cServer makes srv also accept prior-knowledge HTTP/2 without TLS.
func h2cServer(srv *http.Server) *http.Server {
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	return srv
}
