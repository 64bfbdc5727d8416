package accesslog

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/portico-dev/portico/internal/observe"
)

// varID names one $context variable.
type varID uint8

const (
	vNone varID = iota
	vRequestID
	vExtendedRequestID
	vRequestTime
	vRequestTimeEpoch
	vAPIID
	vAccountID
	vStage
	vRouteKey
	vHTTPMethod
	vPath
	vProtocol
	vDomainName
	vSourceIP
	vUserAgent
	vXrayTraceID
	vStatus
	vResponseLength
	vResponseLatency
	vIntegrationLatency
	vIntegrationDotLatency
	vIntegrationDotStatus
	vIntegrationStatus
	vIntegrationErrorMessage
	vIntegrationDotError
	vErrorMessage
	vErrorResponseType
	vAuthorizerError
	vAuthorizerLatency
	vAuthorizerPrincipalID
	vAPIKeyID
	vFunctionName
	vFunctionColdStart
	vQueueWait
	vPromptTokens
	vCompletionTokens
	vModel
)

// varNames maps each variable (without "$context.") to its ID. It is a
// read-only table; keep it equal to the names in observe.Record's comments
// (TestVariablesMatchRecord checks).
var varNames = map[string]varID{
	"requestId":               vRequestID,
	"extendedRequestId":       vExtendedRequestID,
	"requestTime":             vRequestTime,
	"requestTimeEpoch":        vRequestTimeEpoch,
	"apiId":                   vAPIID,
	"accountId":               vAccountID,
	"stage":                   vStage,
	"routeKey":                vRouteKey,
	"httpMethod":              vHTTPMethod,
	"path":                    vPath,
	"protocol":                vProtocol,
	"domainName":              vDomainName,
	"identity.sourceIp":       vSourceIP,
	"identity.userAgent":      vUserAgent,
	"xrayTraceId":             vXrayTraceID,
	"status":                  vStatus,
	"responseLength":          vResponseLength,
	"responseLatency":         vResponseLatency,
	"integrationLatency":      vIntegrationLatency,
	"integration.latency":     vIntegrationDotLatency,
	"integration.status":      vIntegrationDotStatus,
	"integrationStatus":       vIntegrationStatus,
	"integrationErrorMessage": vIntegrationErrorMessage,
	"integration.error":       vIntegrationDotError,
	"error.message":           vErrorMessage,
	"error.responseType":      vErrorResponseType,
	"authorizer.error":        vAuthorizerError,
	"authorizer.latency":      vAuthorizerLatency,
	"authorizer.principalId":  vAuthorizerPrincipalID,
	"identity.apiKeyId":       vAPIKeyID,
	"function.name":           vFunctionName,
	"function.coldStart":      vFunctionColdStart,
	"integration.queueWait":   vQueueWait,
	"ai.promptTokens":         vPromptTokens,
	"ai.completionTokens":     vCompletionTokens,
	"ai.model":                vModel,
}

func lookup(name string) (varID, bool) {
	id, ok := varNames[name]
	return id, ok
}

type kind uint8

const (
	kMissing kind = iota
	kString
	kInt
	kBool
	kCLF // a time, in Common Log Format
)

// value is one variable's value for one record.
type value struct {
	k kind
	s string
	n int64
	t time.Time
}

func str(s string) value {
	if s == "" {
		return value{}
	}
	return value{k: kString, s: s}
}

func num(n int64) value {
	if n == 0 {
		return value{}
	}
	return value{k: kInt, n: n}
}

// ms is a duration in whole milliseconds; zero means "not applicable", a
// non-zero duration under a millisecond is 0.
func ms(d time.Duration) value {
	if d == 0 {
		return value{}
	}
	return value{k: kInt, n: d.Milliseconds()}
}

