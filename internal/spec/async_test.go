package spec

import (
	"path/filepath"
	"strings"
	"testing"
)

const asyncYAML = `functions:
  ingest:
    runtime: python3.12
    handler: h.main
    code: ./app
    eventInvokeConfig:
      maximumRetryAttempts: 1
      maximumEventAgeInSeconds: 3600
      destinationConfig:
        onSuccess: {destination: index}
        onFailure: {destination: failures}
    permissions:
      - principal: s3.amazonaws.com
        sourceArn: arn:aws:s3:::docs
  index: {runtime: python3.12, handler: h.main, code: ./app}
  failures: {runtime: python3.12, handler: h.main, code: ./app}
buckets:
  docs:
    notifications:
      - function: ingest
        events: ["s3:ObjectCreated:*"]
        filterPrefix: incoming/
        filterSuffix: .pdf
`

func TestParseAsync(t *testing.T) {
	s, _, err := parseInDir(t, asyncYAML)
	if err != nil {
		t.Fatal(err)
	}
	f := s.Functions["ingest"]
	c := f.EventInvokeConfig
	if *c.MaximumRetryAttempts != 1 || *c.MaximumEventAgeInSeconds != 3600 || c.DestinationConfig.OnFailure.Destination != "failures" {
		t.Errorf("eventInvokeConfig = %+v", c)
	}
	if p := f.Permissions[0]; p.Action != "lambda:InvokeFunction" || p.StatementID != "ingest-0" {
		t.Errorf("permission defaults = %+v", p)
	}
	n := s.Buckets["docs"].Notifications[0]
	if n.ID != "docs-ingest-0" || n.FilterPrefix != "incoming/" || n.Events[0] != "s3:ObjectCreated:*" {
		t.Errorf("notification = %+v", n)
	}
}

func TestParseAsyncErrors(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           []string // "line:col: message" prefixes
	}{
		{"retries", "maximumRetryAttempts: 1", "maximumRetryAttempts: 3",
			[]string{"7:29: eventInvokeConfig.maximumRetryAttempts: must be 0 to 2, got 3"}},
		{"age", "maximumEventAgeInSeconds: 3600", "maximumEventAgeInSeconds: 59",
			[]string{"8:33: eventInvokeConfig.maximumEventAgeInSeconds: must be 60 to 21600 seconds, got 59"}},
		{"destination", "{destination: failures}", "{destination: failure}",
			[]string{`11:34: eventInvokeConfig.destinationConfig.onFailure.destination: no function named "failure" (did you mean "failures"?)`}},
		{"no permission", "principal: s3.amazonaws.com", "principal: sns.amazonaws.com",
			[]string{`20:19: notifications[0].function: Unable to validate the following destination configurations: function "ingest" has no permission`}},
		{"permission for another bucket", "sourceArn: arn:aws:s3:::docs", "sourceArn: arn:aws:s3:::other",
			[]string{`20:19: notifications[0].function: Unable to validate`}},
		{"event", `"s3:ObjectCreated:*"`, `"s3:ObjectCreated:Putt"`,
			[]string{`21:18: notifications[0].events: unsupported event type "s3:ObjectCreated:Putt" (did you mean "s3:ObjectCreated:Put"?)`}},
		{"unknown field", "filterSuffix: .pdf", "filterSufix: .pdf",
			[]string{`23:9: unknown field "filterSufix" in notification (did you mean "filterSuffix"?)`}},
		{"external storage", "buckets:\n", "storage: {endpoint: \"https://s3.example.com\", accessKeyId: AKIAEXAMPLE0000000, secretAccessKey: s}\nbuckets:\n",
			[]string{`21:7: notifications: need Portico's own store`}},
		{"overlapping filters", "        filterSuffix: .pdf\n", "        filterSuffix: .pdf\n      - {function: ingest, events: [\"s3:ObjectCreated:Put\"], filterPrefix: incoming/old/}\n",
			[]string{`24:9: notifications[1]: Configuration is ambiguously defined`}},
		{"function", "- function: ingest", "- function: ingestt",
			[]string{`20:19: notifications[0].function: no function named "ingestt"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(asyncYAML, tt.old, tt.new, 1)
			if text == asyncYAML {
				t.Fatalf("%q not in the spec", tt.old)
			}
			_, dir, err := parseInDir(t, text)
			if err == nil {
				t.Fatal("no error")
			}
			got := positioned(t, err, filepath.Join(dir, "portico.yaml"))
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}
