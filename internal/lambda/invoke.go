package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda/runtimeapi"
)

// executedVersion is the only version Portico runs.
const executedVersion = invocation.LatestVersion

// Invoke runs one synchronous invocation. Failures of the service (unknown
// function, throttling, bad request) are *invocation.ServiceError; failures of the
// function or its runtime (errors it reported, crashes, timeouts, init
// failures) are a result with FunctionError "Unhandled" and the error JSON
// as payload. If ctx ends first, the sandbox is killed and replaced and the
// error wraps ctx.Err().
func (r *Runner) Invoke(ctx context.Context, req *invocation.Request) (*invocation.Result, error) {
	return r.invoke(ctx, req, invocation.NewRequestID(), nil)
}

// invoke runs one invocation; sg, when not nil, receives a streamed
// response as it arrives (see InvokeStream).
func (r *Runner) invoke(ctx context.Context, req *invocation.Request, id string, sg *streamGuard) (*invocation.Result, error) {
	if r.closing.Load() {
		return nil, &invocation.ServiceError{Status: http.StatusServiceUnavailable, Type: "ServiceException", Message: "The Lambda runner is shutting down."}
	}
	if len(req.Payload) > invocation.MaxSyncPayload {
		return nil, invocation.RequestTooLarge(invocation.MaxSyncPayload, "Invoke")
	}
	p, invokedARN, err := r.findFunction(req.FunctionName, req.Qualifier)
	if err != nil {
		return nil, err
	}
	c := &call{p: p, req: req, id: id, arn: invokedARN, sg: sg}
	// c.st describes the invocation once it reached a function; it is
	// reported once, at the end.
	var (
		reached bool
		end     func(invocation.Stats)
	)
	defer func() {
		if reached {
			r.invoked(c.p, c.st)
			if end != nil {
				end(c.st)
			}
		}
	}()
	for attempt := 0; ; attempt++ {
		sb, warm, err := c.p.Acquire()
		var se *invocation.ServiceError
		if errors.As(err, &se) && se.Type == "ResourceConflictException" && attempt < 3 {
			// Redeployed meanwhile: use the new version of the function.
			// (c.p stays the old pool when there is none: the deferred
			// report may need it.)
			np := r.lookup(c.p.fn.Name)
			if np == nil {
				return nil, invocation.FunctionNotFound(invokedARN)
			}
			c.p = np
			continue
		}
		if err != nil {
			if errors.As(err, &se) && se.Status == http.StatusTooManyRequests && r.obs != nil {
				r.obs.Throttled(c.p.fn.Name, se.Reason)
			}
			return nil, err
		}
		if !reached {
			reached = true
			if t := r.tracer; t != nil {
				var hdr string
				hdr, end = t.StartInvoke(ctx, c.p.fn.Name)
				if req.TraceID == "" && hdr != "" {
					cp := *req
					cp.TraceID = hdr
					c.req = &cp
				}
			}
		}
		c.sb, c.cold, c.initDur = sb, !warm, 0
		c.st = invocation.Stats{Cold: c.cold}
		if c.cold {
			if res := r.coldStart(ctx, c); res != nil {
				return res, nil
			}
		}
		res, retry, err := r.run(ctx, c)
		if retry && attempt < 3 {
			continue
		}
		if retry { // every attempt found a runtime gone: never a nil result
			return nil, fmt.Errorf("lambda %s: invoke %s: %w (%d attempts)", c.p.fn.Name, id, runtimeapi.ErrNotDelivered, attempt+1)
		}
		return res, err
	}
}

// call is one invocation on its way through the runner, from acquire to
// finish: what was asked, where it runs, and what it has cost so far.
// Only the invoking goroutine touches it.
type call struct {
	p   *pool
	sb  *sandbox // nil until acquired or started
	req *invocation.Request
	id  string       // request ID
	arn string       // the invoked (possibly qualified) function ARN
	sg  *streamGuard // nil for a buffered invocation

	cold    bool          // this attempt started a new sandbox
	initDur time.Duration // the runtime's init phase, when cold
	st      invocation.Stats
}

