package control

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/spec"
)

// apigatewayv2's read side: every resource of the spec's APIs in the
// shapes of botocore's apigatewayv2 model (member names as locationName,
// timestamps ISO 8601). The spec has no IDs for routes, integrations and
// authorizers: resourceID derives stable ones, and the spec's names are
// accepted wherever an ID is.

// resourceID is the stable 7-character ID of an API's route, integration
// or authorizer, derived from the API ID, the kind and the spec's name.
func resourceID(apiID, kind, name string) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(apiID + "\x00" + kind + "\x00" + name))
	var b [7]byte
	for i := range b {
		b[i] = digits[int(sum[i])%len(digits)]
	}
	return string(b[:])
}

// RouteID is the ID the management API gives the route with key routeKey
// of the API with ID apiID.
func RouteID(apiID, routeKey string) string { return resourceID(apiID, "route", routeKey) }

// IntegrationID is the ID the management API gives a spec's integration.
func IntegrationID(apiID, name string) string { return resourceID(apiID, "integration", name) }

// AuthorizerID is the ID the management API gives a spec's authorizer.
func AuthorizerID(apiID, name string) string { return resourceID(apiID, "authorizer", name) }

// isoTime is apigatewayv2's timestamp format.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// apigwNotFound is apigatewayv2's answer for an unknown resource.
func apigwNotFound(kind, id string) errNotFound {
	return errNotFound{"Invalid " + kind + " identifier specified " + id}
}

type corsOut struct {
	AllowCredentials bool     `json:"allowCredentials"`
	AllowHeaders     []string `json:"allowHeaders,omitempty"`
	AllowMethods     []string `json:"allowMethods,omitempty"`
	AllowOrigins     []string `json:"allowOrigins,omitempty"`
	ExposeHeaders    []string `json:"exposeHeaders,omitempty"`
	MaxAge           *int     `json:"maxAge,omitempty"`
}

type apiOut struct {
	APIEndpoint               string            `json:"apiEndpoint"`
	APIGatewayManaged         bool              `json:"apiGatewayManaged"`
	APIID                     string            `json:"apiId"`
	APIKeySelectionExpression string            `json:"apiKeySelectionExpression"`
	CorsConfiguration         *corsOut          `json:"corsConfiguration,omitempty"`
	CreatedDate               string            `json:"createdDate"`
	DisableExecuteAPIEndpoint bool              `json:"disableExecuteApiEndpoint"`
	IPAddressType             string            `json:"ipAddressType"`
	Name                      string            `json:"name"`
	ProtocolType              string            `json:"protocolType"`
	RouteSelectionExpression  string            `json:"routeSelectionExpression"`
	Tags                      map[string]string `json:"tags"`
}

type routeOut struct {
	APIGatewayManaged   bool     `json:"apiGatewayManaged"`
	APIKeyRequired      bool     `json:"apiKeyRequired"`
	AuthorizationScopes []string `json:"authorizationScopes,omitempty"`
	AuthorizationType   string   `json:"authorizationType"`
	AuthorizerID        string   `json:"authorizerId,omitempty"`
	RouteID             string   `json:"routeId"`
	RouteKey            string   `json:"routeKey"`
	Target              string   `json:"target"`
}

type integrationOut struct {
	APIGatewayManaged    bool   `json:"apiGatewayManaged"`
	ConnectionType       string `json:"connectionType"`
	Description          string `json:"description,omitempty"`
	IntegrationID        string `json:"integrationId"`
	IntegrationMethod    string `json:"integrationMethod"`
	IntegrationType      string `json:"integrationType"`
	IntegrationURI       string `json:"integrationUri"`
	PayloadFormatVersion string `json:"payloadFormatVersion"`
	TimeoutInMillis      int    `json:"timeoutInMillis"`
}

type routeSettingsOut struct {
	DataTraceEnabled       bool     `json:"dataTraceEnabled"`
	DetailedMetricsEnabled bool     `json:"detailedMetricsEnabled"`
	ThrottlingBurstLimit   *int     `json:"throttlingBurstLimit,omitempty"`
	ThrottlingRateLimit    *float64 `json:"throttlingRateLimit,omitempty"`
}

type accessLogOut struct {
	DestinationArn string `json:"destinationArn"`
	Format         string `json:"format,omitempty"`
}

type stageOut struct {
	AccessLogSettings    *accessLogOut                `json:"accessLogSettings,omitempty"`
	APIGatewayManaged    bool                         `json:"apiGatewayManaged"`
	AutoDeploy           bool                         `json:"autoDeploy"`
	CreatedDate          string                       `json:"createdDate"`
	DefaultRouteSettings routeSettingsOut             `json:"defaultRouteSettings"`
	DeploymentID         string                       `json:"deploymentId"`
	LastUpdatedDate      string                       `json:"lastUpdatedDate"`
	RouteSettings        map[string]*routeSettingsOut `json:"routeSettings"`
	StageName            string                       `json:"stageName"`
	StageVariables       map[string]string            `json:"stageVariables"`
	Tags                 map[string]string            `json:"tags"`
}

