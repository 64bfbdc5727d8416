package lambda

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
)

// The FunctionEventInvokeConfig operations of the Lambda API (rest-json):
//
//	PUT    /2019-09-25/functions/{name}/event-invoke-config       PutFunctionEventInvokeConfig (replaces)
//	POST   /2019-09-25/functions/{name}/event-invoke-config       UpdateFunctionEventInvokeConfig (merges)
//	GET    /2019-09-25/functions/{name}/event-invoke-config       GetFunctionEventInvokeConfig
//	DELETE /2019-09-25/functions/{name}/event-invoke-config       DeleteFunctionEventInvokeConfig
//	GET    /2019-09-25/functions/{name}/event-invoke-config/list  ListFunctionEventInvokeConfigs
//
// Only $LATEST exists in Portico, so Qualifier may be absent or $LATEST.

func (r *Runner) eventConfigRoutes(mux *http.ServeMux) {
	const p = "/2019-09-25/functions/{name}/event-invoke-config"
	mux.HandleFunc("PUT "+p, func(w http.ResponseWriter, hr *http.Request) { r.servePutEventConfig(w, hr, false) })
	mux.HandleFunc("POST "+p, func(w http.ResponseWriter, hr *http.Request) { r.servePutEventConfig(w, hr, true) })
	mux.HandleFunc("GET "+p, r.serveGetEventConfig)
	mux.HandleFunc("DELETE "+p, r.serveDeleteEventConfig)
	mux.HandleFunc("GET "+p+"/list", r.serveListEventConfigs)
}

type destination struct {
	Destination string `json:"Destination,omitempty"`
}

type destinationConfig struct {
	OnSuccess *destination `json:"OnSuccess,omitempty"`
	OnFailure *destination `json:"OnFailure,omitempty"`
}

// eventConfigJSON is FunctionEventInvokeConfig on the wire (and the Put
// and Update request bodies, which lack FunctionArn and LastModified).
type eventConfigJSON struct {
	FunctionArn              string             `json:"FunctionArn,omitempty"`
	LastModified             float64            `json:"LastModified,omitempty"`
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        *destinationConfig `json:"DestinationConfig,omitempty"`
}

// eventConfigTarget resolves the request's function and qualifier to a
// deployed function's name and its qualified ARN.
func (r *Runner) eventConfigTarget(hr *http.Request) (name, qualifiedARN string, err error) {
	q := hr.URL.Query().Get("Qualifier")
	if q != "" && q != executedVersion {
		return "", "", &ServiceError{Status: http.StatusNotFound, Type: "ResourceNotFoundException",
			Message: fmt.Sprintf("Function not found: %s:%s (Portico runs $LATEST only)", FunctionARN(r.cfg.Region, r.cfg.AccountID, hr.PathValue("name")), q)}
	}
	p, _, err := r.findFunction(hr.PathValue("name"), q)
	if err != nil {
		return "", "", err
	}
	return p.fn.Name, p.arn + ":" + executedVersion, nil
}

func (r *Runner) servePutEventConfig(w http.ResponseWriter, hr *http.Request, merge bool) {
	name, arn, err := r.eventConfigTarget(hr)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(hr.Body, 64<<10))
	if err != nil {
		writeServiceError(w, badParam("Could not read request body: "+err.Error()))
		return
	}
	var in eventConfigJSON
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeServiceError(w, &ServiceError{Status: http.StatusBadRequest, Type: "InvalidRequestContentException",
				Message: "Could not parse request body into json: " + err.Error()})
			return
		}
	}
	q := &r.events
	q.cfgMu.Lock()
	var c EventInvokeConfig
	if merge {
		old := q.cfgs[name]
		if old == nil {
			q.cfgMu.Unlock()
			writeServiceError(w, noEventConfig(arn))
			return
		}
		c = *old
	}
	if in.MaximumRetryAttempts != nil {
		c.MaximumRetryAttempts = in.MaximumRetryAttempts
	}
	if in.MaximumEventAgeInSeconds != nil {
		c.MaximumEventAgeInSeconds = in.MaximumEventAgeInSeconds
	}
	if d := in.DestinationConfig; d != nil {
		if d.OnSuccess != nil {
			c.OnSuccess = d.OnSuccess.Destination
		}
		if d.OnFailure != nil {
			c.OnFailure = d.OnFailure.Destination
		}
	}
	if err := r.checkDestinations(c); err != nil {
		q.cfgMu.Unlock()
		writeServiceError(w, err)
		return
	}
	c.LastModified = r.now()
	q.cfgs[name] = &c
	q.cfgMu.Unlock()
	writeJSON(w, http.StatusOK, r.eventConfigOut(&c, arn))
}