func valueOf(id varID, r *observe.Record) value {
	switch id {
	case vRequestID, vExtendedRequestID:
		return str(r.RequestID)
	case vRequestTime:
		if r.Time.IsZero() {
			return value{}
		}
		return value{k: kCLF, t: r.Time}
	case vRequestTimeEpoch:
		if r.Time.IsZero() {
			return value{}
		}
		return value{k: kInt, n: r.Time.UnixMilli()}
	case vAPIID:
		return str(r.APIID)
	case vAccountID:
		return str(r.AccountID)
	case vStage:
		return str(r.Stage)
	case vRouteKey:
		return str(r.RouteKey)
	case vHTTPMethod:
		return str(r.HTTPMethod)
	case vPath:
		return str(r.Path)
	case vProtocol:
		return str(r.Protocol)
	case vDomainName:
		return str(r.DomainName)
	case vSourceIP:
		return str(r.SourceIP)
	case vUserAgent:
		return str(r.UserAgent)
	case vXrayTraceID:
		return str(r.TraceID)
	case vStatus:
		return num(int64(r.Status))
	case vResponseLength:
		return num(r.ResponseLen)
	case vResponseLatency:
		return ms(r.ResponseLatency)
	case vIntegrationLatency, vIntegrationDotLatency:
		return ms(r.IntegrationLatency)
	case vIntegrationDotStatus, vIntegrationStatus:
		return num(int64(r.IntegrationStatus))
	case vIntegrationErrorMessage, vIntegrationDotError:
		return str(r.IntegrationError)
	case vErrorMessage:
		return str(r.ErrorMessage)
	case vErrorResponseType:
		return str(r.ErrorType)
	case vAuthorizerError:
		return str(r.AuthorizerError)
	case vAuthorizerLatency:
		return ms(r.AuthorizerLatency)
	case vAuthorizerPrincipalID:
		return str(r.PrincipalID)
	case vAPIKeyID:
		return str(r.APIKeyID)
	case vFunctionName:
		return str(r.Function)
	case vFunctionColdStart:
		if r.Function == "" && !r.ColdStart {
			return value{}
		}
		return value{k: kBool, n: b2i(r.ColdStart)}
	case vQueueWait:
		return ms(r.QueueWait)
	case vPromptTokens:
		return num(r.PromptTokens)
	case vCompletionTokens:
		return num(r.CompletionTokens)
	case vModel:
		return str(r.Model)
	}
	return value{}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// clfLayout is $context.requestTime's layout; times are written in UTC.
const clfLayout = "02/Jan/2006:15:04:05 -0700"

func appendValue(dst []byte, v value, esc escape) []byte {
	switch v.k {
	case kMissing:
		if esc == escJSONBare {
			return append(dst, "null"...)
		}
		return append(dst, '-')
	case kInt:
		return strconv.AppendInt(dst, v.n, 10)
	case kBool:
		return strconv.AppendBool(dst, v.n != 0)
	case kCLF:
		if esc == escJSONBare {
			dst = append(dst, '"')
			dst = v.t.UTC().AppendFormat(dst, clfLayout)
			return append(dst, '"')
		}
		return v.t.UTC().AppendFormat(dst, clfLayout)
	}
	switch esc {
	case escJSONString:
		return appendJSONString(dst, v.s)
	case escJSONBare:
		dst = append(dst, '"')
		dst = appendJSONString(dst, v.s)
		return append(dst, '"')
	case escXML:
		return appendXML(dst, v.s)
	}
	return appendText(dst, v.s)
}

const hexDigits = "0123456789abcdef"

// appendText escapes control characters (as \n, \r, \t or \xHH), '"' and
// '\' (as \" and \\), the way web servers escape request lines in CLF.
func appendText(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		j := i
		for j < len(s) && s[j] >= 0x20 && s[j] != 0x7f && s[j] != '"' && s[j] != '\\' {
			j++
		}
		dst = append(dst, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendJSONString writes s as the contents of a JSON string (without the
// quotes). Invalid UTF-8 becomes U+FFFD; U+2028 and U+2029 are escaped so
// the line is also safe as JavaScript.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		// Copy the longest run of bytes that need no escaping at once.
		j := i
		for j < len(s) && s[j] >= 0x20 && s[j] < 0x7f && s[j] != '"' && s[j] != '\\' {
			j++
		}
		dst = append(dst, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// appendXML escapes XML's special characters; tab, line feed and carriage
// return become character references and other control characters (not
// allowed in XML 1.0) become U+FFFD.
func appendXML(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '&':
			dst = append(dst, "&amp;"...)
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '"':
			dst = append(dst, "&quot;"...)
		case '\'':
			dst = append(dst, "&apos;"...)
		case '\t':
			dst = append(dst, "&#9;"...)
		case '\n':
			dst = append(dst, "&#10;"...)
		case '\r':
			dst = append(dst, "&#13;"...)
		default:
			if c < 0x20 || c == 0x7f {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, c)
			}
		}
	}
	return dst
}

// appendDefault writes Portico's default record: one compact JSON object
// with every field of r that is set.
func appendDefault(dst []byte, r *observe.Record) []byte {
	dst = append(dst, '{')
	first := true
	key := func(dst []byte, k string) []byte {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, k...)
		return append(dst, '"', ':')
	}
	s := func(dst []byte, k, v string) []byte {
		if v == "" {
			return dst
		}
		dst = key(dst, k)
		dst = append(dst, '"')
		dst = appendJSONString(dst, v)
		return append(dst, '"')
	}
	n := func(dst []byte, k string, v int64) []byte {
		if v == 0 {
			return dst
		}
		dst = key(dst, k)
		return strconv.AppendInt(dst, v, 10)
	}
	d := func(dst []byte, k string, v time.Duration) []byte {
		if v == 0 {
			return dst
		}
		dst = key(dst, k)
		return strconv.AppendInt(dst, v.Milliseconds(), 10)
	}
	dst = s(dst, "requestId", r.RequestID)
	if !r.Time.IsZero() {
		dst = key(dst, "requestTime")
		dst = append(dst, '"')
		dst = r.Time.UTC().AppendFormat(dst, clfLayout)
		dst = append(dst, '"')
		dst = key(dst, "requestTimeEpoch")
		dst = strconv.AppendInt(dst, r.Time.UnixMilli(), 10)
	}
	dst = s(dst, "apiId", r.APIID)
	dst = s(dst, "apiName", r.APIName)
	dst = s(dst, "accountId", r.AccountID)
	dst = s(dst, "stage", r.Stage)
	dst = s(dst, "routeKey", r.RouteKey)
	dst = s(dst, "httpMethod", r.HTTPMethod)
	dst = s(dst, "path", r.Path)
	dst = s(dst, "protocol", r.Protocol)
	dst = s(dst, "domainName", r.DomainName)
	dst = s(dst, "ip", r.SourceIP)
	dst = s(dst, "userAgent", r.UserAgent)
	dst = s(dst, "xrayTraceId", r.TraceID)
	dst = n(dst, "status", int64(r.Status))
	dst = n(dst, "requestLength", r.RequestLen)
	dst = n(dst, "responseLength", r.ResponseLen)
	dst = d(dst, "responseLatency", r.ResponseLatency)
	dst = d(dst, "integrationLatency", r.IntegrationLatency)
	dst = n(dst, "integrationStatus", int64(r.IntegrationStatus))
	dst = s(dst, "integrationErrorMessage", r.IntegrationError)
	dst = s(dst, "errorMessage", r.ErrorMessage)
	dst = s(dst, "errorResponseType", r.ErrorType)
	dst = s(dst, "authorizerError", r.AuthorizerError)
	dst = d(dst, "authorizerLatency", r.AuthorizerLatency)
	dst = s(dst, "principalId", r.PrincipalID)
	dst = s(dst, "apiKeyId", r.APIKeyID)
	dst = s(dst, "functionName", r.Function)
	if r.Function != "" || r.ColdStart {
		dst = key(dst, "coldStart")
		dst = strconv.AppendBool(dst, r.ColdStart)
	}
	dst = d(dst, "queueWait", r.QueueWait)
	dst = n(dst, "promptTokens", r.PromptTokens)
	dst = n(dst, "completionTokens", r.CompletionTokens)
	dst = s(dst, "model", r.Model)
	return append(dst, '}')
}