type jwtOut struct {
	Audience []string `json:"audience"`
	Issuer   string   `json:"issuer"`
}

type authorizerOut struct {
	AuthorizerID                   string   `json:"authorizerId"`
	AuthorizerPayloadFormatVersion string   `json:"authorizerPayloadFormatVersion,omitempty"`
	AuthorizerResultTTLInSeconds   *int     `json:"authorizerResultTtlInSeconds,omitempty"`
	AuthorizerType                 string   `json:"authorizerType"`
	AuthorizerURI                  string   `json:"authorizerUri,omitempty"`
	EnableSimpleResponses          bool     `json:"enableSimpleResponses"`
	IdentitySource                 []string `json:"identitySource"`
	JWTConfiguration               *jwtOut  `json:"jwtConfiguration,omitempty"`
	Name                           string   `json:"name"`
}

type deploymentOut struct {
	AutoDeployed     bool   `json:"autoDeployed"`
	CreatedDate      string `json:"createdDate"`
	DeploymentID     string `json:"deploymentId"`
	DeploymentStatus string `json:"deploymentStatus"`
}

// mgmtView is what one management request reads, taken under the lock.
type mgmtView struct {
	sp       *spec.Spec
	deployed map[string]map[string]*deployed
	created  time.Time
}

func (c *Controller) view() mgmtView {
	c.mu.Lock()
	defer c.mu.Unlock()
	return mgmtView{sp: c.spec, deployed: c.deployed, created: c.mgmt.created}
}

// api finds the API of the request's {apiId} (its ID or name).
func (v mgmtView) api(r *http.Request) (*spec.API, error) {
	ref := r.PathValue("apiId")
	if v.sp != nil {
		if a := findAPI(v.sp, ref); a != nil && ref != "" {
			return a, nil
		}
	}
	return nil, apigwNotFound("API", ref)
}

// apiEndpoint is the URL an API is reached at: the gateway's address with
// one API, its own host name ({apiId}.execute-api.localhost) with several.
func (c *Controller) apiEndpoint(sp *spec.Spec, a *spec.API) string {
	addr := c.cfg.GatewayAddr
	if addr == "" {
		return ""
	}
	if len(sp.APIs) > 1 {
		if _, port, err := net.SplitHostPort(addr); err == nil {
			return "http://" + a.ID + ".execute-api.localhost:" + port
		}
	}
	return "http://" + addr
}

func (c *Controller) apiOut(v mgmtView, a *spec.API) apiOut {
	out := apiOut{APIEndpoint: c.apiEndpoint(v.sp, a), APIID: a.ID, APIKeySelectionExpression: "$request.header.x-api-key",
		CreatedDate: isoTime(v.created), IPAddressType: "ipv4", Name: a.Name, ProtocolType: a.ProtocolType,
		RouteSelectionExpression: "$request.method $request.path", Tags: map[string]string{}}
	if cr := a.Cors; cr != nil {
		out.CorsConfiguration = &corsOut{AllowCredentials: cr.AllowCredentials, AllowHeaders: cr.AllowHeaders,
			AllowMethods: cr.AllowMethods, AllowOrigins: cr.AllowOrigins, ExposeHeaders: cr.ExposeHeaders, MaxAge: cr.MaxAge}
	}
	return out
}

func (c *Controller) getAPIs(w http.ResponseWriter, r *http.Request) {
	v := c.view()
	items := []apiOut{}
	if v.sp != nil {
		for _, name := range sortedKeys(v.sp.APIs) {
			items = append(items, c.apiOut(v, v.sp.APIs[name]))
		}
	}
	writeItems(w, r, items)
}

func (c *Controller) getAPI(w http.ResponseWriter, r *http.Request) {
	v := c.view()
	a, err := v.api(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.apiOut(v, a))
}

func routeOf(a *spec.API, key string) routeOut {
	rt := a.Routes[key]
	out := routeOut{APIKeyRequired: rt.APIKeyRequired, AuthorizationScopes: rt.AuthorizationScopes,
		AuthorizationType: rt.AuthorizationType, RouteID: RouteID(a.ID, key), RouteKey: key,
		Target: "integrations/" + IntegrationID(a.ID, rt.Integration)}
	if out.AuthorizationType == "" {
		out.AuthorizationType = "NONE"
	}
	if rt.Authorizer != "" {
		out.AuthorizerID = AuthorizerID(a.ID, rt.Authorizer)
	}
	return out
}

