package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/portico-dev/portico/internal/apikey"
	"github.com/spf13/cobra"
)

// apikeyCommand is `portico apikey`: cobra parses its flags into
// apikeyFlags, then cmdAPIKey runs.
func apikeyCommand() *cobra.Command {
	f := &apikeyFlags{}
	cmd := &cobra.Command{
		Use:       "apikey create NAME --plan PLAN | delete NAME | list",
		Short:     "Create, delete and list the API keys of a running Portico",
		Long:      "apikey manages the API keys of a running `portico up`: a key belongs to a usage plan of the spec.",
		Example:   "  portico apikey create alice --plan basic\n  portico apikey list --values\n  portico apikey delete alice",
		ValidArgs: []string{"create", "delete", "list"},
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdAPIKey(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	f.plan = fs.String("plan", "", "usage plan of a new key")
	f.endpoint = fs.String("endpoint", defaultEndpoint(), "Portico's AWS endpoint")
	f.values = fs.Bool("values", false, "list: show the keys' values")
	f.inst = addInstanceFlags(fs, nil)
	return cmd
}

// apikeyFlags are the flags of `portico apikey`.
type apikeyFlags struct {
	plan     *string
	endpoint *string
	values   *bool
	inst     *instanceFlags
}

// cmdAPIKey manages the API keys of a running `portico up`.
func cmdAPIKey(ctx context.Context, f *apikeyFlags, pos []string, stdout, stderr io.Writer) error {
	plan, endpoint, values, inst := f.plan, f.endpoint, f.values, f.inst
	client, _, err := inst.client()
	if err != nil {
		return err
	}
	base := *endpoint + apikey.HandlerPrefix
	switch {
	case len(pos) == 2 && pos[0] == "create":
		if *plan == "" {
			return errors.New("usage: portico apikey create NAME --plan PLAN")
		}
		body, _ := json.Marshal(map[string]string{"name": pos[1], "plan": *plan})
		var k apikey.Key
		if err := call(ctx, client, http.MethodPost, base, body, &k); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s (plan %s)\nx-api-key: %s\n", k.Name, k.Plan, k.Value)
	case len(pos) == 2 && pos[0] == "delete":
		if err := call(ctx, client, http.MethodDelete, base+"/"+url.PathEscape(pos[1]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted %s\n", pos[1])
	case len(pos) == 1 && pos[0] == "list":
		q := ""
		if *values {
			q = "?includeValues=true"
		}
		var out struct {
			Keys []apikey.Key `json:"keys"`
		}
		if err := call(ctx, client, http.MethodGet, base+q, nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tPLAN\tENABLED\tCREATED\tVALUE")
		for _, k := range out.Keys {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", k.Name, k.Plan, k.Enabled, k.Created.Format("2006-01-02T15:04:05Z"), k.Value)
		}
		return tw.Flush()
	default:
		return errors.New("usage: portico apikey create NAME --plan PLAN | delete NAME | list [--values]")
	}
	return nil
}

// usageCommand is `portico usage`: cobra parses its flags into
// usageFlags, then cmdUsage runs.
func usageCommand() *cobra.Command {
	f := &usageFlags{}
	cmd := &cobra.Command{
		Use:     "usage KEY",
		Short:   "Print an API key's usage in its plan's current quota period",
		Long:    "usage prints an API key's requests and tokens in its usage plan's current quota period.",
		Example: "  portico usage alice",
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdUsage(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	f.endpoint = fs.String("endpoint", defaultEndpoint(), "Portico's AWS endpoint")
	f.inst = addInstanceFlags(fs, nil)
	return cmd
}

// usageFlags are the flags of `portico usage`.
type usageFlags struct {
	endpoint *string
	inst     *instanceFlags
}

// cmdUsage prints an API key's usage in its plan's current quota period.
func cmdUsage(ctx context.Context, f *usageFlags, pos []string, stdout, stderr io.Writer) error {
	endpoint, inst := f.endpoint, f.inst
	if len(pos) != 1 {
		return errors.New("usage: portico usage KEY")
	}
	client, _, err := inst.client()
	if err != nil {
		return err
	}
	var u apikey.Usage
	if err := call(ctx, client, http.MethodGet, *endpoint+apikey.HandlerPrefix+"/"+url.PathEscape(pos[0])+"/usage", nil, &u); err != nil {
		return err
	}
	limit, remaining := "unlimited", "-"
	if u.Limit >= 0 {
		limit, remaining = fmt.Sprint(u.Limit), fmt.Sprint(u.Remaining)
	}
	fmt.Fprintf(stdout, "key %s (plan %s): %d requests this %s, limit %s, remaining %s, resets %s\n",
		u.Key, u.Plan, u.Used, u.Period, limit, remaining, u.Reset.Format("2006-01-02T15:04:05Z"))
	for _, w := range []struct {
		period string
		t      apikey.TokenWindow
	}{{"MINUTE", u.Tokens.Minute}, {"DAY", u.Tokens.Day}} {
		limit := "unlimited"
		if w.t.Limit >= 0 {
			limit = fmt.Sprint(w.t.Limit)
		}
		fmt.Fprintf(stdout, "tokens this %s: %d prompt, %d completion, %d total, limit %s, resets %s\n",
			w.period, w.t.Prompt, w.t.Completion, w.t.Total, limit, w.t.Reset.Format("2006-01-02T15:04:05Z"))
	}
	return nil
}
