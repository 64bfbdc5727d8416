package spec

import "github.com/portico-dev/portico/internal/iam"

// parsePolicy parses an inline policy of r whose shape is already checked
// with the same parser the running system evaluates it with, so that a
// policy the system would refuse (an unsupported Condition operator or
// key, a malformed ARN) is refused here, at the policy's position. The
// parsed policy is kept in r.Parsed.
func (v *validator) parsePolicy(r *Role, doc any, at Pos, label string) {
	p, err := iam.ParsePolicy(doc)
	if err != nil {
		v.add(at, "%s: %v", label, err)
		return
	}
	r.Parsed = append(r.Parsed, p)
}