func (c *Controller) getRoutes(w http.ResponseWriter, r *http.Request) {
	listOf(c, w, r, func(a *spec.API) []routeOut {
		items := []routeOut{}
		for _, key := range sortedKeys(a.Routes) {
			items = append(items, routeOf(a, key))
		}
		return items
	})
}

func (c *Controller) getRoute(w http.ResponseWriter, r *http.Request) {
	oneOf(c, w, r, "routeId", "Route", func(a *spec.API, id string) (routeOut, bool) {
		for key := range a.Routes {
			if id == RouteID(a.ID, key) || id == key {
				return routeOf(a, key), true
			}
		}
		return routeOut{}, false
	})
}

func (c *Controller) integrationOf(a *spec.API, name string) integrationOut {
	in := a.Integrations[name]
	out := integrationOut{ConnectionType: "INTERNET", IntegrationID: IntegrationID(a.ID, name), IntegrationType: in.Type,
		PayloadFormatVersion: in.PayloadFormatVersion, TimeoutInMillis: in.TimeoutInMillis}
	switch in.Type {
	case spec.AWSProxy:
		out.IntegrationMethod, out.IntegrationURI = "POST", c.functionARN(in.Function)
	default:
		out.IntegrationMethod, out.IntegrationURI = in.Method, in.URI
		if out.IntegrationMethod == "" {
			out.IntegrationMethod = "ANY"
		}
		if out.IntegrationURI == "" && len(in.Upstreams) > 0 {
			us := make([]string, len(in.Upstreams))
			for i, u := range in.Upstreams {
				us[i] = u.URI
			}
			out.IntegrationURI = us[0]
			out.Description = "Portico upstreams: " + strings.Join(us, ", ")
		}
	}
	return out
}

// functionARN is the ARN of a function the spec names (a name or an ARN).
func (c *Controller) functionARN(fn string) string {
	if strings.HasPrefix(fn, "arn:") {
		return fn
	}
	return lambda.FunctionARN(c.cfg.Region, c.cfg.AccountID, fn)
}

func (c *Controller) getIntegrations(w http.ResponseWriter, r *http.Request) {
	listOf(c, w, r, func(a *spec.API) []integrationOut {
		items := []integrationOut{}
		for _, name := range sortedKeys(a.Integrations) {
			items = append(items, c.integrationOf(a, name))
		}
		return items
	})
}

func (c *Controller) getIntegration(w http.ResponseWriter, r *http.Request) {
	oneOf(c, w, r, "integrationId", "Integration", func(a *spec.API, id string) (integrationOut, bool) {
		for name := range a.Integrations {
			if id == IntegrationID(a.ID, name) || id == name {
				return c.integrationOf(a, name), true
			}
		}
		return integrationOut{}, false
	})
}

func settingsOut(s *spec.RouteSettings) routeSettingsOut {
	if s == nil {
		return routeSettingsOut{}
	}
	return routeSettingsOut{ThrottlingBurstLimit: s.ThrottlingBurstLimit, ThrottlingRateLimit: s.ThrottlingRateLimit}
}

func stageOf(v mgmtView, a *spec.API, name string) stageOut {
	st := a.Stages[name]
	out := stageOut{AutoDeploy: st.AutoDeploy, CreatedDate: isoTime(v.created), DefaultRouteSettings: settingsOut(st.DefaultRouteSettings),
		RouteSettings: map[string]*routeSettingsOut{}, StageName: name, StageVariables: st.StageVariables, Tags: map[string]string{}}
	if out.StageVariables == nil {
		out.StageVariables = map[string]string{}
	}
	if d := v.deployed[a.Name][name]; d != nil {
		out.DeploymentID, out.LastUpdatedDate = d.id, isoTime(d.at)
	}
	for key, s := range st.RouteSettings {
		rs := settingsOut(s)
		out.RouteSettings[key] = &rs
	}
	if l := st.AccessLogSettings; l != nil {
		dest := l.Destination
		if dest == "" {
			dest = "stdout"
		}
		out.AccessLogSettings = &accessLogOut{DestinationArn: dest, Format: l.Format}
	}
	return out
}

func (c *Controller) getStages(w http.ResponseWriter, r *http.Request) {
	v := c.view()
	a, err := v.api(r)
	if err != nil {
		writeError(w, err)
		return
	}
	items := []stageOut{}
	for _, name := range sortedKeys(a.Stages) {
		items = append(items, stageOf(v, a, name))
	}
	writeItems(w, r, items)
}

