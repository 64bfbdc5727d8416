package lambda

import (
	"path"
	"sync"
)

// Permission is one statement of a function's resource-based policy
// (Lambda's AddPermission): Principal may invoke the function, from
// SourceARN and SourceAccount when they are set. Action is
// lambda:InvokeFunction or lambda:*.
type Permission struct {
	StatementID   string
	Action        string
	Principal     string // a service (s3.amazonaws.com), an account ID, an ARN, or *
	SourceARN     string // may use * wildcards, as ArnLike does
	SourceAccount string
}

// policies holds every function's resource-based policy.
type policies struct {
	mu sync.RWMutex
	m  map[string][]Permission // by function name
}

// SetPermissions replaces every function's resource-based policy, by
// function name.
func (r *Runner) SetPermissions(m map[string][]Permission) {
	r.policies.mu.Lock()
	r.policies.m = m
	r.policies.mu.Unlock()
}

// Allows reports whether principal may invoke the deployed function named
// by function (a name or ARN) on behalf of sourceARN and sourceAccount
// ("" when the caller has none): one statement of its resource-based
// policy must match.
func (r *Runner) Allows(function, principal, sourceARN, sourceAccount string) bool {
	p, _, err := r.findFunction(function, "")
	if err != nil {
		return false
	}
	r.policies.mu.RLock()
	defer r.policies.mu.RUnlock()
	for _, s := range r.policies.m[p.fn.Name] {
		if s.Action != "lambda:InvokeFunction" && s.Action != "lambda:*" {
			continue
		}
		if s.Principal != "*" && s.Principal != principal {
			continue
		}
		if s.SourceARN != "" {
			if ok, _ := path.Match(s.SourceARN, sourceARN); !ok && s.SourceARN != sourceARN {
				continue
			}
		}
		if s.SourceAccount != "" && s.SourceAccount != sourceAccount && sourceAccount != "" {
			continue
		}
		return true
	}
	return false
}
