package s3

import "net/http"

// op serves one S3 operation.
type op func(s *Server, c *call) error

// subresource is one row of the sub-resource table: a query parameter that
// names what a request addresses (?cors, ?tagging, ?uploadId, ...), on a
// bucket (object false) or an object, for one method ("*": any method). A
// nil serve answers 501 NotImplemented.
type subresource struct {
	name   string
	object bool
	method string
	serve  op
}

const anyMethod = "*"

// subresources is every sub-resource S3 knows, one line per sub-resource and
// method: a request carrying one of these query parameters is served by its
// row (or refused with 501 NotImplemented, or 405 when the sub-resource
// exists but not for this method), never mistaken for a plain bucket or
// object operation. Adding an operation is adding (or replacing) one line.
var subresources = []subresource{
	// Bucket sub-resources.
	{"location", false, http.MethodGet, (*Server).getBucketLocation},
	{"versioning", false, http.MethodGet, (*Server).getBucketVersioning},
	{"versioning", false, http.MethodPut, (*Server).putBucketVersioning},
	{"uploads", false, http.MethodGet, (*Server).listMultipartUploads},
	{"delete", false, http.MethodPost, (*Server).deleteObjects},
	{"cors", false, http.MethodGet, (*Server).getBucketCORS},
	{"cors", false, http.MethodPut, (*Server).putBucketCORS},
	{"cors", false, http.MethodDelete, (*Server).deleteBucketCORS},
	{"tagging", false, http.MethodGet, (*Server).getBucketTagging},
	{"tagging", false, http.MethodPut, (*Server).putBucketTagging},
	{"tagging", false, http.MethodDelete, (*Server).deleteBucketTagging},
	{"acl", false, http.MethodGet, (*Server).getBucketACL},
	{"acl", false, http.MethodPut, (*Server).putBucketACL},
	{"notification", false, http.MethodGet, (*Server).getBucketNotification},
	{"notification", false, http.MethodPut, (*Server).putBucketNotification},
	{"policy", false, anyMethod, nil},
	{"policyStatus", false, anyMethod, nil},
	{"lifecycle", false, anyMethod, nil},
	{"replication", false, anyMethod, nil},
	{"website", false, anyMethod, nil},
	{"logging", false, anyMethod, nil},
	{"encryption", false, anyMethod, nil},
	{"object-lock", false, anyMethod, nil},
	{"accelerate", false, anyMethod, nil},
	{"analytics", false, anyMethod, nil},
	{"inventory", false, anyMethod, nil},
	{"metrics", false, anyMethod, nil},
	{"intelligent-tiering", false, anyMethod, nil},
	{"ownershipControls", false, anyMethod, nil},
	{"publicAccessBlock", false, anyMethod, nil},
	{"requestPayment", false, anyMethod, nil},
	{"metadataTable", false, anyMethod, nil},
	{"metadataConfiguration", false, anyMethod, nil},
	{"versions", false, anyMethod, nil},
	{"session", false, anyMethod, nil},
	// Object sub-resources.
	{"uploads", true, http.MethodPost, (*Server).createMultipartUpload},
	{"uploadId", true, http.MethodPut, (*Server).uploadPartOrCopy},
	{"uploadId", true, http.MethodGet, (*Server).listParts},
	{"uploadId", true, http.MethodPost, (*Server).completeMultipartUpload},
	{"uploadId", true, http.MethodDelete, (*Server).abortMultipartUpload},
	{"tagging", true, http.MethodGet, (*Server).getObjectTagging},
	{"tagging", true, http.MethodPut, (*Server).putObjectTagging},
	{"tagging", true, http.MethodDelete, (*Server).deleteObjectTagging},
	{"acl", true, http.MethodGet, (*Server).getObjectACL},
	{"acl", true, http.MethodPut, (*Server).putObjectACL},
	{"retention", true, anyMethod, nil},
	{"legal-hold", true, anyMethod, nil},
	{"torrent", true, anyMethod, nil},
	{"attributes", true, anyMethod, nil},
	{"restore", true, anyMethod, nil},
	{"select", true, anyMethod, nil},
	{"renameObject", true, anyMethod, nil},
}

// routeSubresource finds the operation for a request that names a
// sub-resource. ok is false when the query names none (a plain bucket or
// object operation). The first sub-resource of the table found in the query
// decides.
func routeSubresource(c *call) (serve op, name string, ok bool) {
	q := c.r.URL.Query()
	for _, sr := range subresources {
		if sr.object != c.hasKey {
			continue
		}
		if _, present := q[sr.name]; !present {
			continue
		}
		return matchSubresource(sr.name, sr.object, c.r.Method)
	}
	return nil, "", false
}

// matchSubresource returns the row's operation for method: 501 when the
// sub-resource is not implemented, 405 when it is known but not for this
// method.
func matchSubresource(name string, object bool, method string) (op, string, bool) {
	known := false
	for _, sr := range subresources {
		if sr.name != name || sr.object != object {
			continue
		}
		known = true
		if sr.method == method || sr.method == anyMethod {
			if sr.serve == nil {
				return notImplemented, name, true
			}
			return sr.serve, name, true
		}
	}
	if known {
		return methodNotAllowed, name, true
	}
	return nil, "", false
}

func notImplemented(s *Server, c *call) error {
	name, _, _ := firstSubresource(c)
	return errf(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented: %s (Portico's S3 store; see docs/storage.md).", "?"+name)
}

func methodNotAllowed(s *Server, c *call) error {
	return errf(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
}

// firstSubresource is the sub-resource a request names, for messages.
func firstSubresource(c *call) (string, bool, bool) {
	q := c.r.URL.Query()
	for _, sr := range subresources {
		if _, ok := q[sr.name]; ok && sr.object == c.hasKey {
			return sr.name, sr.object, true
		}
	}
	return "", false, false
}