// findFunction resolves a FunctionName (name, partial or full ARN, with an
// optional :qualifier) and a Qualifier to a deployed function.
func (r *Runner) findFunction(name, qualifier string) (*pool, string, error) {
	ref, ok := invocation.ParseFunctionName(name)
	if !ok {
		return nil, "", &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidParameterValueException",
			Message: fmt.Sprintf("Invalid function name %q: use a name, a partial ARN (ACCOUNT:function:NAME) or an ARN, optionally with :QUALIFIER.", name)}
	}
	if ref.Qualifier != "" && qualifier != "" && ref.Qualifier != qualifier {
		return nil, "", &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidParameterValueException",
			Message: "The derived qualifier from the function name does not match the specified qualifier."}
	}
	if qualifier == "" {
		qualifier = ref.Qualifier
	}
	arn := FunctionARN(r.cfg.Region, r.cfg.AccountID, ref.Name)
	invoked := arn
	if qualifier != "" {
		invoked = arn + ":" + qualifier
	}
	if ref.Region != "" && ref.Region != r.cfg.Region || ref.Account != "" && ref.Account != r.cfg.AccountID {
		return nil, "", invocation.FunctionNotFound(FunctionARN(orDefault(ref.Region, r.cfg.Region), orDefault(ref.Account, r.cfg.AccountID), ref.Name))
	}
	p := r.lookup(ref.Name)
	if p == nil || (qualifier != "" && qualifier != executedVersion) {
		return nil, "", invocation.FunctionNotFound(invoked)
	}
	return p, invoked, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// platformError is the payload of errors the platform itself reports.
func platformError(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{typ, msg})
	return b
}

// coldStart starts a sandbox (c.sb) for the slot acquire reserved. When the
// runtime cannot be started it returns the invocation's result
// (Runtime.InvalidEntrypoint); nil otherwise.
func (r *Runner) coldStart(ctx context.Context, c *call) *invocation.Result {
	p, req, id := c.p, c.req, c.id
	cmd, err := p.resolve(ctx)
	if err == nil {
		c.sb, err = p.startSandbox(ctx, cmd, req.LogTail)
	}
	if err == nil {
		p.Started(c.sb)
		return nil
	}
	c.sb = nil
	p.StartFailed()
	c.st.ErrorType = "Runtime.InvalidEntrypoint"
	msg := "RequestId: " + id + " Error: " + err.Error()
	var tail tailBuf
	for _, l := range []string{
		"START RequestId: " + id + " Version: " + executedVersion,
		msg,
		"Runtime.InvalidEntrypoint",
		"END RequestId: " + id,
		r.reportLine(p, id, 0, 0, "Status: error\tError Type: Runtime.InvalidEntrypoint\t"),
	} {
		p.logs.write([]byte(l))
		tail.writeLine([]byte(l))
	}
	res := &invocation.Result{RequestID: id, Payload: platformError("Runtime.InvalidEntrypoint", msg),
		ContentType: "application/json", FunctionError: "Unhandled", ExecutedVersion: executedVersion}
	if req.LogTail {
		res.LogTail = tail.bytes()
	}
	return res
}

