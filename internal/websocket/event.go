package websocket

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"sort"
	"time"
)

// Event is the event an AWS_PROXY integration of a WebSocket API
// receives, field for field as AWS sends it: headers and query string on
// $connect (and the headers AWS keeps on $disconnect), body on messages.
type Event struct {
	Headers                         map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders,omitempty"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters,omitempty"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters,omitempty"`
	RequestContext                  RequestContext      `json:"requestContext"`
	Body                            *string             `json:"body,omitempty"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
	StageVariables                  map[string]string   `json:"stageVariables,omitempty"`
}

// RequestContext is the event's requestContext.
type RequestContext struct {
	RouteKey             string         `json:"routeKey"`
	MessageID            string         `json:"messageId,omitempty"`
	DisconnectStatusCode *int           `json:"disconnectStatusCode,omitempty"`
	EventType            string         `json:"eventType"`
	ExtendedRequestID    string         `json:"extendedRequestId"`
	RequestTime          string         `json:"requestTime"`
	MessageDirection     string         `json:"messageDirection"`
	DisconnectReason     *string        `json:"disconnectReason,omitempty"`
	Stage                string         `json:"stage"`
	ConnectedAt          int64          `json:"connectedAt"`
	RequestTimeEpoch     int64          `json:"requestTimeEpoch"`
	Authorizer           map[string]any `json:"authorizer,omitempty"`
	Identity             Identity       `json:"identity"`
	RequestID            string         `json:"requestId"`
	DomainName           string         `json:"domainName"`
	ConnectionID         string         `json:"connectionId"`
	APIID                string         `json:"apiId"`
}

// Identity is requestContext.identity.
type Identity struct {
	// AccessKey to UserARN identify an AWS_IAM caller of $connect.
	AccessKey string `json:"accessKey,omitempty"`
	AccountID string `json:"accountId,omitempty"`
	Caller    string `json:"caller,omitempty"`
	User      string `json:"user,omitempty"`
	UserARN   string `json:"userArn,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	SourceIP  string `json:"sourceIp"`
}

// Event types.
const (
	EventConnect    = "CONNECT"
	EventMessage    = "MESSAGE"
	EventDisconnect = "DISCONNECT"
)

// clfTime is requestContext.requestTime's layout.
const clfTime = "02/Jan/2006:15:04:05 -0700"

// newID is an id as API Gateway's connection, request and message ids
// look: 16 characters of base64 ending in "=".
func newID() string {
	var b [11]byte
	rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

// context returns the requestContext common to a connection's events.
func (c *Conn) context(routeKey, eventType string, now time.Time) RequestContext {
	id := newID()
	ident := Identity{SourceIP: c.sourceIP}
	if c.identity != nil {
		ident = *c.identity
		ident.SourceIP = c.sourceIP
	}
	return RequestContext{Authorizer: c.authorizer,
		RouteKey: routeKey, EventType: eventType, ExtendedRequestID: id, RequestID: id,
		RequestTime: now.UTC().Format(clfTime), MessageDirection: "IN", Stage: c.Stage,
		ConnectedAt: c.connectedAt.UnixMilli(), RequestTimeEpoch: now.UnixMilli(),
		Identity: ident, DomainName: c.domainName, ConnectionID: c.ID, APIID: c.APIID,
	}
}

// connectEvent is the $connect event: the upgrade request's headers and
// query string.
func (c *Conn) connectEvent(r *http.Request, now time.Time, vars map[string]string) *Event {
	e := &Event{RequestContext: c.context("$connect", EventConnect, now), StageVariables: vars}
	e.RequestContext.Identity.UserAgent = r.UserAgent()
	h := r.Header.Clone()
	var spelt map[string]string
	if c.h.deps.HeaderNames != nil {
		if names := c.h.deps.HeaderNames(r); names != nil {
			spelt = make(map[string]string, len(names))
			for _, n := range names {
				if k := http.CanonicalHeaderKey(n); spelt[k] == "" {
					spelt[k] = n
				}
			}
		}
	}
	// API Gateway's own headers, in its spelling.
	for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port"} {
		delete(spelt, k)
	}
	h.Set("X-Forwarded-For", c.sourceIP)
	h.Set("X-Forwarded-Proto", "http")
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		h.Set("X-Forwarded-Port", port)
	}
	e.Headers, e.MultiValueHeaders = headers(h, r.Host, spelt)
	if q := r.URL.Query(); len(q) > 0 {
		e.QueryStringParameters, e.MultiValueQueryStringParameters = query(q)
	}
	return e
}

