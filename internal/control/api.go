package control

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// The management API speaks apigatewayv2's REST-JSON wire shape (camelCase
// members, {"message"} errors with x-amzn-errortype), for the operations a
// local system needs: GetApis, GetStages and CreateDeployment.

type errNotFound struct{ msg string }

func (e errNotFound) Error() string { return e.msg }

type errBadRequest struct{ msg string }

func (e errBadRequest) Error() string { return e.msg }

// Handler serves the management API under /v2/.
func (c *Controller) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/apis", c.getAPIs)
	mux.HandleFunc("GET /v2/apis/{apiId}/stages", c.getStages)
	mux.HandleFunc("POST /v2/apis/{apiId}/deployments", c.createDeployment)
	return mux
}

type apiOut struct {
	APIID                    string `json:"apiId"`
	Name                     string `json:"name"`
	ProtocolType             string `json:"protocolType"`
	RouteSelectionExpression string `json:"routeSelectionExpression"`
}

func (c *Controller) getAPIs(w http.ResponseWriter, r *http.Request) {
	sp := c.Spec()
	items := []apiOut{}
	if sp != nil {
		for _, name := range sortedKeys(sp.APIs) {
			a := sp.APIs[name]
			items = append(items, apiOut{APIID: a.ID, Name: a.Name, ProtocolType: a.ProtocolType,
				RouteSelectionExpression: "$request.method $request.path"})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

type stageOut struct {
	StageName       string            `json:"stageName"`
	AutoDeploy      bool              `json:"autoDeploy"`
	DeploymentID    string            `json:"deploymentId"`
	StageVariables  map[string]string `json:"stageVariables,omitempty"`
	LastUpdatedDate string            `json:"lastUpdatedDate"`
}

func (c *Controller) getStages(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spec == nil {
		writeError(w, errNotFound{"Invalid API identifier specified " + r.PathValue("apiId")})
		return
	}
	a := findAPI(c.spec, r.PathValue("apiId"))
	if a == nil {
		writeError(w, errNotFound{"Invalid API identifier specified " + r.PathValue("apiId")})
		return
	}
	items := []stageOut{}
	for _, name := range sortedKeys(a.Stages) {
		st := a.Stages[name]
		d := c.deployed[a.Name][name]
		items = append(items, stageOut{StageName: name, AutoDeploy: st.AutoDeploy, DeploymentID: d.id,
			StageVariables: st.StageVariables, LastUpdatedDate: d.at.Format(time.RFC3339)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
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

func writeError(w http.ResponseWriter, err error) {
	status, typ := http.StatusBadRequest, "BadRequestException"
	var nf errNotFound
	var br errBadRequest
	switch {
	case errors.As(err, &nf):
		status, typ = http.StatusNotFound, "NotFoundException"
	case errors.As(err, &br):
	default:
		// A spec that does not load or apply: the request was fine, the
		// definition is not.
		typ = "BadRequestException"
	}
	w.Header().Set("x-amzn-ErrorType", typ)
	writeJSON(w, status, map[string]string{"message": strings.TrimSpace(err.Error())})
}
