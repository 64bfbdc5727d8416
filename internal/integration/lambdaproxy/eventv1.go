package lambdaproxy

import (
	"encoding/base64"
	"slices"
	"strconv"

	"github.com/portico-dev/portico/internal/integration"
)

// AppendEventV1 appends the payload format 1.0 event for r to dst and returns
// the extended buffer. The output is always valid JSON. Unlike 2.0, empty
// members are null rather than omitted, the cookie header stays in headers,
// and every header and query parameter is also given with all its values in
// multiValueHeaders / multiValueQueryStringParameters; the single-value maps
// hold the last value. See docs/lambda-proxy.md.
func AppendEventV1(dst []byte, r *integration.Request) []byte {
	dst = append(dst, `{"version":"1.0","resource":`...)
	dst = appendString(dst, routePath(r))
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, r.RawPath)
	dst = append(dst, `,"httpMethod":`...)
	dst = appendString(dst, method(r))

	var hbuf [48]hdr
	hs := collectHeaders(hbuf[:0], r, false)
	// headers: one value per name, the last one.
	dst = append(dst, `,"headers":{`...)
	dst = appendLastHeaders(dst, hs, r)
	// multiValueHeaders: every value.
	dst = append(dst, `},"multiValueHeaders":{`...)
	for i := range hs {
		h := &hs[i]
		if i > 0 && compareFold(hs[i-1].name, h.name) == 0 {
			dst = dst[:len(dst)-1] // reopen the previous array
		} else {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = appendLower(dst, h.name)
			dst = append(dst, `":[`...)
		}
		if h.kind == hdrPlain {
			for j, v := range h.vals {
				if j > 0 || dst[len(dst)-1] != '[' {
					dst = append(dst, ',')
				}
				dst = appendString(dst, v)
			}
		} else {
			if dst[len(dst)-1] != '[' {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = appendHeaderValues(dst, h, r, ",")
			dst = append(dst, '"')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, '}')

	// query parameters
	var pbuf [32]qpair
	ps := splitQuery(pbuf[:0], rawQuery(r))
	if len(ps) == 0 {
		dst = append(dst, `,"queryStringParameters":null,"multiValueQueryStringParameters":null`...)
	} else {
		dst = append(dst, `,"queryStringParameters":{`...)
		dst = appendLastQuery(dst, ps)
		dst = append(dst, `},"multiValueQueryStringParameters":{`...)
		n := 0
		for i := range ps {
			if !firstIndex(ps, i) {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = appendKey(dst, ps[i].key)
			dst = append(dst, '[')
			for j := i; j < len(ps); j++ {
				if ps[j].key != ps[i].key {
					continue
				}
				if j > i {
					dst = append(dst, ',')
				}
				dst = append(dst, '"')
				dst = appendQueryValue(dst, ps[j].raw)
				dst = append(dst, '"')
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}

	// requestContext
	dst = append(dst, `,"requestContext":{"accountId":`...)
	dst = appendString(dst, r.AccountID)
	dst = append(dst, `,"apiId":`...)
	dst = appendString(dst, r.APIID)
	dst = append(dst, `,"authorizer":`...)
	dst = appendAuthorizerV1(dst, r.Authorizer)
	dst = append(dst, `,"domainName":`...)
	dst = appendString(dst, r.DomainName)
	dst = append(dst, `,"domainPrefix":`...)
	dst = appendString(dst, domainPrefix(r.DomainName))
	dst = append(dst, `,"extendedRequestId":`...)
	dst = appendString(dst, r.RequestID)
	dst = append(dst, `,"httpMethod":`...)
	dst = appendString(dst, method(r))
	dst = append(dst, `,"identity":`...)
	dst = appendIdentityV1(dst, r)
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, r.RawPath)
	dst = append(dst, `,"protocol":"`...)
	dst = append(dst, integration.Protocol(r.HTTP)...)
	dst = append(dst, `","requestId":`...)
	dst = appendString(dst, r.RequestID)
	dst = append(dst, `,"requestTime":"`...)
	dst = r.Time.UTC().AppendFormat(dst, clfTime)
	dst = append(dst, `","requestTimeEpoch":`...)
	dst = strconv.AppendInt(dst, r.Time.UnixMilli(), 10)
	dst = append(dst, `,"resourceId":null,"resourcePath":`...)
	dst = appendString(dst, routePath(r))
	dst = append(dst, `,"stage":`...)
	dst = appendString(dst, r.Stage)
	dst = append(dst, '}')

	dst = append(dst, `,"pathParameters":`...)
	dst = appendStringMap(dst, r.PathParameters, true)
	dst = append(dst, `,"stageVariables":`...)
	dst = appendStringMap(dst, r.StageVariables, true)

	if len(r.Body) == 0 {
		return append(dst, `,"body":null,"isBase64Encoded":false}`...)
	}
	dst = append(dst, `,"body":`...)
	if bodyIsText(r) {
		dst = appendString(dst, r.Body)
		return append(dst, `,"isBase64Encoded":false}`...)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, r.Body)
	return append(dst, `","isBase64Encoded":true}`...)
}

// appendAuthorizerV1 appends requestContext.authorizer of payload 1.0: JWT
// claims and scopes ({"claims":null,"scopes":null} without a JWT
// authorizer, as AWS's sample shows), or a Lambda authorizer's context
// flattened with values stringified, plus principalId when set.
func appendAuthorizerV1(dst []byte, a *integration.Authorizer) []byte {
	switch {
	case a != nil && a.JWT != nil:
		dst = append(dst, `{"claims":`...)
		dst = appendStringMap(dst, a.JWT.Claims, false)
		dst = append(dst, `,"scopes":`...)
		if len(a.JWT.Scopes) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = appendStringSlice(dst, a.JWT.Scopes)
		}
		return append(dst, '}')
	case a != nil && (a.Lambda != nil || a.PrincipalID != ""):
		ctx := a.Lambda
		if _, ok := ctx["principalId"]; a.PrincipalID != "" && !ok {
			ctx = make(map[string]any, len(a.Lambda)+1)
			for k, v := range a.Lambda {
				ctx[k] = v
			}
			ctx["principalId"] = a.PrincipalID
		}
		var sbuf [16]string
		keys := sbuf[:0]
		for k := range ctx {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendKey(dst, k)
			dst = appendStringified(dst, ctx[k])
		}
		return append(dst, '}')
	}
	return append(dst, `{"claims":null,"scopes":null}`...)
}

// appendIdentityV1 appends requestContext.identity. Fields API Gateway has
// no value for are null; AWS_IAM callers fill the IAM ones.
func appendIdentityV1(dst []byte, r *integration.Request) []byte {
	var iam map[string]any
	if r.Authorizer != nil {
		iam = r.Authorizer.IAM
	}
	cognito, _ := iam["cognitoIdentity"].(map[string]any)
	field := func(key string, v any) {
		dst = appendKey(dst, key)
		if s, ok := v.(string); ok {
			dst = appendString(dst, s)
		} else {
			dst = append(dst, "null"...)
		}
		dst = append(dst, ',')
	}
	dst = append(dst, '{')
	field("accessKey", iam["accessKey"])
	field("accountId", iam["accountId"])
	field("caller", iam["callerId"])
	field("cognitoAuthenticationProvider", nil)
	field("cognitoAuthenticationType", nil)
	field("cognitoIdentityId", cognito["identityId"])
	field("cognitoIdentityPoolId", cognito["identityPoolId"])
	field("principalOrgId", iam["principalOrgId"])
	field("sourceIp", r.SourceIP)
	field("user", iam["userId"])
	field("userAgent", userAgent(r))
	field("userArn", iam["userArn"])
	if r.ClientCert != nil {
		dst = appendKey(dst, "clientCert")
		dst = append(appendClientCert(dst, r.ClientCert), ',')
	}
	dst[len(dst)-1] = '}'
	return dst
}

// appendLastHeaders appends the members of a 1.0 "headers" object: one
// value per name, the last one. hs is sorted by name.
func appendLastHeaders(dst []byte, hs []hdr, r *integration.Request) []byte {
	for i := range hs {
		if i+1 < len(hs) && compareFold(hs[i+1].name, hs[i].name) == 0 {
			continue // a later entry of the same name holds the last value
		}
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		h := &hs[i]
		dst = append(dst, '"')
		dst = appendLower(dst, h.name)
		dst = append(dst, `":"`...)
		if h.kind == hdrPlain && len(h.vals) > 1 {
			dst = appendStringBody(dst, h.vals[len(h.vals)-1])
		} else {
			dst = appendHeaderValues(dst, h, r, ",")
		}
		dst = append(dst, '"')
	}
	return dst
}

// appendLastQuery appends the members of a 1.0 "queryStringParameters"
// object: one value per key, the last one.
func appendLastQuery(dst []byte, ps []qpair) []byte {
	n := 0
	for i := range ps {
		if !firstIndex(ps, i) {
			continue
		}
		last := i
		for j := i + 1; j < len(ps); j++ {
			if ps[j].key == ps[i].key {
				last = j
			}
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = appendKey(dst, ps[i].key)
		dst = append(dst, '"')
		dst = appendQueryValue(dst, ps[last].raw)
		dst = append(dst, '"')
	}
	return dst
}
