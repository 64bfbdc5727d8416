package s3

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// CORS works as on S3: a bucket's CORS configuration (PutBucketCors) is a
// list of rules; a browser's preflight (OPTIONS with Origin and
// Access-Control-Request-Method, unsigned) is answered from the first rule
// whose AllowedOrigin, AllowedMethod and AllowedHeader patterns (one "*"
// wildcard each) match the origin, the method and every requested header;
// and a request with an Origin header that a rule allows gets the
// Access-Control-* headers on its response, errors included, so a page can
// read the S3 error of a presigned upload. A bucket without a
// configuration, or a request no rule allows, gets no CORS headers
// (preflight: 403 AccessForbidden).

type corsRule struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	ExposeHeaders  []string `xml:"ExposeHeader"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds"`
}

type corsConfig struct {
	XMLName xml.Name   `xml:"CORSConfiguration"`
	Xmlns   string     `xml:"xmlns,attr,omitempty"`
	Rules   []corsRule `xml:"CORSRule"`
}

// parseCORS reads and validates a CORSConfiguration document.
func parseCORS(body []byte) (*corsConfig, error) {
	var cfg corsConfig
	if err := xml.Unmarshal(body, &cfg); err != nil || cfg.XMLName.Local != "CORSConfiguration" || len(cfg.Rules) == 0 {
		return nil, errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	if len(cfg.Rules) > 100 {
		return nil, errf(400, "InvalidRequest", "The number of CORS rules should not exceed allowed limit of 100 rules.")
	}
	for _, r := range cfg.Rules {
		if len(r.AllowedMethods) == 0 || len(r.AllowedOrigins) == 0 {
			return nil, errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
		for _, m := range r.AllowedMethods {
			switch m {
			case "GET", "PUT", "HEAD", "POST", "DELETE":
			default:
				return nil, errf(400, "InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is %s", m)
			}
		}
		for _, o := range r.AllowedOrigins {
			if strings.Count(o, "*") > 1 {
				return nil, errf(400, "InvalidRequest", "AllowedOrigin %q can not have more than one wildcard.", o)
			}
		}
		for _, h := range r.AllowedHeaders {
			if strings.Count(h, "*") > 1 {
				return nil, errf(400, "InvalidRequest", "AllowedHeader %q can not have more than one wildcard.", h)
			}
		}
		if r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0 {
			return nil, errf(400, "MalformedXML", "MaxAgeSeconds must not be negative")
		}
	}
	cfg.Xmlns = s3NS
	return &cfg, nil
}

// wildcardMatch matches s against a pattern with at most one "*".
func wildcardMatch(pattern, s string) bool {
	before, after, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}

// match returns the first rule allowing origin, method and headers
// (lower-case names).
func (cfg *corsConfig) match(origin, method string, headers []string) *corsRule {
rules:
	for i := range cfg.Rules {
		r := &cfg.Rules[i]
		if !anyMatch(r.AllowedOrigins, origin, false) || !anyMatch(r.AllowedMethods, method, false) {
			continue
		}
		for _, h := range headers {
			if !anyMatch(r.AllowedHeaders, h, true) {
				continue rules
			}
		}
		return r
	}
	return nil
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// setCORSHeaders writes the response headers rule grants origin.
func setCORSHeaders(h http.Header, r *corsRule, origin string) {
	if len(r.AllowedOrigins) == 1 && r.AllowedOrigins[0] == "*" {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(r.AllowedMethods, ", "))
	if len(r.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(r.ExposeHeaders, ", "))
	}
	if r.MaxAgeSeconds != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*r.MaxAgeSeconds))
	}
	h.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
}

// applyCORS adds CORS headers to a request with an Origin header that the
// bucket's configuration allows. Called before authentication, so a
// refused request is readable by the page too.
func (s *Server) applyCORS(c *call) {
	origin := c.r.Header.Get("Origin")
	if origin == "" || c.bucket == "" {
		return
	}
	b, ok := s.store.bucket(c.bucket)
	if !ok {
		return
	}
	cfg := b.cors.Load()
	if cfg == nil {
		return
	}
	if r := cfg.match(origin, c.r.Method, nil); r != nil {
		setCORSHeaders(c.w.Header(), r, origin)
	}
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a CORS preflight (unsigned, as browsers send it).
func (s *Server) preflight(c *call) error {
	origin := c.r.Header.Get("Origin")
	method := c.r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		return errf(400, "BadRequest", "Insufficient information. Origin request header needed.")
	}
	forbidden := errf(403, "AccessForbidden", "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
	b, ok := s.store.bucket(c.bucket)
	if !ok || c.bucket == "" {
		return errf(403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
	}
	cfg := b.cors.Load()
	if cfg == nil {
		return errf(403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
	}
	var headers []string
	for _, v := range c.r.Header.Values("Access-Control-Request-Headers") {
		for _, h := range strings.Split(v, ",") {
			if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
				headers = append(headers, h)
			}
		}
	}
	r := cfg.match(origin, method, headers)
	if r == nil {
		return forbidden
	}
	h := c.w.Header()
	setCORSHeaders(h, r, origin)
	if len(headers) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
	}
	h.Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getBucketCORS(c *call) error {
	if err := c.authorize("s3:GetBucketCORS", c.bucketARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	cfg := b.cors.Load()
	if cfg == nil {
		return errf(404, "NoSuchCORSConfiguration", "The CORS configuration does not exist")
	}
	return writeXML(c.w, http.StatusOK, cfg)
}

func (s *Server) putBucketCORS(c *call) error {
	if err := c.authorize("s3:PutBucketCORS", c.bucketARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	body, err := s.readSmallBody(c, 64<<10)
	if err != nil {
		return err
	}
	cfg, err := parseCORS(body)
	if err != nil {
		return err
	}
	out, _ := xml.Marshal(cfg)
	if err := b.writeConfig("cors", out); err != nil {
		return errInternal(err)
	}
	b.cors.Store(cfg)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBucketCORS(c *call) error {
	if err := c.authorize("s3:PutBucketCORS", c.bucketARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	if err := b.deleteConfig("cors"); err != nil {
		return errInternal(err)
	}
	b.cors.Store(nil)
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
