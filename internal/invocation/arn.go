package invocation

import (
	"regexp"
	"strings"
)

// FunctionRef is a parsed FunctionName parameter of the Invoke API.
type FunctionRef struct {
	Region, Account, Name, Qualifier string
}

// functionNamePattern is the Invoke API's FunctionName constraint: a name,
// a partial ARN (ACCOUNT:function:NAME) or a full ARN, optionally followed
// by :QUALIFIER.
var functionNamePattern = regexp.MustCompile(`^(?:arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$`)

// ParseFunctionName splits a FunctionName parameter (a name, a partial ARN
// ACCOUNT:function:NAME or a full ARN, optionally with :QUALIFIER) into its
// parts; ok is false when it matches none of the accepted forms.
func ParseFunctionName(s string) (ref FunctionRef, ok bool) {
	m := functionNamePattern.FindStringSubmatch(s)
	if m == nil {
		return FunctionRef{}, false
	}
	// "ACCOUNT:function:NAME" needs the "function:" part; a bare
	// "123456789012:x" is a name with a qualifier.
	if m[2] != "" && !strings.Contains(s, ":function:") {
		return FunctionRef{}, false
	}
	return FunctionRef{Region: m[1], Account: m[2], Name: m[3], Qualifier: m[4]}, true
}

// FunctionARN is the unqualified ARN of a function:
// arn:aws:lambda:REGION:ACCOUNT:function:NAME.
func FunctionARN(region, account, name string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + name
}

// InvokeResourceARN is the resource IAM evaluates an Invoke of
// functionName (a name, a partial or a full ARN, optionally with
// :QUALIFIER) against, qualifier being the Qualifier parameter: the
// function's ARN in region and account (unless the ARN names others),
// qualified when a qualifier is given, as Lambda does. ok is false when
// functionName is no valid FunctionName.
func InvokeResourceARN(region, account, functionName, qualifier string) (arn string, ok bool) {
	ref, ok := ParseFunctionName(functionName)
	if !ok {
		return "", false
	}
	if ref.Region != "" {
		region = ref.Region
	}
	if ref.Account != "" {
		account = ref.Account
	}
	arn = FunctionARN(region, account, ref.Name)
	if ref.Qualifier != "" {
		qualifier = ref.Qualifier
	}
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return arn, true
}
