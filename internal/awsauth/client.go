package awsauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Signer is an http.RoundTripper that signs each request with SigV4 for
// the service its path belongs to (Service), as the Gate expects: what
// Portico's CLI uses to call a running instance with the admin
// credentials. The body is read to compute its hash.
type Signer struct {
	AccessKeyID, SecretAccessKey string
	Region                       string
	// Base sends the signed request; nil means http.DefaultTransport.
	Base http.RoundTripper
}

var _ http.RoundTripper = (*Signer)(nil)

// RoundTrip signs a clone of req and sends it.
func (s *Signer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("sign request: read body: %w", err)
		}
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body = http.NoBody
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(req.Context(), creds, out, hex.EncodeToString(sum[:]), Service(out.URL.Path), s.Region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign request: %w", err)
	}
	base := s.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(out)
}
