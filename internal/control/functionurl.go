package control

import (
	"fmt"

	"github.com/portico-dev/portico/internal/cors"
	"github.com/portico-dev/portico/internal/functionurl"
	"github.com/portico-dev/portico/internal/spec"
)

// functionURLs serves the spec's function URLs on the deployment b.
func (c *Controller) functionURLs(b *built, sp *spec.Spec) error {
	cfg := functionurl.Config{Region: c.cfg.Region, AccountID: c.cfg.AccountID}
	for _, name := range sortedKeys(sp.Functions) {
		u := sp.Functions[name].URL
		if u == nil {
			continue
		}
		fu := functionurl.URL{Function: name, ID: spec.DeriveURLID(name), AuthorizationType: u.AuthorizationType, InvokeMode: u.InvokeMode}
		if cc := u.Cors; cc != nil {
			p, err := cors.New(cors.Config{AllowOrigins: cc.AllowOrigins, AllowMethods: cc.AllowMethods, AllowHeaders: cc.AllowHeaders,
				ExposeHeaders: cc.ExposeHeaders, MaxAge: cc.MaxAge, AllowCredentials: cc.AllowCredentials})
			if err != nil {
				return fmt.Errorf("function %s: url cors: %w", name, err)
			}
			fu.CORS = p
		}
		cfg.URLs = append(cfg.URLs, fu)
	}
	if len(cfg.URLs) == 0 {
		return nil
	}
	deps := functionurl.Deps{Invoker: c.deps.Runner, Logger: c.deps.Logger}
	if c.deps.WebSockets != nil {
		deps.Sinks = c.deps.WebSockets.Sinks // the server's sinks: metrics, the console
	}
	if c.deps.Storage != nil && c.deps.Storage.Keyring != nil {
		deps.Principals = c.deps.Storage.Keyring
	}
	h, err := functionurl.New(cfg, deps)
	if err != nil {
		return err
	}
	b.Deployment.SetFunctionURLs(functionurl.Match, h)
	return nil
}
