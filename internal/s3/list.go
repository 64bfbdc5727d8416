package s3

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

type listedObject struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listV2Result struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	KeyCount              int            `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	Contents              []listedObject `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

type listV1Result struct {
	XMLName        xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	Delimiter      string         `xml:"Delimiter,omitempty"`
	MaxKeys        int            `xml:"MaxKeys"`
	IsTruncated    bool           `xml:"IsTruncated"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	Contents       []listedObject `xml:"Contents"`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

// page is one page of a listing.
type page struct {
	objects   []listedObject
	prefixes  []commonPrefix
	truncated bool
	last      string // the last key or common prefix returned
}

// listPage lists keys under prefix after start (exclusive), rolling keys
// up to common prefixes at delimiter, up to max entries.
func (b *bucket) listPage(prefix, delimiter, start string, max int) page {
	b.mu.RLock()
	defer b.mu.RUnlock()
	keys := b.keys
	from := prefix
	if start > from {
		from = start
	}
	i := sort.SearchStrings(keys, from)
	if i < len(keys) && keys[i] == start {
		i++
	}
	var p page
	for i < len(keys) {
		k := keys[i]
		if !strings.HasPrefix(k, prefix) {
			break
		}
		if delimiter != "" {
			if j := strings.Index(k[len(prefix):], delimiter); j >= 0 {
				cp := k[:len(prefix)+j+len(delimiter)]
				next := i + sort.Search(len(keys)-i, func(n int) bool {
					x := keys[i+n]
					return x > cp && !strings.HasPrefix(x, cp)
				})
				if cp <= start {
					i = next
					continue
				}
				if len(p.objects)+len(p.prefixes) == max {
					p.truncated = true
					break
				}
				p.prefixes = append(p.prefixes, commonPrefix{Prefix: cp})
				p.last = cp
				i = next
				continue
			}
		}
		if len(p.objects)+len(p.prefixes) == max {
			p.truncated = true
			break
		}
		e := b.objs[k]
		p.objects = append(p.objects, listedObject{Key: k, LastModified: e.modified.UTC().Format("2006-01-02T15:04:05.000Z"),
			ETag: e.etag, Size: e.size, StorageClass: "STANDARD"})
		p.last = k
		i++
	}
	return p
}

// listParams reads max-keys, prefix, delimiter and encoding-type.
func (c *call) listParams() (max int, prefix, delimiter, enc string, err error) {
	max = 1000
	if v := c.q("max-keys"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 0 {
			return 0, "", "", "", errf(400, "InvalidArgument", "max-keys must be a non-negative integer")
		}
		max = min(n, 1000)
	}
	enc = c.q("encoding-type")
	if enc != "" && enc != "url" {
		return 0, "", "", "", errf(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
	}
	return max, c.q("prefix"), c.q("delimiter"), enc, nil
}

func (s *Server) listObjectsV2(c *call) error {
	if err := c.authorize("s3:ListBucket", c.bucketARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	max, prefix, delim, enc, err := c.listParams()
	if err != nil {
		return err
	}
	start := c.q("start-after")
	token := c.q("continuation-token")
	if c.has("continuation-token") {
		raw, derr := base64.RawURLEncoding.DecodeString(token)
		if derr != nil || token == "" {
			return errf(400, "InvalidArgument", "The continuation token provided is incorrect")
		}
		start = string(raw)
	}
	var p page
	if max > 0 {
		p = b.listPage(prefix, delim, start, max)
	}
	res := listV2Result{Name: c.bucket, Prefix: prefix, Delimiter: delim, MaxKeys: max, EncodingType: enc,
		ContinuationToken: token, StartAfter: c.q("start-after"), IsTruncated: p.truncated,
		KeyCount: len(p.objects) + len(p.prefixes), Contents: p.objects, CommonPrefixes: p.prefixes}
	if p.truncated {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(p.last))
	}
	if enc == "url" {
		res.Prefix, res.Delimiter, res.StartAfter = urlEncode(res.Prefix), urlEncode(res.Delimiter), urlEncode(res.StartAfter)
		encodeEntries(res.Contents, res.CommonPrefixes)
	}
	return writeXML(c.w, http.StatusOK, res)
}

func (s *Server) listObjectsV1(c *call) error {
	if err := c.authorize("s3:ListBucket", c.bucketARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	max, prefix, delim, enc, err := c.listParams()
	if err != nil {
		return err
	}
	marker := c.q("marker")
	var p page
	if max > 0 {
		p = b.listPage(prefix, delim, marker, max)
	}
	res := listV1Result{Name: c.bucket, Prefix: prefix, Marker: marker, Delimiter: delim, MaxKeys: max, EncodingType: enc,
		IsTruncated: p.truncated, Contents: p.objects, CommonPrefixes: p.prefixes}
	if p.truncated && delim != "" {
		res.NextMarker = p.last
	}
	if enc == "url" {
		res.Prefix, res.Delimiter, res.Marker, res.NextMarker = urlEncode(res.Prefix), urlEncode(res.Delimiter), urlEncode(res.Marker), urlEncode(res.NextMarker)
		encodeEntries(res.Contents, res.CommonPrefixes)
	}
	return writeXML(c.w, http.StatusOK, res)
}

func encodeEntries(objs []listedObject, cps []commonPrefix) {
	for i := range objs {
		objs[i].Key = urlEncode(objs[i].Key)
	}
	for i := range cps {
		cps[i].Prefix = urlEncode(cps[i].Prefix)
	}
}

// urlEncode percent-encodes all but unreserved characters and '/', as S3
// does for encoding-type=url.
func urlEncode(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type listBucketsResult struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner   owner    `xml:"Owner"`
	Buckets []struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
	} `xml:"Buckets>Bucket"`
}

func (s *Server) listBuckets(c *call) error {
	if err := c.authorize("s3:ListAllMyBuckets", "arn:aws:s3:::*"); err != nil {
		return err
	}
	res := listBucketsResult{Owner: owner{ID: "portico", DisplayName: "portico"}}
	for _, b := range s.store.list() {
		res.Buckets = append(res.Buckets, struct {
			Name         string `xml:"Name"`
			CreationDate string `xml:"CreationDate"`
		}{b.name, b.created.UTC().Format(time.RFC3339)})
	}
	return writeXML(c.w, http.StatusOK, res)
}

func (s *Server) createBucket(c *call) error {
	if err := c.authorize("s3:CreateBucket", c.bucketARN()); err != nil {
		return err
	}
	if _, err := s.readSmallBody(c, 64<<10); err != nil { // CreateBucketConfiguration, ignored
		return err
	}
	switch err := s.store.createBucket(c.bucket, s.deps.Now()); {
	case err == errBucketExists:
		return errf(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	case err != nil:
		return errInternal(err)
	}
	c.w.Header().Set("Location", "/"+c.bucket)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBucket(c *call) error {
	if err := c.authorize("s3:DeleteBucket", c.bucketARN()); err != nil {
		return err
	}
	switch err := s.store.deleteBucket(c.bucket); {
	case err == errNoBucket:
		return errNoSuchBucket(c.bucket)
	case err == errBucketNotEmpty:
		return errf(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	case err != nil:
		return errInternal(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) headBucket(c *call) error {
	if err := c.authorize("s3:ListBucket", c.bucketARN()); err != nil {
		return err
	}
	if _, err := c.getBucket(); err != nil {
		return err
	}
	c.w.Header().Set("x-amz-bucket-region", s.cfg.Region)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getBucketLocation(c *call) error {
	if err := c.authorize("s3:GetBucketLocation", c.bucketARN()); err != nil {
		return err
	}
	if _, err := c.getBucket(); err != nil {
		return err
	}
	loc := s.cfg.Region
	if loc == "us-east-1" {
		loc = ""
	}
	return writeXML(c.w, http.StatusOK, struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
		Value   string   `xml:",chardata"`
	}{Value: loc})
}

func (s *Server) getBucketVersioning(c *call) error {
	if err := c.authorize("s3:GetBucketVersioning", c.bucketARN()); err != nil {
		return err
	}
	if _, err := c.getBucket(); err != nil {
		return err
	}
	return writeXML(c.w, http.StatusOK, struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ VersioningConfiguration"`
	}{})
}
