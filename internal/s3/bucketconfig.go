package s3

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Bucket configurations (CORS, tagging) are stored as one file each under
// s3/<bucket>/config/<name>.xml, in the form S3 returns them, written
// atomically (staged in tmp/, fsynced, renamed). The parsed CORS rules are
// cached on the bucket: they are consulted on every request that carries
// an Origin header.

func (b *bucket) configPath(name string) string {
	return filepath.Join(b.dir, "config", name+".xml")
}

// readConfig returns a stored configuration, ok false when there is none.
func (b *bucket) readConfig(name string) ([]byte, bool, error) {
	data, err := os.ReadFile(b.configPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("bucket %s: read %s configuration: %w", b.name, name, err)
	}
	return data, true, nil
}

func (b *bucket) writeConfig(name string, data []byte) error {
	dir := filepath.Join(b.dir, "config")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return diskErr("create config directory", err)
	}
	return writeFileAtomic(filepath.Join(b.dir, "tmp"), b.configPath(name), data)
}

func (b *bucket) deleteConfig(name string) error {
	err := os.Remove(b.configPath(name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("bucket %s: delete %s configuration: %w", b.name, name, err)
	}
	if err == nil {
		syncDir(filepath.Dir(b.configPath(name)))
	}
	return nil
}

// loadConfigs reads the cached configurations at start.
func (b *bucket) loadConfigs() error {
	data, ok, err := b.readConfig("cors")
	if err != nil || !ok {
		return err
	}
	cfg, err := parseCORS(data)
	if err != nil {
		return fmt.Errorf("bucket %s: stored CORS configuration: %w", b.name, err)
	}
	b.cors.Store(cfg)
	return nil
}

// tag is one S3 tag.
type tag struct {
	Key   string `xml:"Key" json:"k"`
	Value string `xml:"Value" json:"v"`
}

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Tags    []tag    `xml:"TagSet>Tag"`
}

