package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/portico-dev/portico/internal/control"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/spf13/cobra"
)

// routesCommand is `portico routes`: cobra parses its flags into
// routesFlags, then cmdRoutes runs.
func routesCommand() *cobra.Command {
	f := &routesFlags{}
	cmd := &cobra.Command{
		Use:     "routes [-f FILE]",
		Short:   "Print the route table of every API and stage of a spec",
		Long:    "routes prints the route table of every API and stage, from the spec alone: what\n`aws apigatewayv2 get-routes` and get-stage show once it runs.",
		Example: "  portico routes\n  portico routes -f examples/seed/portico.yaml --output json",
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdRoutes(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	f.file = fs.StringP("file", "f", spec.DefaultFile, "spec file")
	f.output = fs.String("output", "table", "table or json (apigatewayv2-shaped, per stage)")
	return cmd
}

// routesFlags are the flags of `portico routes`.
type routesFlags struct {
	file   *string
	output *string
}

// cmdRoutes prints the route table of every API and stage of a spec, from
// the spec alone: what `aws apigatewayv2 get-routes` and get-stage show
// once it runs (the JSON items are get-routes' items, with the same IDs).
func cmdRoutes(ctx context.Context, f *routesFlags, pos []string, stdout, stderr io.Writer) error {
	file, output := f.file, f.output
	if len(pos) != 0 {
		return errors.New("usage: portico routes [-f FILE] [--output table|json]")
	}
	if *output != "table" && *output != "json" {
		return fmt.Errorf("--output %q: use table or json", *output)
	}
	sp, err := spec.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError{1}
	}
	stages := routeTables(sp)
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(stages)
	}
	return printRouteTables(stdout, stages)
}

// stageRoutes is one stage's routes, shaped as apigatewayv2 get-routes
// (Items) and get-stage (route settings) answer.
type stageRoutes struct {
	APIID                string                    `json:"ApiId"`
	APIName              string                    `json:"ApiName"`
	StageName            string                    `json:"StageName"`
	DefaultRouteSettings *routeSettings            `json:"DefaultRouteSettings,omitempty"`
	RouteSettings        map[string]*routeSettings `json:"RouteSettings,omitempty"`
	Items                []routeItem               `json:"Items"`

	integrations map[string]*spec.Integration
}

type routeItem struct {
	APIGatewayManaged   bool     `json:"ApiGatewayManaged"`
	APIKeyRequired      bool     `json:"ApiKeyRequired"`
	AuthorizationScopes []string `json:"AuthorizationScopes,omitempty"`
	AuthorizationType   string   `json:"AuthorizationType"`
	AuthorizerID        string   `json:"AuthorizerId,omitempty"`
	RouteID             string   `json:"RouteId"`
	RouteKey            string   `json:"RouteKey"`
	Target              string   `json:"Target"`

	integration, authorizer string         // their names in the spec
	settings                *routeSettings // the effective throttle
}

type routeSettings struct {
	ThrottlingBurstLimit *int     `json:"ThrottlingBurstLimit,omitempty"`
	ThrottlingRateLimit  *float64 `json:"ThrottlingRateLimit,omitempty"`
}

func toSettings(s *spec.RouteSettings) *routeSettings {
	if s == nil || (s.ThrottlingBurstLimit == nil && s.ThrottlingRateLimit == nil) {
		return nil
	}
	return &routeSettings{ThrottlingBurstLimit: s.ThrottlingBurstLimit, ThrottlingRateLimit: s.ThrottlingRateLimit}
}

// routeTables lists sp's stages sorted by API name and stage name, each
// with its routes sorted by route key.
func routeTables(sp *spec.Spec) []stageRoutes {
	var out []stageRoutes
	for _, apiName := range sortedKeys(sp.APIs) {
		api := sp.APIs[apiName]
		for _, stName := range sortedKeys(api.Stages) {
			st := api.Stages[stName]
			sr := stageRoutes{APIID: api.ID, APIName: apiName, StageName: stName, Items: []routeItem{},
				DefaultRouteSettings: toSettings(st.DefaultRouteSettings), integrations: api.Integrations}
			for k, s := range st.RouteSettings {
				if rs := toSettings(s); rs != nil {
					if sr.RouteSettings == nil {
						sr.RouteSettings = map[string]*routeSettings{}
					}
					sr.RouteSettings[k] = rs
				}
			}
			for _, key := range sortedKeys(api.Routes) {
				r := api.Routes[key]
				// The IDs are those of the management API (get-routes).
				it := routeItem{APIKeyRequired: r.APIKeyRequired, AuthorizationScopes: r.AuthorizationScopes,
					AuthorizationType: r.AuthorizationType, RouteID: control.RouteID(api.ID, key), RouteKey: key,
					Target: "integrations/" + control.IntegrationID(api.ID, r.Integration), settings: sr.DefaultRouteSettings,
					integration: r.Integration, authorizer: r.Authorizer}
				if r.Authorizer != "" {
					it.AuthorizerID = control.AuthorizerID(api.ID, r.Authorizer)
				}
				if it.AuthorizationType == "" {
					it.AuthorizationType = "NONE"
				}
				if rs := sr.RouteSettings[key]; rs != nil {
					merged := routeSettings{}
					if sr.DefaultRouteSettings != nil {
						merged = *sr.DefaultRouteSettings
					}
					if rs.ThrottlingBurstLimit != nil {
						merged.ThrottlingBurstLimit = rs.ThrottlingBurstLimit
					}
					if rs.ThrottlingRateLimit != nil {
						merged.ThrottlingRateLimit = rs.ThrottlingRateLimit
					}
					it.settings = &merged
				}
				sr.Items = append(sr.Items, it)
			}
			out = append(out, sr)
		}
	}
	return out
}

func printRouteTables(w io.Writer, stages []stageRoutes) error {
	for i, st := range stages {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "API %s (%s), stage %s\n", st.APIName, st.APIID, st.StageName)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROUTE KEY\tINTEGRATION\tAUTHORIZATION\tAPI KEY\tTHROTTLE")
		for _, it := range st.Items {
			name := it.integration
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.RouteKey, describeIntegration(name, st.integrations[name]),
				describeAuth(it), yesNo(it.APIKeyRequired), describeThrottle(it.settings))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func describeIntegration(name string, in *spec.Integration) string {
	if in == nil {
		return name
	}
	target := in.Function
	if in.Type == spec.HTTPProxy {
		target = in.URI
		if in.Method != "" && in.Method != "ANY" {
			target = in.Method + " " + target
		}
		if target == "" && len(in.Upstreams) > 0 {
			us := make([]string, len(in.Upstreams))
			for i, u := range in.Upstreams {
				us[i] = u.URI
			}
			target = strings.Join(us, ",")
		}
	}
	return name + ": " + in.Type + " " + target
}

func describeAuth(it routeItem) string {
	s := it.AuthorizationType
	if it.authorizer != "" {
		s += " " + it.authorizer
	}
	if len(it.AuthorizationScopes) > 0 {
		s += " [" + strings.Join(it.AuthorizationScopes, " ") + "]"
	}
	return s
}

func describeThrottle(s *routeSettings) string {
	if s == nil || (s.ThrottlingRateLimit == nil && s.ThrottlingBurstLimit == nil) {
		return "-"
	}
	rate, burst := "-", "-"
	if s.ThrottlingRateLimit != nil {
		rate = strconv.FormatFloat(*s.ThrottlingRateLimit, 'f', -1, 64)
	}
	if s.ThrottlingBurstLimit != nil {
		burst = strconv.Itoa(*s.ThrottlingBurstLimit)
	}
	return rate + "/s burst " + burst
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
