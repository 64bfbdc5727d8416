package main

import "github.com/portico-dev/portico/internal/lambda"

// isolationWarning is the one line `portico up` prints when functions run
// without sandboxes (the machine cannot have them, or --isolation=none), ""
// when they are isolated.
func isolationWarning(r *lambda.Runner) string {
	on, detail := r.IsolationStatus()
	if on {
		return ""
	}
	return "portico: warning: functions are not isolated (" + detail + "): each can read the others' environment, code and files, and signal them; see docs/security.md"
}