// checkDestinations validates c as Lambda does, and checks that each
// destination function is deployed.
func (r *Runner) checkDestinations(c EventInvokeConfig) error {
	if err := CheckEventInvokeConfig(c); err != nil {
		return err
	}
	for _, d := range []string{c.OnSuccess, c.OnFailure} {
		if d == "" {
			continue
		}
		if _, _, err := r.findFunction(d, ""); err != nil {
			return badParam(fmt.Sprintf("The destination ARN %s is invalid: no such function.", d))
		}
	}
	return nil
}

func (r *Runner) serveGetEventConfig(w http.ResponseWriter, hr *http.Request) {
	name, arn, err := r.eventConfigTarget(hr)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	c := r.events.config(name)
	if c == nil {
		writeServiceError(w, noEventConfig(arn))
		return
	}
	writeJSON(w, http.StatusOK, r.eventConfigOut(c, arn))
}

func (r *Runner) serveDeleteEventConfig(w http.ResponseWriter, hr *http.Request) {
	name, arn, err := r.eventConfigTarget(hr)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	q := &r.events
	q.cfgMu.Lock()
	_, ok := q.cfgs[name]
	delete(q.cfgs, name)
	q.cfgMu.Unlock()
	if !ok {
		writeServiceError(w, noEventConfig(arn))
		return
	}
	w.Header().Set("x-amzn-RequestId", newRequestID())
	w.WriteHeader(http.StatusNoContent)
}

func (r *Runner) serveListEventConfigs(w http.ResponseWriter, hr *http.Request) {
	name, arn, err := r.eventConfigTarget(hr)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	list := []eventConfigJSON{}
	if c := r.events.config(name); c != nil {
		list = append(list, r.eventConfigOut(c, arn))
	}
	sort.Slice(list, func(i, j int) bool { return list[i].FunctionArn < list[j].FunctionArn })
	writeJSON(w, http.StatusOK, map[string]any{"FunctionEventInvokeConfigs": list})
}

func (r *Runner) eventConfigOut(c *EventInvokeConfig, arn string) eventConfigJSON {
	out := eventConfigJSON{
		FunctionArn:              arn,
		LastModified:             float64(c.LastModified.UnixMilli()) / 1000,
		MaximumRetryAttempts:     c.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: c.MaximumEventAgeInSeconds,
	}
	if c.OnSuccess != "" || c.OnFailure != "" {
		out.DestinationConfig = &destinationConfig{OnSuccess: &destination{c.OnSuccess}, OnFailure: &destination{c.OnFailure}}
	}
	return out
}

func noEventConfig(qualifiedARN string) *ServiceError {
	return &ServiceError{Status: http.StatusNotFound, Type: "ResourceNotFoundException",
		Message: fmt.Sprintf("The function %s doesn't have an EventInvokeConfig", qualifiedARN)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", newRequestID())
	w.WriteHeader(status)
	w.Write(b)
}

// EventInvokeConfigOf returns a function's effective asynchronous
// configuration; ok is false when it has none.
func (r *Runner) EventInvokeConfigOf(name string) (c EventInvokeConfig, ok bool) {
	p := r.events.config(name)
	if p == nil {
		return EventInvokeConfig{}, false
	}
	return *p, true
}
