package lambda

import "net/http"

// WriteError renders err in Lambda's rest-json error shape, as the Invoke
// API does: a *ServiceError with its status and type, anything else a 500
// ServiceException. The management API (internal/control) answers with it.
func WriteError(w http.ResponseWriter, err error) { writeServiceError(w, err) }

// ParseFunctionName splits a FunctionName parameter (a name, a partial ARN
// ACCOUNT:function:NAME or a full ARN, optionally with :QUALIFIER) into the
// name and the qualifier; ok is false when it matches none of the forms.
func ParseFunctionName(s string) (name, qualifier string, ok bool) {
	ref, ok := parseFunctionName(s)
	return ref.Name, ref.Qualifier, ok
}