// messageEvent is a message's event; binary messages arrive base64-encoded.
func (c *Conn) messageEvent(routeKey string, data []byte, binary bool, now time.Time, vars map[string]string) *Event {
	e := &Event{RequestContext: c.context(routeKey, EventMessage, now), StageVariables: vars, IsBase64Encoded: binary}
	e.RequestContext.MessageID = newID()
	body := string(data)
	if binary {
		body = base64.StdEncoding.EncodeToString(data)
	}
	e.Body = &body
	return e
}

// disconnectEvent is the $disconnect event with the close status and
// reason; AWS keeps the Host and X-Forwarded-For headers.
func (c *Conn) disconnectEvent(code int, reason string, now time.Time, vars map[string]string) *Event {
	e := &Event{RequestContext: c.context("$disconnect", EventDisconnect, now), StageVariables: vars}
	e.RequestContext.DisconnectStatusCode, e.RequestContext.DisconnectReason = &code, &reason
	e.RequestContext.Identity.UserAgent = c.userAgent
	h := http.Header{}
	h.Set("X-Forwarded-For", c.sourceIP)
	e.Headers, e.MultiValueHeaders = headers(h, c.domainName, nil)
	return e
}

// headers flattens h as API Gateway does for WebSocket events: the names
// as the client spelt them (spelt maps a canonical name to that spelling;
// canonical names where it has none), the last value in headers, all
// values in multiValueHeaders, Host included.
func headers(h http.Header, host string, spelt map[string]string) (map[string]string, map[string][]string) {
	hostName := "Host"
	if s := spelt["Host"]; s != "" {
		hostName = s
	}
	one, all := map[string]string{hostName: host}, map[string][]string{hostName: {host}}
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		k = http.CanonicalHeaderKey(k)
		if s := spelt[k]; s != "" {
			k = s
		}
		one[k], all[k] = vs[len(vs)-1], append([]string(nil), vs...)
	}
	return one, all
}

func query(q url.Values) (map[string]string, map[string][]string) {
	one, all := map[string]string{}, map[string][]string{}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := q[k]
		one[k], all[k] = vs[len(vs)-1], vs
	}
	return one, all
}

// integrationResponse is what the function returned, as API Gateway reads
// a Lambda proxy response on a WebSocket route.
type integrationResponse struct {
	StatusCode      *int              `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            *string           `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// decodeResponse reads a function's result. A result that is not a proxy
// response object (a bare string, a number, null) counts as status 200
// with the result's JSON text as body.
func decodeResponse(payload []byte) integrationResponse {
	var out integrationResponse
	if err := json.Unmarshal(payload, &out); err != nil || (out.StatusCode == nil && out.Body == nil) {
		var s string
		body := string(payload)
		if json.Unmarshal(payload, &s) == nil {
			body = s
		}
		if body == "null" || body == "" {
			return integrationResponse{}
		}
		return integrationResponse{Body: &body}
	}
	if out.IsBase64Encoded && out.Body != nil {
		if b, err := base64.StdEncoding.DecodeString(*out.Body); err == nil {
			s := string(b)
			out.Body = &s
		}
	}
	return out
}

func (r integrationResponse) status() int {
	if r.StatusCode == nil {
		return http.StatusOK
	}
	return *r.StatusCode
}
