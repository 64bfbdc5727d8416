package lambdaproxy

import (
	"github.com/portico-dev/portico/internal/integration"
)

// AppendAuthorizerEventV2 appends the payload format 2.0 event of a Lambda
// REQUEST authorizer for r to dst: the integration event of AppendEventV2
// without body and isBase64Encoded, plus type "REQUEST", routeArn and
// identitySource (the resolved identity-source values in configuration
// order; [] when the authorizer has none). requestContext.authorizer is
// written only if r.Authorizer is set, which it is not before authorization.
// The output is always valid JSON.
func AppendAuthorizerEventV2(dst []byte, r *integration.Request, routeARN string, identitySource []string) []byte {
	return appendEventV2(dst, r, &authorizerMembers{routeARN: routeARN, identitySource: identitySource})
}

// AppendAuthorizerEventV1 appends the payload format 1.0 event of a Lambda
// REQUEST authorizer for r to dst: version "1.0", type "REQUEST", methodArn,
// identitySource and authorizationToken (both the identity-source values
// joined with ","), resource, path, httpMethod, headers (lower-cased names,
// the last value of a repeated header, cookie kept), queryStringParameters
// (last value of a repeated key), pathParameters and stageVariables (null
// when empty, as in the 1.0 integration event) and requestContext (path,
// accountId, resourceId null, stage, requestId, identity {apiKey null,
// sourceIp}, resourcePath, httpMethod, apiId). There is no
// multiValueHeaders, body or isBase64Encoded. The output is always valid
// JSON.
func AppendAuthorizerEventV1(dst []byte, r *integration.Request, methodARN string, identitySource []string) []byte {
	dst = append(dst, `{"version":"1.0","type":"REQUEST","methodArn":`...)
	dst = appendString(dst, methodARN)
	dst = append(dst, `,"identitySource":"`...)
	mark := len(dst)
	for i, v := range identitySource {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendStringBody(dst, v)
	}
	joined := dst[mark:]
	dst = append(dst, `","authorizationToken":"`...)
	dst = append(dst, joined...)
	dst = append(dst, `","resource":`...)
	dst = appendString(dst, routePath(r))
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, r.RawPath)
	dst = append(dst, `,"httpMethod":`...)
	dst = appendString(dst, method(r))

	var hbuf [48]hdr
	hs := collectHeaders(hbuf[:0], r, false)
	dst = append(dst, `,"headers":{`...)
	dst = appendLastHeaders(dst, hs, r)
	dst = append(dst, '}')

	var pbuf [32]qpair
	ps := splitQuery(pbuf[:0], rawQuery(r))
	if len(ps) == 0 {
		dst = append(dst, `,"queryStringParameters":null`...)
	} else {
		dst = append(dst, `,"queryStringParameters":{`...)
		dst = appendLastQuery(dst, ps)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"pathParameters":`...)
	dst = appendStringMap(dst, r.PathParameters, true)
	dst = append(dst, `,"stageVariables":`...)
	dst = appendStringMap(dst, r.StageVariables, true)

	dst = append(dst, `,"requestContext":{"path":`...)
	dst = appendString(dst, r.RawPath)
	dst = append(dst, `,"accountId":`...)
	dst = appendString(dst, r.AccountID)
	dst = append(dst, `,"resourceId":null,"stage":`...)
	dst = appendString(dst, r.Stage)
	dst = append(dst, `,"requestId":`...)
	dst = appendString(dst, r.RequestID)
	dst = append(dst, `,"identity":{"apiKey":null,"sourceIp":`...)
	dst = appendString(dst, r.SourceIP)
	dst = append(dst, `},"resourcePath":`...)
	dst = appendString(dst, routePath(r))
	dst = append(dst, `,"httpMethod":`...)
	dst = appendString(dst, method(r))
	dst = append(dst, `,"apiId":`...)
	dst = appendString(dst, r.APIID)
	return append(dst, `}}`...)
}
