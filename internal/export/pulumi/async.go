package pulumi

import (
	"strings"

	"github.com/portico-dev/portico/internal/spec"
)

// Functions' permissions (other than API Gateway's, which the integrations
// imply and program writes), their asynchronous invocation configs, and
// bucket notifications.

// bucketOfARN names the spec bucket whose ARN is arn.
func bucketOfARN(sp *spec.Spec, arn string) (string, bool) {
	name, ok := strings.CutPrefix(arn, "arn:aws:s3:::")
	if !ok || sp.Buckets[name] == nil {
		return "", false
	}
	return name, true
}

// DestinationsSid marks the role policy the exporter adds so that a
// function may invoke its destinations.
const DestinationsSid = "PorticoAsyncDestinations"

// destinationPolicyFunc is the helper the program uses to write that
// policy.
const destinationPolicyFunc = `
// destinationPolicy allows invoking the given function ARNs (a function's
// asynchronous invocation destinations).
func destinationPolicy(arns []interface{}) string {
	b, _ := json.Marshal(map[string]interface{}{
		"Version": "2012-10-17",
		"Statement": []map[string]interface{}{{
			"Sid":      "` + DestinationsSid + `",
			"Effect":   "Allow",
			"Action":   "lambda:InvokeFunction",
			"Resource": arns,
		}},
	})
	return string(b)
}
`
