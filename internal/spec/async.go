package spec

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Asynchronous invocation, resource policies and S3 event notifications.

// EventInvokeConfig is a function's asynchronous invocation configuration
// (Lambda's FunctionEventInvokeConfig).
type EventInvokeConfig struct {
	Pos Pos `yaml:"-"`

	// MaximumRetryAttempts is how many times a failed event is retried,
	// 0 to 2; default 2.
	MaximumRetryAttempts *int `yaml:"maximumRetryAttempts"`
	// MaximumEventAgeInSeconds is how long an event may wait in the queue,
	// 60 to 21600; default 21600 (6 hours).
	MaximumEventAgeInSeconds *int `yaml:"maximumEventAgeInSeconds"`
	// DestinationConfig names the functions that receive the invocation
	// record of events that succeeded or failed.
	DestinationConfig *DestinationConfig `yaml:"destinationConfig"`
}

// DestinationConfig holds the OnSuccess and OnFailure destinations.
type DestinationConfig struct {
	OnSuccess *Destination `yaml:"onSuccess"`
	OnFailure *Destination `yaml:"onFailure"`
}

// Destination is where invocation records go.
type Destination struct {
	// Destination names a function under functions (Portico delivers
	// records to functions only).
	Destination string `yaml:"destination"`
}

// Permission is one statement of a function's resource-based policy
// (Lambda's AddPermission, Pulumi's aws:lambda:Permission): who may invoke
// the function.
type Permission struct {
	Pos Pos `yaml:"-"`

	// StatementID names the statement; default: derived from the
	// principal and source.
	StatementID string `yaml:"statementId"`
	// Action is lambda:InvokeFunction (the default) or lambda:*.
	Action string `yaml:"action"`
	// Principal is a service (s3.amazonaws.com), an account ID or an ARN.
	Principal string `yaml:"principal"`
	// SourceArn limits the permission to one source (a bucket's ARN,
	// arn:aws:s3:::NAME). Empty: any.
	SourceArn string `yaml:"sourceArn"`
	// SourceAccount limits the permission to sources owned by an account.
	SourceAccount string `yaml:"sourceAccount"`
}

// BucketNotification sends a bucket's events to a function
// (S3's LambdaFunctionConfiguration).
type BucketNotification struct {
	Pos Pos `yaml:"-"`

	// ID names the configuration (the record's s3.configurationId);
	// default: derived from the function and the events.
	ID string `yaml:"id"`
	// Function names a function under functions. It must have a
	// permission for principal s3.amazonaws.com whose sourceArn, if set,
	// is this bucket's ARN, as S3 refuses a destination it cannot invoke.
	Function string `yaml:"function"`
	// Events are S3 event types: s3:ObjectCreated:* (or :Put, :Post,
	// :Copy, :CompleteMultipartUpload), s3:ObjectRemoved:* (or :Delete,
	// :DeleteMarkerCreated).
	Events []string `yaml:"events"`
	// FilterPrefix and FilterSuffix select keys.
	FilterPrefix string `yaml:"filterPrefix"`
	FilterSuffix string `yaml:"filterSuffix"`
}

// NotificationEvents are the S3 event types Portico emits.
var NotificationEvents = []string{
	"s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
	"s3:ObjectCreated:CompleteMultipartUpload",
	"s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated",
}

var accountNumber = regexp.MustCompile(`^[0-9]{12}$`)

// S3Principal is the service principal S3 invokes functions as.
const S3Principal = "s3.amazonaws.com"

func (v *validator) eventInvokeConfig(f *Function) {
	c := f.EventInvokeConfig
	if c == nil {
		return
	}
	if r := c.MaximumRetryAttempts; r != nil && (*r < 0 || *r > 2) {
		v.add(v.pos.or(&c.MaximumRetryAttempts, c.Pos), "eventInvokeConfig.maximumRetryAttempts: must be 0 to 2, got %d", *r)
	}
	if a := c.MaximumEventAgeInSeconds; a != nil && (*a < 60 || *a > 21600) {
		v.add(v.pos.or(&c.MaximumEventAgeInSeconds, c.Pos), "eventInvokeConfig.maximumEventAgeInSeconds: must be 60 to 21600 seconds, got %d", *a)
	}
	if d := c.DestinationConfig; d != nil {
		for _, e := range []struct {
			name string
			d    *Destination
		}{{"onSuccess", d.OnSuccess}, {"onFailure", d.OnFailure}} {
			if e.d == nil {
				continue
			}
			p := v.pos.or(&e.d.Destination, c.Pos)
			switch {
			case e.d.Destination == "":
				v.add(p, "eventInvokeConfig.destinationConfig.%s.destination: required (a function name)", e.name)
			case v.spec.Functions[e.d.Destination] == nil:
				v.add(p, "eventInvokeConfig.destinationConfig.%s.destination: no function named %q%s (Portico delivers records to functions)",
					e.name, e.d.Destination, didYouMean(e.d.Destination, slices.Collect(maps.Keys(v.spec.Functions))))
			}
		}
	}
}

