package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// deployCommand is `portico deploy`: cobra parses its flags into
// deployFlags, then cmdDeploy runs.
func deployCommand() *cobra.Command {
	f := &deployFlags{}
	cmd := &cobra.Command{
		Use:     "deploy STAGE",
		Short:   "Deploy the spec's current routes to a stage of a running Portico",
		Long:    "deploy attaches the spec file's current routes to a stage of a running `portico up`, through the\nmanagement API's CreateDeployment (for stages without autoDeploy).",
		Example: "  portico deploy prod\n  portico deploy v1 --api shop",
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdDeploy(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	f.api = fs.String("api", "", "API name or id (needed when the spec has several)")
	f.endpoint = fs.String("endpoint", defaultEndpoint(), "Portico's AWS endpoint")
	f.inst = addInstanceFlags(fs, nil)
	return cmd
}

// deployFlags are the flags of `portico deploy`.
type deployFlags struct {
	api      *string
	endpoint *string
	inst     *instanceFlags
}

// cmdDeploy attaches the spec file's current routes to a stage of a running
// `portico up`, through the management API's CreateDeployment.
func cmdDeploy(ctx context.Context, f *deployFlags, pos []string, stdout, stderr io.Writer) error {
	api, endpoint, inst := f.api, f.endpoint, f.inst
	client, _, err := inst.client()
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: portico deploy STAGE [--api NAME]")
	}
	ref := *api
	if ref == "" {
		var list struct {
			Items []struct {
				APIID string `json:"apiId"`
			} `json:"items"`
		}
		if err := call(ctx, client, http.MethodGet, *endpoint+"/v2/apis", nil, &list); err != nil {
			return err
		}
		if len(list.Items) != 1 {
			return fmt.Errorf("the spec has %d APIs: name one with --api", len(list.Items))
		}
		ref = list.Items[0].APIID
	}
	body, _ := json.Marshal(map[string]string{"stageName": pos[0]})
	var out struct {
		DeploymentID string `json:"deploymentId"`
	}
	if err := call(ctx, client, http.MethodPost, *endpoint+"/v2/apis/"+url.PathEscape(ref)+"/deployments", body, &out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deployed %s to stage %s (deployment %s)\n", ref, pos[0], out.DeploymentID)
	return nil
}

// call sends a JSON request to Portico's AWS endpoint and decodes the
// answer, turning AWS-shaped errors into Go errors. client signs the
// request (instanceFlags.client).
func call(ctx context.Context, client *http.Client, method, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("is `portico up` running? %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s: %s", resp.Header.Get("x-amzn-ErrorType"), e.Message)
		}
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}
