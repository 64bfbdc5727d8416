package control

import (
	"context"
	"fmt"
	"reflect"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/spec"
)

// Asynchronous invocation, resource policies and bucket notifications: the
// spec's are handed to the runner and the store after the functions are
// deployed (a notification needs its function and its permission).

// applyAsyncConfig gives the runner sp's permissions and event invoke
// configs. It runs before the functions are deployed, so that events
// queued before a restart are delivered with their function's
// configuration (destinations) from the first attempt.
func (c *Controller) applyAsyncConfig(sp *spec.Spec) {
	perms := map[string][]lambda.Permission{}
	cfgs := map[string]invocation.EventInvokeConfig{}
	for name, f := range sp.Functions {
		for _, p := range f.Permissions {
			perms[name] = append(perms[name], lambda.Permission{StatementID: p.StatementID, Action: p.Action,
				Principal: p.Principal, SourceARN: p.SourceArn, SourceAccount: p.SourceAccount})
		}
		if e := f.EventInvokeConfig; e != nil {
			cfg := invocation.EventInvokeConfig{MaximumRetryAttempts: e.MaximumRetryAttempts, MaximumEventAgeInSeconds: e.MaximumEventAgeInSeconds}
			if d := e.DestinationConfig; d != nil {
				if d.OnSuccess != nil {
					cfg.OnSuccess = c.functionARN(d.OnSuccess.Destination)
				}
				if d.OnFailure != nil {
					cfg.OnFailure = c.functionARN(d.OnFailure.Destination)
				}
			}
			cfgs[name] = cfg
		}
	}
	c.deps.Runner.SetPermissions(perms)
	c.deps.Runner.SetEventInvokeConfigs(cfgs)
}

// applyNotifications gives the store sp's bucket notifications that
// changed since the last apply (so that a configuration set through the
// S3 API stays until the spec's own changes). It runs after the functions
// are deployed: the store checks each destination's permission. back sets
// the buckets it changed as they were; on an error it has done so itself.
func (c *Controller) applyNotifications(sp *spec.Spec) (back func(), err error) {
	back = func() {}
	st := c.deps.Storage
	if st == nil || st.Server == nil || sp.Storage != nil {
		return back, nil
	}
	if c.notes == nil {
		c.notes = map[string][]s3.Notification{}
	}
	type was struct {
		list []s3.Notification
		seen bool
	}
	changed := map[string]was{}
	back = func() {
		for name, w := range changed {
			if err := st.Server.SetNotifications(name, w.list); err != nil {
				c.deps.Logger.Error("roll back bucket notifications", "bucket", name, "err", err)
			}
			if w.seen {
				c.notes[name] = w.list
			} else {
				delete(c.notes, name)
			}
		}
	}
	for _, name := range sortedKeys(sp.Buckets) {
		var list []s3.Notification
		for _, n := range sp.Buckets[name].Notifications {
			list = append(list, s3.Notification{ID: n.ID, FunctionARN: c.functionARN(n.Function), Events: n.Events,
				Prefix: n.FilterPrefix, Suffix: n.FilterSuffix})
		}
		old, seen := c.notes[name]
		if reflect.DeepEqual(old, list) && (seen || list == nil) {
			continue
		}
		if err := st.Server.SetNotifications(name, list); err != nil {
			back()
			return func() {}, fmt.Errorf("bucket %s: notifications: %w", name, err)
		}
		changed[name] = was{old, seen}
		c.notes[name] = list
	}
	return back, nil
}

// S3Events lets the S3 store notify functions: through the runner's
// resource policies and asynchronous queue.
type S3Events struct{ Runner *lambda.Runner }

var _ s3.Notifier = S3Events{}

// AllowsS3 implements s3.Notifier.
func (e S3Events) AllowsS3(functionARN, bucket string) bool {
	return e.Runner.Allows(functionARN, spec.S3Principal, "arn:aws:s3:::"+bucket, "")
}

// Notify implements s3.Notifier: the event is queued durably (with a disk
// event store) before it returns.
func (e S3Events) Notify(ctx context.Context, functionARN string, payload []byte) error {
	_, err := e.Runner.InvokeAsync(&invocation.Request{FunctionName: functionARN, Payload: payload})
	return err
}
