package lambdaproxy

import (
	"encoding/base64"
	"strconv"

	"github.com/portico-dev/portico/internal/integration"
)

// AppendEventV2 appends the payload format 2.0 event for r to dst and returns
// the extended buffer. The output is always valid JSON, whatever bytes r
// holds. Members and their rules are listed in docs/lambda-proxy.md:
// cookies, queryStringParameters, pathParameters, stageVariables, body and
// requestContext.authorizer are omitted when empty; headers are lower-cased
// with repeated values joined by ","; the cookie header moves to cookies;
// x-forwarded-for/-port/-proto and x-amzn-trace-id are added.
//
// It does not allocate for typical requests beyond growing dst.
func AppendEventV2(dst []byte, r *integration.Request) []byte {
	return appendEventV2(dst, r, nil)
}

// authorizerMembers are the members a Lambda authorizer's 2.0 event has on
// top of the integration event's.
type authorizerMembers struct {
	routeARN       string
	identitySource []string
}

// appendEventV2 appends the integration event (auth nil) or, with auth, the
// Lambda authorizer event: type, routeArn and identitySource added after
// version, body and isBase64Encoded left out.
func appendEventV2(dst []byte, r *integration.Request, auth *authorizerMembers) []byte {
	dst = append(dst, `{"version":"2.0",`...)
	if auth != nil {
		dst = append(dst, `"type":"REQUEST","routeArn":`...)
		dst = appendString(dst, auth.routeARN)
		dst = append(dst, `,"identitySource":`...)
		if len(auth.identitySource) == 0 {
			dst = append(dst, "[]"...)
		} else {
			dst = appendStringSlice(dst, auth.identitySource)
		}
		dst = append(dst, ',')
	}
	dst = append(dst, `"routeKey":`...)
	dst = appendString(dst, r.RouteKey)
	dst = append(dst, `,"rawPath":`...)
	dst = appendString(dst, r.RawPath)
	dst = append(dst, `,"rawQueryString":`...)
	rq := rawQuery(r)
	dst = appendString(dst, rq)

	// cookies
	first := true
	forEachCookie(r.HTTP, func(c string) {
		if first {
			dst = append(dst, `,"cookies":[`...)
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = appendString(dst, c)
	})
	if !first {
		dst = append(dst, ']')
	}

	// headers
	var hbuf [48]hdr
	hs := collectHeaders(hbuf[:0], r, true)
	dst = append(dst, `,"headers":{`...)
	for i := range hs {
		h := &hs[i]
		if i > 0 && compareFold(hs[i-1].name, h.name) == 0 {
			// Same name in another case: continue the previous value.
			dst = dst[:len(dst)-1] // drop the closing quote
			dst = append(dst, ',')
		} else {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = appendLower(dst, h.name)
			dst = append(dst, `":"`...)
		}
		dst = appendHeaderValues(dst, h, r, ",")
		dst = append(dst, '"')
	}
	dst = append(dst, '}')

	// queryStringParameters
	if rq != "" {
		var pbuf [32]qpair
		ps := splitQuery(pbuf[:0], rq)
		if len(ps) > 0 {
			dst = append(dst, `,"queryStringParameters":{`...)
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
				dst = append(dst, '"')
				dst = appendQueryValue(dst, ps[i].raw)
				for j := i + 1; j < len(ps); j++ {
					if ps[j].key == ps[i].key {
						dst = append(dst, ',')
						dst = appendQueryValue(dst, ps[j].raw)
					}
				}
				dst = append(dst, '"')
			}
			dst = append(dst, '}')
		}
	}

	if len(r.PathParameters) > 0 {
		dst = append(dst, `,"pathParameters":`...)
		dst = appendStringMap(dst, r.PathParameters, false)
	}
	if len(r.StageVariables) > 0 {
		dst = append(dst, `,"stageVariables":`...)
		dst = appendStringMap(dst, r.StageVariables, false)
	}

	// requestContext
	dst = append(dst, `,"requestContext":{"accountId":`...)
	dst = appendString(dst, r.AccountID)
	dst = append(dst, `,"apiId":`...)
	dst = appendString(dst, r.APIID)
	if r.ClientCert != nil {
		dst = appendAuthentication(dst, r.ClientCert)
	}
	if r.Authorizer != nil {
		dst = append(dst, `,"authorizer":`...)
		dst = appendAuthorizerV2(dst, r.Authorizer)
	}
	dst = append(dst, `,"domainName":`...)
	dst = appendString(dst, r.DomainName)
	dst = append(dst, `,"domainPrefix":`...)
	dst = appendString(dst, domainPrefix(r.DomainName))
	dst = append(dst, `,"http":{"method":`...)
	dst = appendString(dst, method(r))
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, r.RawPath)
	dst = append(dst, `,"protocol":"`...)
	dst = append(dst, integration.Protocol(r.HTTP)...)
	dst = append(dst, `","sourceIp":`...)
	dst = appendString(dst, r.SourceIP)
	dst = append(dst, `,"userAgent":`...)
	dst = appendString(dst, userAgent(r))
	dst = append(dst, `},"requestId":`...)
	dst = appendString(dst, r.RequestID)
	dst = append(dst, `,"routeKey":`...)
	dst = appendString(dst, r.RouteKey)
	dst = append(dst, `,"stage":`...)
	dst = appendString(dst, r.Stage)
	dst = append(dst, `,"time":"`...)
	dst = r.Time.UTC().AppendFormat(dst, clfTime)
	dst = append(dst, `","timeEpoch":`...)
	dst = strconv.AppendInt(dst, r.Time.UnixMilli(), 10)
	dst = append(dst, '}')
	if auth != nil {
		return append(dst, '}')
	}

	// body
	if len(r.Body) > 0 {
		dst = append(dst, `,"body":`...)
		if bodyIsText(r) {
			dst = appendString(dst, r.Body)
			dst = append(dst, `,"isBase64Encoded":false}`...)
		} else {
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, r.Body)
			dst = append(dst, `","isBase64Encoded":true}`...)
		}
		return dst
	}
	return append(dst, `,"isBase64Encoded":false}`...)
}

// appendAuthorizerV2 appends requestContext.authorizer of payload 2.0:
// {"jwt":{"claims":{...},"scopes":[...]|null}}, {"lambda":{...}} or
// {"iam":{...}}.
func appendAuthorizerV2(dst []byte, a *integration.Authorizer) []byte {
	dst = append(dst, '{')
	n := 0
	sep := func() {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
	}
	if a.JWT != nil {
		sep()
		dst = append(dst, `"jwt":{"claims":`...)
		dst = appendStringMap(dst, a.JWT.Claims, false)
		dst = append(dst, `,"scopes":`...)
		if len(a.JWT.Scopes) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = appendStringSlice(dst, a.JWT.Scopes)
		}
		dst = append(dst, '}')
	}
	if a.Lambda != nil || (a.PrincipalID != "" && a.IAM == nil && a.JWT == nil) {
		sep()
		dst = append(dst, `"lambda":`...)
		ctx := a.Lambda
		if _, ok := ctx["principalId"]; a.PrincipalID != "" && !ok {
			ctx = make(map[string]any, len(a.Lambda)+1)
			for k, v := range a.Lambda {
				ctx[k] = v
			}
			ctx["principalId"] = a.PrincipalID
		}
		dst = appendAnyMap(dst, ctx)
	}
	if a.IAM != nil {
		sep()
		dst = append(dst, `"iam":`...)
		dst = appendAnyMap(dst, a.IAM)
	}
	return append(dst, '}')
}
