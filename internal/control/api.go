package control

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// The management API speaks apigatewayv2's REST-JSON wire shape (camelCase
// members, {"message"} errors with x-amzn-errortype) and Lambda's (PascalCase
// members, {"Type","message"} errors). apigw.go serves apigatewayv2's read
// side and CreateDeployment, lambdaapi.go Lambda's function management.
// Operations Portico does not serve answer 501 NotImplemented in the
// service's error shape (see unsupported).

type errNotFound struct{ msg string }

func (e errNotFound) Error() string { return e.msg }

type errBadRequest struct{ msg string }

func (e errBadRequest) Error() string { return e.msg }

// Handler serves the management API of apigatewayv2 under /v2/. Every
// other /v2/ request gets apigatewayv2's JSON error: NotImplemented for an
// operation Portico does not serve.
func (c *Controller) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/apis", c.getAPIs)
	mux.HandleFunc("GET /v2/apis/{apiId}", c.getAPI)
	mux.HandleFunc("GET /v2/apis/{apiId}/routes", c.getRoutes)
	mux.HandleFunc("GET /v2/apis/{apiId}/routes/{routeId}", c.getRoute)
	mux.HandleFunc("GET /v2/apis/{apiId}/integrations", c.getIntegrations)
	mux.HandleFunc("GET /v2/apis/{apiId}/integrations/{integrationId}", c.getIntegration)
	mux.HandleFunc("GET /v2/apis/{apiId}/stages", c.getStages)
	mux.HandleFunc("GET /v2/apis/{apiId}/stages/{stageName}", c.getStage)
	mux.HandleFunc("GET /v2/apis/{apiId}/authorizers", c.getAuthorizers)
	mux.HandleFunc("GET /v2/apis/{apiId}/authorizers/{authorizerId}", c.getAuthorizer)
	mux.HandleFunc("GET /v2/apis/{apiId}/deployments", c.getDeployments)
	mux.HandleFunc("GET /v2/apis/{apiId}/deployments/{deploymentId}", c.getDeployment)
	mux.HandleFunc("POST /v2/apis/{apiId}/deployments", c.createDeployment)
	mux.HandleFunc("GET /v2/domainnames", c.getDomainNames)
	mux.HandleFunc("GET /v2/domainnames/{domainName}", c.getDomainName)
	mux.HandleFunc("GET /v2/domainnames/{domainName}/apimappings", c.getAPIMappings)
	mux.HandleFunc("GET /v2/domainnames/{domainName}/apimappings/{apiMappingId}", c.getAPIMapping)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, unsupported("apigatewayv2", r)) })
	return mux
}

func (c *Controller) createDeployment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		StageName   string `json:"stageName"`
		Description string `json:"description"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		writeError(w, errBadRequest{"Invalid request body: " + err.Error()})
		return
	}
	if in.StageName == "" {
		writeError(w, errBadRequest{"stageName is required"})
		return
	}
	id, err := c.Deploy(r.Context(), r.PathValue("apiId"), in.StageName)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"deploymentId":     id,
		"deploymentStatus": "DEPLOYED",
		"autoDeployed":     false,
		"createdDate":      time.Now().UTC().Format(time.RFC3339),
		"description":      in.Description,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errUnsupported is an operation Portico does not serve.
type errUnsupported struct{ msg string }

func (e errUnsupported) Error() string { return e.msg }

// unsupported is the error of a request for an operation Portico does not
// serve: 501 with x-amzn-ErrorType NotImplemented, which the SDKs parse as
// an API error with that code and do not retry.
func unsupported(service string, r *http.Request) errUnsupported {
	return errUnsupported{"Portico does not serve this " + service + " operation: " + r.Method + " " + r.URL.Path}
}

// writeError renders err in apigatewayv2's error shape.
func writeError(w http.ResponseWriter, err error) {
	status, typ := http.StatusBadRequest, "BadRequestException"
	var nf errNotFound
	var br errBadRequest
	var un errUnsupported
	switch {
	case errors.As(err, &nf):
		status, typ = http.StatusNotFound, "NotFoundException"
	case errors.As(err, &un):
		status, typ = http.StatusNotImplemented, "NotImplemented"
	case errors.As(err, &br):
	default:
		// A spec that does not load or apply: the request was fine, the
		// definition is not.
		typ = "BadRequestException"
	}
	w.Header().Set("x-amzn-ErrorType", typ)
	writeJSON(w, status, map[string]string{"message": strings.TrimSpace(err.Error())})
}