func (v *validator) permissions(f *Function) {
	for i, p := range f.Permissions {
		pp := v.pos.entry(&f.Permissions, fmt.Sprint(i), f.Pos)
		switch p.Action {
		case "lambda:InvokeFunction", "lambda:*":
		default:
			v.add(v.pos.or(&p.Action, pp), "permissions[%d].action: Portico models lambda:InvokeFunction (or lambda:*), got %q", i, p.Action)
		}
		if p.Principal == "" {
			v.add(pp, "permissions[%d].principal: required (a service such as s3.amazonaws.com, an account ID or an ARN)", i)
		}
		if p.SourceAccount != "" && !accountNumber.MatchString(p.SourceAccount) {
			v.add(v.pos.or(&p.SourceAccount, pp), "permissions[%d].sourceAccount: must be 12 digits, got %q", i, p.SourceAccount)
		}
	}
}

// allowsS3 reports whether f's permissions let S3 invoke it for bucket.
func allowsS3(f *Function, bucket string) bool {
	for _, p := range f.Permissions {
		if p.Principal == S3Principal && (p.SourceArn == "" || p.SourceArn == "arn:aws:s3:::"+bucket) {
			return true
		}
	}
	return false
}

func (v *validator) notifications(b *Bucket) {
	if len(b.Notifications) > 0 && v.spec.Storage != nil {
		v.add(v.pos.or(&b.Notifications, b.Pos), "notifications: need Portico's own store; with storage: the buckets live elsewhere and their events never reach Portico")
		return
	}
	ids := map[string]bool{}
	for i, n := range b.Notifications {
		np := v.pos.entry(&b.Notifications, fmt.Sprint(i), b.Pos)
		label := fmt.Sprintf("notifications[%d]", i)
		f := v.spec.Functions[n.Function]
		switch {
		case n.Function == "":
			v.add(np, "%s.function: required (a function name)", label)
		case f == nil:
			v.add(v.pos.or(&n.Function, np), "%s.function: no function named %q%s", label, n.Function,
				didYouMean(n.Function, slices.Collect(maps.Keys(v.spec.Functions))))
		case !allowsS3(f, b.Name):
			v.add(v.pos.or(&n.Function, np), "%s.function: Unable to validate the following destination configurations: function %q has no permission for principal %s with sourceArn arn:aws:s3:::%s (add it under the function's permissions, as S3 requires)",
				label, n.Function, S3Principal, b.Name)
		}
		if len(n.Events) == 0 {
			v.add(np, "%s.events: at least one event type is required, e.g. s3:ObjectCreated:*", label)
		}
		for j, e := range n.Events {
			if !slices.Contains(NotificationEvents, e) {
				v.add(v.pos.entry(&n.Events, fmt.Sprint(j), np), "%s.events: unsupported event type %q%s; Portico emits %s",
					label, e, didYouMean(e, NotificationEvents), strings.Join(NotificationEvents, ", "))
			}
		}
		if len(n.ID) > 1024 {
			v.add(v.pos.or(&n.ID, np), "%s.id: at most 1024 characters", label)
		}
		if ids[n.ID] {
			v.add(v.pos.or(&n.ID, np), "%s.id: %q is also the id of another notification of this bucket", label, n.ID)
		}
		ids[n.ID] = true
		for j, o := range b.Notifications[:i] {
			if ambiguous(n, o) {
				v.add(np, "%s: Configuration is ambiguously defined: its filters overlap those of notifications[%d] for the same event type (S3 refuses it)", label, j)
			}
		}
	}
}

// ambiguous reports whether one key and event type could select both a
// and b: S3 refuses such a pair.
func ambiguous(a, b *BucketNotification) bool {
	family := func(e string) string { f, _, _ := strings.Cut(strings.TrimPrefix(e, "s3:"), ":"); return f }
	for _, x := range a.Events {
		for _, y := range b.Events {
			if x == y || family(x) == family(y) && (strings.HasSuffix(x, ":*") || strings.HasSuffix(y, ":*")) {
				return (strings.HasPrefix(a.FilterPrefix, b.FilterPrefix) || strings.HasPrefix(b.FilterPrefix, a.FilterPrefix)) &&
					(strings.HasSuffix(a.FilterSuffix, b.FilterSuffix) || strings.HasSuffix(b.FilterSuffix, a.FilterSuffix))
			}
		}
	}
	return false
}

// setAsyncDefaults fills a permission's action and statement ID and a
// notification's ID.
func setAsyncDefaults(s *Spec) {
	for _, f := range s.Functions {
		for i, p := range f.Permissions {
			if p.Action == "" {
				p.Action = "lambda:InvokeFunction"
			}
			if p.StatementID == "" {
				p.StatementID = fmt.Sprintf("%s-%d", f.Name, i)
			}
		}
	}
	for _, b := range s.Buckets {
		for i, n := range b.Notifications {
			if n.ID == "" {
				n.ID = fmt.Sprintf("%s-%s-%d", b.Name, n.Function, i)
			}
		}
	}
}
