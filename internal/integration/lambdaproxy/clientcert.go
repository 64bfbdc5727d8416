package lambdaproxy

import (
	"crypto/x509"
	"encoding/pem"
)

// validityTime is how API Gateway writes a client certificate's validity
// ("May 28 12:30:02 2019 GMT", as openssl prints it).
const validityTime = "Jan _2 15:04:05 2006 GMT"

// appendAuthentication appends the 2.0 event's requestContext
// "authentication" member for a mutual TLS client certificate.
func appendAuthentication(dst []byte, c *x509.Certificate) []byte {
	dst = append(dst, `,"authentication":{"clientCert":`...)
	dst = appendClientCert(dst, c)
	return append(dst, '}')
}

// appendClientCert appends a client certificate as API Gateway describes
// it: clientCertPem, subjectDN, issuerDN, serialNumber (hex bytes joined
// by ":") and validity.
func appendClientCert(dst []byte, c *x509.Certificate) []byte {
	dst = append(dst, `{"clientCertPem":`...)
	dst = appendString(dst, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	dst = append(dst, `,"subjectDN":`...)
	dst = appendString(dst, c.Subject.String())
	dst = append(dst, `,"issuerDN":`...)
	dst = appendString(dst, c.Issuer.String())
	dst = append(dst, `,"serialNumber":"`...)
	for i, b := range c.SerialNumber.Bytes() {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, "0123456789abcdef"[b>>4], "0123456789abcdef"[b&15])
	}
	dst = append(dst, `","validity":{"notBefore":"`...)
	dst = c.NotBefore.UTC().AppendFormat(dst, validityTime)
	dst = append(dst, `","notAfter":"`...)
	dst = c.NotAfter.UTC().AppendFormat(dst, validityTime)
	return append(dst, `"}}`...)
}
