package invokeapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/portico-dev/portico/internal/invocation"
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

func (h *Handler) eventConfigRoutes(mux *http.ServeMux) {
	const p = "/2019-09-25/functions/{name}/event-invoke-config"
	mux.HandleFunc("PUT "+p, func(w http.ResponseWriter, hr *http.Request) { h.servePutEventConfig(w, hr, false) })
	mux.HandleFunc("POST "+p, func(w http.ResponseWriter, hr *http.Request) { h.servePutEventConfig(w, hr, true) })
	mux.HandleFunc("GET "+p, h.serveGetEventConfig)
	mux.HandleFunc("DELETE "+p, h.serveDeleteEventConfig)
	mux.HandleFunc("GET "+p+"/list", h.serveListEventConfigs)
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
func (h *Handler) eventConfigTarget(hr *http.Request) (name, qualifiedARN string, err error) {
	q := hr.URL.Query().Get("Qualifier")
	if q != "" && q != invocation.LatestVersion {
		return "", "", &invocation.ServiceError{Status: http.StatusNotFound, Type: "ResourceNotFoundException",
			Message: fmt.Sprintf("Function not found: %s:%s (Portico runs $LATEST only)", h.r.FunctionARN(hr.PathValue("name")), q)}
	}
	name, arn, err := h.r.Resolve(hr.PathValue("name"), q)
	if err != nil {
		return "", "", err
	}
	return name, arn + ":" + invocation.LatestVersion, nil
}

func (h *Handler) servePutEventConfig(w http.ResponseWriter, hr *http.Request, merge bool) {
	name, arn, err := h.eventConfigTarget(hr)
	if err != nil {
		WriteError(w, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(hr.Body, 64<<10))
	if err != nil {
		WriteError(w, badParam("Could not read request body: "+err.Error()))
		return
	}
	var in eventConfigJSON
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			WriteError(w, &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidRequestContentException",
				Message: "Could not parse request body into json: " + err.Error()})
			return
		}
	}
	c, found, err := h.r.UpdateEventInvokeConfig(name, merge, func(c *invocation.EventInvokeConfig) {
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
	})
	switch {
	case !found:
		WriteError(w, noEventConfig(arn))
	case err != nil:
		WriteError(w, err)
	default:
		writeJSON(w, http.StatusOK, eventConfigOut(&c, arn))
	}
}

func (h *Handler) serveGetEventConfig(w http.ResponseWriter, hr *http.Request) {
	name, arn, err := h.eventConfigTarget(hr)
	if err != nil {
		WriteError(w, err)
		return
	}
	c, ok := h.r.EventInvokeConfigOf(name)
	if !ok {
		WriteError(w, noEventConfig(arn))
		return
	}
	writeJSON(w, http.StatusOK, eventConfigOut(&c, arn))
}

func (h *Handler) serveDeleteEventConfig(w http.ResponseWriter, hr *http.Request) {
	name, arn, err := h.eventConfigTarget(hr)
	if err != nil {
		WriteError(w, err)
		return
	}
	if !h.r.DeleteEventInvokeConfig(name) {
		WriteError(w, noEventConfig(arn))
		return
	}
	w.Header().Set("x-amzn-RequestId", invocation.NewRequestID())
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) serveListEventConfigs(w http.ResponseWriter, hr *http.Request) {
	name, arn, err := h.eventConfigTarget(hr)
	if err != nil {
		WriteError(w, err)
		return
	}
	list := []eventConfigJSON{}
	if c, ok := h.r.EventInvokeConfigOf(name); ok {
		list = append(list, eventConfigOut(&c, arn))
	}
	sort.Slice(list, func(i, j int) bool { return list[i].FunctionArn < list[j].FunctionArn })
	writeJSON(w, http.StatusOK, map[string]any{"FunctionEventInvokeConfigs": list})
}

func eventConfigOut(c *invocation.EventInvokeConfig, arn string) eventConfigJSON {
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

func noEventConfig(qualifiedARN string) *invocation.ServiceError {
	return &invocation.ServiceError{Status: http.StatusNotFound, Type: "ResourceNotFoundException",
		Message: fmt.Sprintf("The function %s doesn't have an EventInvokeConfig", qualifiedARN)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", invocation.NewRequestID())
	w.WriteHeader(status)
	w.Write(b)
}
