package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/certs"
	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/pulumiyaml"
	"github.com/portico-dev/portico/internal/spec"
)

// tlsOptions configure the gateway's TLS listener and HTTP/2 (flags of
// `portico up`).
type tlsOptions struct {
	listen    string     // the HTTPS listener's address, "" for none
	certFiles stringList // --tls-cert, paired in order with keyFiles
	keyFiles  stringList
	h2c       bool // serve prior-knowledge HTTP/2 on the plain listener
}

// stringList is a flag given any number of times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func (o *tlsOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.listen, "tls-listen", "", "also serve the HTTP APIs over TLS (HTTPS, HTTP/2) on this address; with no --tls-cert, certificates come from the local CA (see `portico tls ca`)")
	fs.Var(&o.certFiles, "tls-cert", "certificate chain (PEM) for --tls-listen; repeat with --tls-key for several domain names (chosen by SNI)")
	fs.Var(&o.keyFiles, "tls-key", "private key (PEM) of the --tls-cert given at the same position")
	fs.BoolVar(&o.h2c, "h2c", false, "also accept HTTP/2 without TLS (prior knowledge) on --listen")
}

// tlsDir is where the local CA lives in a state directory.
func tlsDir(dataDir string) string { return filepath.Join(dataDir, "tls") }

// serverConfig loads the certificates o names, with the local CA of
// dataDir for localhost names (always, so that *.localhost works beside
// files for other names).
func (o *tlsOptions) serverConfig(dataDir string) (*certs.CA, []certsPair, error) {
	if len(o.certFiles) != len(o.keyFiles) {
		return nil, nil, fmt.Errorf("--tls-cert given %d times and --tls-key %d: give them in pairs", len(o.certFiles), len(o.keyFiles))
	}
	if o.listen == "" && len(o.certFiles) > 0 {
		return nil, nil, errors.New("--tls-cert needs --tls-listen")
	}
	var pairs []certsPair
	for i := range o.certFiles {
		pairs = append(pairs, certs.Pair{CertFile: o.certFiles[i], KeyFile: o.keyFiles[i]})
	}
	if o.listen == "" {
		return nil, pairs, nil
	}
	ca, err := certs.LoadOrCreateCA(tlsDir(dataDir))
	return ca, pairs, err
}

type certsPair = certs.Pair

// startTLS starts the gateway's TLS listener when o asks for one, and
// returns its URL ("" for none).
func (s *system) startTLS(o tlsOptions, dataDir string, gw *gateway.Server, t gateway.Timeouts) (string, error) {
	ca, pairs, err := o.serverConfig(dataDir)
	if err != nil || o.listen == "" {
		return "", err
	}
	loaded, err := certs.LoadPairs(pairs)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", o.listen)
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

// cmdTLS is `portico tls ca`: it creates the local CA when missing and
// prints where it is and how to trust it.
func cmdTLS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "ca" {
		return errors.New("usage: portico tls ca [-f portico.yaml | DIR] [--data-dir DIR] [--path]")
	}
	fs := flag.NewFlagSet("tls ca", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "portico.yaml", "spec file of the instance (its state directory is .portico beside it)")
	dataDir := fs.String("data-dir", "", "the instance's state directory, as given to `portico up --data-dir`")
	pathOnly := fs.Bool("path", false, "print only the CA certificate's path")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return errors.New("usage: portico tls ca [-f portico.yaml | DIR] [--data-dir DIR] [--path]")
	}
	if len(pos) == 1 {
		*file = filepath.Join(pos[0], pulumiyaml.ProjectFile)
	}
	ca, err := certs.LoadOrCreateCA(tlsDir(dataDirFor(*file, *dataDir)))
	if err != nil {
		return err
	}
	path, err := filepath.Abs(ca.Path())
	if err != nil {
		return err
	}
	if *pathOnly {
		fmt.Fprintln(stdout, path)
		return nil
	}
	fmt.Fprint(stdout, certs.Trust(path))
	return nil
}

// domainLines lists the custom domain names' mappings as URLs on the
// gateway's listeners (the TLS one when there is one): "domain URL API
// STAGE" lines.
func domainLines(sp *spec.Spec, gwAddr, tlsURL string) []string {
	base, port := "http://", gwAddr[strings.LastIndexByte(gwAddr, ':')+1:]
	if tlsURL != "" {
		base, port = "https://", tlsURL[strings.LastIndexByte(tlsURL, ':')+1:]
	}
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(sp.DomainNames)) {
		for _, m := range sp.DomainNames[name].APIMappings {
			u := base + strings.Replace(name, "*", "x", 1) + ":" + port + "/"
			if m.APIMappingKey != "" {
				u += m.APIMappingKey + "/"
			}
			lines = append(lines, fmt.Sprintf("domain %s %s %s", u, m.API, m.Stage))
		}
	}
	return lines
}