// validTags applies S3's tag limits: at most max tags, keys 1-128 and
// values 0-256 Unicode characters, no key twice, no aws: prefix.
func validTags(tags []tag, max int) error {
	if len(tags) > max {
		return errf(400, "BadRequest", "Object tags cannot be greater than %d", max)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case t.Key == "" || utf8.RuneCountInString(t.Key) > 128:
			return errf(400, "InvalidTag", "The TagKey you have provided is invalid")
		case utf8.RuneCountInString(t.Value) > 256:
			return errf(400, "InvalidTag", "The TagValue you have provided is invalid")
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return errf(400, "InvalidTag", "Your TagKey cannot be prefixed with aws:")
		case seen[t.Key]:
			return errf(400, "InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
	}
	return nil
}

// parseTagging reads a Tagging document.
func parseTagging(body []byte, max int) ([]tag, error) {
	var t tagging
	if err := xml.Unmarshal(body, &t); err != nil || t.XMLName.Local != "Tagging" {
		return nil, errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	if err := validTags(t.Tags, max); err != nil {
		return nil, err
	}
	return t.Tags, nil
}

// tagsFromHeader parses x-amz-tagging (a URL query: k1=v1&k2=v2).
func tagsFromHeader(v string) ([]tag, error) {
	if v == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(v)
	if err != nil {
		return nil, errf(400, "InvalidArgument", "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
	}
	var tags []tag
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, errf(400, "InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		tags = append(tags, tag{Key: k, Value: vs[0]})
	}
	sortTags(tags)
	if err := validTags(tags, 10); err != nil {
		return nil, err
	}
	return tags, nil
}

func sortTags(tags []tag) {
	for i := 1; i < len(tags); i++ {
		for j := i; j > 0 && tags[j].Key < tags[j-1].Key; j-- {
			tags[j], tags[j-1] = tags[j-1], tags[j]
		}
	}
}

func (s *Server) getBucketTagging(c *call) error {
	if err := c.authorize("s3:GetBucketTagging", c.bucketARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	data, ok, err := b.readConfig("tagging")
	if err != nil {
		return errInternal(err)
	}
	if !ok {
		return errf(404, "NoSuchTagSet", "The TagSet does not exist")
	}
	return writeRawXML(c.w, data)
}

func (s *Server) putBucketTagging(c *call) error {
	if err := c.authorize("s3:PutBucketTagging", c.bucketARN()); err != nil {
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
	tags, err := parseTagging(body, 50)
	if err != nil {
		return err
	}
	out, _ := xml.Marshal(tagging{Xmlns: s3NS, Tags: tags})
	if err := b.writeConfig("tagging", out); err != nil {
		return errInternal(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteBucketTagging(c *call) error {
	if err := c.authorize("s3:PutBucketTagging", c.bucketARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	if err := b.deleteConfig("tagging"); err != nil {
		return errInternal(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// Access control lists: Portico has one owner and decides access with
// roles, so the ACL of every bucket and object is the owner's
// FULL_CONTROL, and the only ACL that may be set is that one (the canned
// "private").

type aclGrantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type accessControlPolicy struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccessControlPolicy"`
	Owner   owner    `xml:"Owner"`
	Grants  []struct {
		Grantee    aclGrantee `xml:"Grantee"`
		Permission string     `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

func ownerACL() accessControlPolicy {
	p := accessControlPolicy{Owner: owner{ID: "portico", DisplayName: "portico"}}
	p.Grants = append(p.Grants, struct {
		Grantee    aclGrantee `xml:"Grantee"`
		Permission string     `xml:"Permission"`
	}{aclGrantee{XMLNSXSI: "http://www.w3.org/2001/XMLSchema-instance", Type: "CanonicalUser", ID: "portico", DisplayName: "portico"}, "FULL_CONTROL"})
	return p
}

func (s *Server) getBucketACL(c *call) error {
	if err := c.authorize("s3:GetBucketAcl", c.bucketARN()); err != nil {
		return err
	}
	if _, err := c.getBucket(); err != nil {
		return err
	}
	return writeXML(c.w, http.StatusOK, ownerACL())
}

func (s *Server) putBucketACL(c *call) error {
	if err := c.authorize("s3:PutBucketAcl", c.bucketARN()); err != nil {
		return err
	}
	if _, err := c.getBucket(); err != nil {
		return err
	}
	return s.onlyPrivateACL(c)
}

func (s *Server) getObjectACL(c *call) error {
	if err := c.authorize("s3:GetObjectAcl", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	if _, ok := b.lookup(c.key); !ok {
		return errNoSuchKey()
	}
	return writeXML(c.w, http.StatusOK, ownerACL())
}

func (s *Server) putObjectACL(c *call) error {
	if err := c.authorize("s3:PutObjectAcl", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	if _, ok := b.lookup(c.key); !ok {
		return errNoSuchKey()
	}
	return s.onlyPrivateACL(c)
}

// onlyPrivateACL accepts the canned ACL "private" (the ACL every resource
// has) and refuses any other grant with 501.
func (s *Server) onlyPrivateACL(c *call) error {
	body, err := s.readSmallBody(c, 64<<10)
	if err != nil {
		return err
	}
	acl := c.r.Header.Get("x-amz-acl")
	for k := range c.r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-grant-") {
			acl = "grant"
		}
	}
	if (acl == "" || acl == "private") && len(body) == 0 {
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	return errf(501, "NotImplemented", "Portico's S3 store supports only the private ACL (owner FULL_CONTROL); access is granted by roles (see docs/storage.md).")
}

type versioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Status    string   `xml:"Status"`
	MFADelete string   `xml:"MfaDelete"`
}

// putBucketVersioning refuses to enable versioning (501): buckets are never
// versioned. Suspended is what an unversioned bucket already does with new
// writes, so it is accepted and changes nothing (GetBucketVersioning keeps
// answering "never enabled").
func (s *Server) putBucketVersioning(c *call) error {
	if err := c.authorize("s3:PutBucketVersioning", c.bucketARN()); err != nil {
		return err
	}
	if _, err := c.getBucket(); err != nil {
		return err
	}
	body, err := s.readSmallBody(c, 64<<10)
	if err != nil {
		return err
	}
	var v versioningConfiguration
	if err := xml.Unmarshal(body, &v); err != nil {
		return errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	switch {
	case v.Status == "Enabled" || v.MFADelete == "Enabled":
		return errf(501, "NotImplemented", "Portico's S3 store does not keep object versions; versioning cannot be enabled (see docs/storage.md).")
	case v.Status == "Suspended" || v.Status == "":
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	return errf(400, "IllegalVersioningConfigurationException", "The Versioning element must be specified")
}

func writeRawXML(w http.ResponseWriter, body []byte) error {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	w.Write(body)
	return nil
}