// run performs the invocation on c.sb. retry says the runtime went away
// before taking the invocation and it can go to another sandbox.
func (r *Runner) run(ctx context.Context, c *call) (_ *invocation.Result, retry bool, _ error) {
	p, sb, req, id, sg := c.p, c.sb, c.req, c.id, c.sg
	fn := &p.fn
	if req.LogTail && !c.cold {
		sb.logMu.Lock()
		sb.tail = &tailBuf{}
		sb.logMu.Unlock()
	}
	if c.cold {
		t := time.NewTimer(r.cfg.InitTimeout + fn.Timeout)
		select {
		case <-sb.API().Ready():
			c.initDur = sb.API().ReadyAt().Sub(sb.StartedAt())
			p.Ready(sb)
		case <-sb.API().InitFailed():
		case <-sb.Exited():
		case <-t.C:
			t.Stop()
			sb.Kill()
			d := r.now().Sub(sb.StartedAt())
			sb.platformLine("START RequestId: " + id + " Version: " + executedVersion)
			c.initDur = d
			return r.finish(c, r.timedOut(id, d), d), false, nil
		case <-ctx.Done():
			t.Stop()
			p.Release(sb, retireCanceled)
			c.st.ErrorType = invocation.ErrorCanceled
			return nil, false, fmt.Errorf("lambda %s: invoke %s: %w", fn.Name, id, context.Cause(ctx))
		}
		t.Stop()
	}
	sb.platformLine("START RequestId: " + id + " Version: " + executedVersion)
	inv := runtimeapi.Invocation{
		RequestID:       id,
		FunctionARN:     c.arn,
		TraceID:         req.TraceID,
		ClientContext:   req.ClientContext,
		CognitoIdentity: req.CognitoIdentity,
		Payload:         req.Payload,
	}
	if len(inv.Payload) == 0 {
		inv.Payload = emptyEvent
	}
	start := r.now()
	inv.Deadline = start.Add(fn.Timeout)
	if sg != nil {
		inv.Stream = sg
		sg.arm()
	}
	sb.Timer().Reset(fn.Timeout)
	res, err := sb.API().Invoke(ctx, &inv, sb.Timer().C)
	sb.Timer().Stop()
	if sg != nil {
		sg.close() // no more chunks from the handler once Invoke is over
		if err == nil && res.StreamErr != nil {
			p.Release(sb, retireStream)
			sb.platformLine("END RequestId: " + id)
			return nil, false, fmt.Errorf("lambda %s: invoke %s: stream: %w", fn.Name, id, res.StreamErr)
		}
	}
	dur := r.now().Sub(start)

	var o outcome
	switch {
	case err == nil:
		sb.served = true
		sb.DrainOutput()
		o = outcome{payload: res.Payload, contentType: res.ContentType}
		if res.Discard {
			o.retire = retireDiscard
		}
		if res.Error {
			o.errorType = res.ErrorType
			if res.ErrorType == "Function.ResponseSizeTooLarge" {
				o.logLines = []string{string(res.Payload)}
			}
		}
	case errors.Is(err, runtimeapi.ErrInit):
		sb.DrainOutput()
		o = outcome{payload: res.Payload, contentType: "application/json", errorType: res.ErrorType, retire: retireInitError}
		if c.initDur == 0 {
			c.initDur = r.now().Sub(sb.StartedAt())
		}
	case errors.Is(err, runtimeapi.ErrNotDelivered) && sb.served:
		// The warm runtime exited between invocations: not this one's fault.
		p.Release(sb, retireExited)
		sb.logMu.Lock()
		sb.tail = nil
		sb.logMu.Unlock()
		return nil, true, nil
	case errors.Is(err, runtimeapi.ErrNotDelivered), errors.Is(err, runtimeapi.ErrExited):
		wait := time.NewTimer(time.Second)
		select { // the exit status, and the output written before it
		case <-sb.Exited():
			select {
			case <-sb.OutputDone():
			case <-wait.C:
			}
		case <-wait.C:
		}
		wait.Stop()
		o = r.exitOutcome(sb, id)
		if c.initDur == 0 && !sb.served {
			c.initDur = r.now().Sub(sb.StartedAt())
		}
	case errors.Is(err, runtimeapi.ErrTimeout):
		sb.Kill()
		o = r.timedOut(id, dur)
	default: // the caller's context ended (or the stream went idle)
		p.Release(sb, retireCanceled)
		c.st.Duration, c.st.ErrorType = dur, invocation.ErrorCanceled
		sb.platformLine("END RequestId: " + id)
		if c := context.Cause(ctx); c != nil {
			err = c
		}
		return nil, false, fmt.Errorf("lambda %s: invoke %s: %w", fn.Name, id, err)
	}
	return r.finish(c, o, dur), false, nil
}

// emptyEvent is what a function gets for an empty payload.
var emptyEvent = []byte("{}")

