package pulumiyaml

import (
	"strings"
	"testing"
)

// pipeline is fn (lines 4-9) plus a bucket notified of PDFs, the
// permission S3 needs, a second function and fn's async config.
const pipeline = `  docs:
    type: aws:s3/bucketV2:BucketV2
    properties: {bucket: docs}
  failures:
    type: aws:lambda/function:Function
    properties:
      runtime: python3.12
      handler: h.main
      code: {fn::fileArchive: ./app}
  allowS3:
    type: aws:lambda/permission:Permission
    properties:
      action: lambda:InvokeFunction
      function: ${fn.name}
      principal: s3.amazonaws.com
      sourceArn: ${docs.arn}
  notify:
    type: aws:s3/bucketNotification:BucketNotification
    properties:
      bucket: ${docs.id}
      lambdaFunctions:
        - lambdaFunctionArn: ${fn.arn}
          events: ["s3:ObjectCreated:*"]
          filterPrefix: in/
          filterSuffix: .pdf
  async:
    type: aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig
    properties:
      functionName: ${fn.name}
      maximumRetryAttempts: 0
      maximumEventAgeInSeconds: 600
      destinationConfig:
        onFailure: {destination: "${failures.arn}"}
`

func TestTranslateAsync(t *testing.T) {
	p := loadFiles(t, head+fn+pipeline, []string{"app/h.py"}, "")
	f := p.Spec.Functions["fn"]
	if len(f.Permissions) != 1 || f.Permissions[0].Principal != "s3.amazonaws.com" || f.Permissions[0].SourceArn != "arn:aws:s3:::docs" ||
		f.Permissions[0].StatementID != "allowS3" {
		t.Errorf("permissions = %+v", f.Permissions)
	}
	n := p.Spec.Buckets["docs"].Notifications
	if len(n) != 1 || n[0].Function != "fn" || n[0].FilterPrefix != "in/" || n[0].Events[0] != "s3:ObjectCreated:*" {
		t.Errorf("notifications = %+v", n)
	}
	c := f.EventInvokeConfig
	if c == nil || *c.MaximumRetryAttempts != 0 || *c.MaximumEventAgeInSeconds != 600 || c.DestinationConfig.OnFailure.Destination != "failures" {
		t.Errorf("eventInvokeConfig = %+v", c)
	}

	bad := []struct{ name, old, new, wantErr string }{
		{"notification without the permission", "principal: s3.amazonaws.com", "principal: sns.amazonaws.com",
			"31:30: (spec) notifications[0].function: Unable to validate the following destination configurations"},
		{"destination not a function", `"${failures.arn}"`, "arn:aws:sqs:us-east-1:000000000000:q",
			"42:34: resource async: destinationConfig.onFailure.destination \"arn:aws:sqs:us-east-1:000000000000:q\" must be the ARN of an aws:lambda:Function"},
		{"retries out of range", "maximumRetryAttempts: 0", "maximumRetryAttempts: 5",
			"39:29: (spec) eventInvokeConfig.maximumRetryAttempts: must be 0 to 2, got 5"},
		{"queue destination", "      lambdaFunctions:", "      queues: [{queueArn: x}]\n      lambdaFunctions:",
			"30:15: resource notify: queues: Portico delivers bucket notifications to Lambda functions only"},
		{"lambdaFunctionArn not a function", "${fn.arn}", "arn:aws:lambda:us-east-1:000000000000:function:nope",
			"31:30: resource notify: lambdaFunctions[0].lambdaFunctionArn"},
		{"unknown property", "          filterSuffix: .pdf", "          filterSufix: .pdf",
			"34:24: resource notify: lambdaFunctions[0] has no property \"filterSufix\""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(head+fn+pipeline, tt.old, tt.new, 1)
			if text == head+fn+pipeline {
				t.Fatalf("%q not in the program", tt.old)
			}
			loadFiles(t, text, []string{"app/h.py"}, tt.wantErr)
		})
	}
}
