package s3

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"

	"github.com/portico-dev/portico/internal/sigv4"
)

// apiError is an S3 error response: an HTTP status and S3's error code.
type apiError struct {
	Status  int
	Code    string
	Message string
	cause   error // log only
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return e.Code + ": " + e.Message
}

func (e *apiError) Unwrap() error { return e.cause }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func errNoSuchBucket(b string) *apiError {
	return errf(404, "NoSuchBucket", "The specified bucket does not exist")
}
func errNoSuchKey() *apiError { return errf(404, "NoSuchKey", "The specified key does not exist.") }
func errAccessDenied() *apiError {
	return errf(403, "AccessDenied", "Access Denied")
}
func errInternal(cause error) *apiError {
	if errors.Is(cause, errNoSpace) {
		return &apiError{Status: http.StatusInsufficientStorage, Code: "InsufficientStorage",
			Message: "The disk holding Portico's data directory is full; nothing was stored.", cause: cause}
	}
	return &apiError{Status: 500, Code: "InternalError", Message: "We encountered an internal error. Please try again.", cause: cause}
}

// authError maps a sigv4 verification error to S3's code.
func authError(err error) *apiError {
	e := &apiError{Status: 403, cause: err}
	switch {
	case errors.Is(err, sigv4.ErrMissingAuth):
		e.Code, e.Message = "AccessDenied", "Anonymous access is not allowed; sign the request with SigV4."
	case errors.Is(err, sigv4.ErrUnknownKey):
		e.Code, e.Message = "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	case errors.Is(err, sigv4.ErrSignatureMismatch):
		e.Code, e.Message = "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	case errors.Is(err, sigv4.ErrTimeSkewed):
		e.Code, e.Message = "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
	case errors.Is(err, sigv4.ErrExpired):
		e.Code, e.Message = "AccessDenied", "Request has expired"
	case errors.Is(err, sigv4.ErrSessionToken):
		e.Code, e.Message = "InvalidToken", "The provided token is malformed or otherwise invalid."
		e.Status = 400
	case errors.Is(err, sigv4.ErrPayloadMismatch):
		e.Code, e.Message = "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."
		e.Status = 400
	default:
		e.Code, e.Message = "AuthorizationHeaderMalformed", err.Error()
		e.Status = 400
	}
	return e
}

type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// writeError renders err as S3's XML error (no body for HEAD).
func writeError(w http.ResponseWriter, r *http.Request, reqID string, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = errInternal(err)
	}
	h := w.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Content-Length", "Content-Range", "Accept-Ranges"} {
		h.Del(k)
	}
	if e.Status == http.StatusNotModified {
		w.WriteHeader(e.Status)
		return
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	body, _ := xml.Marshal(errorBody{Code: e.Code, Message: e.Message, Resource: r.URL.Path, RequestID: reqID})
	h.Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}