// outcome is what an invocation ended with, before logging.
type outcome struct {
	payload     []byte
	contentType string
	errorType   string       // "" on success
	status      string       // REPORT Status: "timeout", "error"
	logLines    []string     // platform lines before END
	retire      retireReason // "" when the sandbox may serve again
}

// timedOut is Lambda's current timeout error: errorType Sandbox.Timedout,
// the elapsed seconds with two decimals.
// The log gets "<ISO time> <id> Task timed out after N.NN seconds".
func (r *Runner) timedOut(id string, d time.Duration) outcome {
	secs := strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
	return outcome{errorType: "Sandbox.Timedout", status: "timeout", retire: retireTimeout,
		payload:  platformError("Sandbox.Timedout", "RequestId: "+id+" Error: Task timed out after "+secs+" seconds"),
		logLines: []string{r.now().UTC().Format("2006-01-02T15:04:05.000Z") + " " + id + " Task timed out after " + secs + " seconds"}}
}

// exitOutcome describes a runtime that went away: Runtime.ExitError, or
// Runtime.OutOfMemory when the kernel's OOM killer did it.
func (r *Runner) exitOutcome(sb *sandbox, id string) outcome {
	typ := "Runtime.ExitError"
	if sb.OOMKilled() {
		typ = "Runtime.OutOfMemory"
	}
	msg := "RequestId: " + id + " Error: Runtime exited without providing a reason"
	if d := sb.ExitDescription(); d != "" {
		msg = "RequestId: " + id + " Error: Runtime exited with error: " + d
	}
	return outcome{errorType: typ, status: "error", retire: retireExited,
		payload: platformError(typ, msg), logLines: []string{msg, typ}}
}

// finish logs END and REPORT, returns the sandbox to its pool, fills c.st
// and builds the result; dur is the invocation's run time.
func (r *Runner) finish(c *call, o outcome, dur time.Duration) *invocation.Result {
	p, sb, id, cold, initDur := c.p, c.sb, c.id, c.cold, c.initDur
	c.st.Duration, c.st.ErrorType = dur, o.errorType
	if cold {
		c.st.InitDuration = initDur
	}
	for _, l := range o.logLines {
		sb.platformLine(l)
	}
	sb.platformLine("END RequestId: " + id)
	extra := ""
	if cold && initDur > 0 {
		extra = "Init Duration: " + strconv.FormatFloat(float64(initDur)/1e6, 'f', 2, 64) + " ms\t"
	}
	switch o.status {
	case "timeout":
		extra += "Status: timeout\t"
	case "error":
		extra += "Status: error\tError Type: " + o.errorType + "\t"
	}
	sb.platformLine(r.reportLine(p, id, dur, sb.PeakMB(), extra))

	res := &invocation.Result{RequestID: id, Payload: o.payload, ContentType: o.contentType, ExecutedVersion: executedVersion, Cold: cold}
	if o.errorType != "" {
		res.FunctionError = "Unhandled"
		if res.ContentType == "" {
			res.ContentType = "application/json"
		}
	}
	sb.logMu.Lock()
	if sb.tail != nil && c.req.LogTail {
		res.LogTail = sb.tail.bytes()
	}
	sb.tail = nil
	sb.logMu.Unlock()
	p.Release(sb, o.retire)
	return res
}

// reportLine is the REPORT line; extra holds Init Duration / Status fields.
func (r *Runner) reportLine(p *pool, id string, dur time.Duration, maxMB int, extra string) string {
	ms := float64(dur) / 1e6
	billed := int64(math.Ceil(ms))
	return "REPORT RequestId: " + id +
		"\tDuration: " + strconv.FormatFloat(ms, 'f', 2, 64) + " ms" +
		"\tBilled Duration: " + strconv.FormatInt(billed, 10) + " ms" +
		"\tMemory Size: " + strconv.Itoa(p.fn.MemoryMB) + " MB" +
		"\tMax Memory Used: " + strconv.Itoa(maxMB) + " MB\t" + extra
}