func (c *Controller) getStage(w http.ResponseWriter, r *http.Request) {
	v := c.view()
	a, err := v.api(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name := r.PathValue("stageName")
	if _, ok := a.Stages[name]; !ok {
		writeError(w, apigwNotFound("stage", name))
		return
	}
	writeJSON(w, http.StatusOK, stageOf(v, a, name))
}

func (c *Controller) authorizerOf(a *spec.API, name string) authorizerOut {
	au := a.Authorizers[name]
	out := authorizerOut{AuthorizerID: AuthorizerID(a.ID, name), AuthorizerType: au.Type, Name: name,
		IdentitySource: au.IdentitySource, EnableSimpleResponses: au.EnableSimpleResponses}
	if out.IdentitySource == nil {
		out.IdentitySource = []string{}
	}
	switch au.Type {
	case spec.AuthorizerJWT:
		if j := au.JWTConfiguration; j != nil {
			out.JWTConfiguration = &jwtOut{Audience: j.Audience, Issuer: j.Issuer}
		}
	case spec.AuthorizerRequest:
		out.AuthorizerPayloadFormatVersion = au.AuthorizerPayloadFormatVersion
		out.AuthorizerResultTTLInSeconds = au.AuthorizerResultTtlInSeconds
		out.AuthorizerURI = "arn:aws:apigateway:" + c.cfg.Region + ":lambda:path/2015-03-31/functions/" + c.functionARN(au.Function) + "/invocations"
	}
	return out
}

func (c *Controller) getAuthorizers(w http.ResponseWriter, r *http.Request) {
	listOf(c, w, r, func(a *spec.API) []authorizerOut {
		items := []authorizerOut{}
		for _, name := range sortedKeys(a.Authorizers) {
			items = append(items, c.authorizerOf(a, name))
		}
		return items
	})
}

func (c *Controller) getAuthorizer(w http.ResponseWriter, r *http.Request) {
	oneOf(c, w, r, "authorizerId", "Authorizer", func(a *spec.API, id string) (authorizerOut, bool) {
		for name := range a.Authorizers {
			if id == AuthorizerID(a.ID, name) || id == name {
				return c.authorizerOf(a, name), true
			}
		}
		return authorizerOut{}, false
	})
}

// deploymentsOf lists the deployments the API's stages run now, newest
// first (Portico keeps no history of the ones replaced).
func deploymentsOf(v mgmtView, a *spec.API) []deploymentOut {
	seen := map[string]bool{}
	type dep struct {
		*deployed
		auto bool
	}
	var ds []dep
	for name, st := range a.Stages {
		if d := v.deployed[a.Name][name]; d != nil && !seen[d.id] {
			seen[d.id] = true
			ds = append(ds, dep{d, st.AutoDeploy})
		}
	}
	sort.Slice(ds, func(i, j int) bool {
		if !ds[i].at.Equal(ds[j].at) {
			return ds[i].at.After(ds[j].at)
		}
		return ds[i].id < ds[j].id
	})
	items := []deploymentOut{}
	for _, d := range ds {
		items = append(items, deploymentOut{AutoDeployed: d.auto, CreatedDate: isoTime(d.at), DeploymentID: d.id, DeploymentStatus: "DEPLOYED"})
	}
	return items
}

func (c *Controller) getDeployments(w http.ResponseWriter, r *http.Request) {
	v := c.view()
	a, err := v.api(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeItems(w, r, deploymentsOf(v, a))
}

func (c *Controller) getDeployment(w http.ResponseWriter, r *http.Request) {
	v := c.view()
	a, err := v.api(r)
	if err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue("deploymentId")
	for _, d := range deploymentsOf(v, a) {
		if d.DeploymentID == id {
			writeJSON(w, http.StatusOK, d)
			return
		}
	}
	writeError(w, apigwNotFound("Deployment", id))
}

// listOf answers a GetX list operation of one API.
func listOf[T any](c *Controller, w http.ResponseWriter, r *http.Request, list func(*spec.API) []T) {
	v := c.view()
	a, err := v.api(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeItems(w, r, list(a))
}

// oneOf answers a GetX operation of one resource of one API, found by the
// path value param.
func oneOf[T any](c *Controller, w http.ResponseWriter, r *http.Request, param, kind string, find func(*spec.API, string) (T, bool)) {
	v := c.view()
	a, err := v.api(r)
	if err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue(param)
	out, ok := find(a, id)
	if !ok {
		writeError(w, apigwNotFound(kind, id))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// writeItems writes one page of a list operation: {"items", "nextToken"}.
func writeItems[T any](w http.ResponseWriter, r *http.Request, items []T) {
	out, next, err := page(items, r.URL.Query(), apigwPaging)
	if err != nil {
		writeError(w, errBadRequest{fmt.Sprint(err)})
		return
	}
	body := map[string]any{"items": out}
	if next != "" {
		body["nextToken"] = next
	}
	writeJSON(w, http.StatusOK, body)
}
