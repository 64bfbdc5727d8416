package control

import (
	"fmt"

	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/spec"
)

// Storage is the embedded S3 store as the controller drives it: buckets
// declared in the spec are created (and filled from their contents
// directories) at every apply, and the principals that may call it follow
// the spec's functions, roles and access keys. With an external store
// (the spec's storage:) Portico's own store holds no buckets of the spec.
type Storage struct {
	Server      *s3.Server
	Keyring     *s3.Keyring
	Credentials *lambda.FunctionCredentials
	// Admin is the admin principal's key (allowed everything on the AWS
	// endpoint); none when empty.
	Admin sigv4.Credentials
}

// principals are the callers the store knows under sp: the admin, each
// function (with its own credentials) and each access key, with the
// policies of their roles. Without a store only the access keys are
// listed (Check's view).
func (c *Controller) principals(sp *spec.Spec) ([]s3.Principal, error) {
	st := c.deps.Storage
	var ps []s3.Principal
	if st != nil && st.Admin.AccessKeyID != "" {
		ps = append(ps, s3.Principal{Name: "admin", Admin: true, ARN: "arn:aws:iam::" + c.cfg.AccountID + ":root", Credentials: st.Admin})
	}
	for _, name := range sortedKeys(sp.Functions) {
		f := sp.Functions[name]
		policies, err := c.rolePolicies(sp.Roles[f.Role])
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", name, err)
		}
		if st == nil || st.Credentials == nil {
			continue
		}
		id, secret, token := st.Credentials.ForName(name)
		ps = append(ps, s3.Principal{Name: "function/" + name, Policies: policies, ARN: roleSessionARN(c.cfg.AccountID, f.Role, name),
			Credentials: sigv4.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}})
	}
	for _, name := range sortedKeys(sp.AccessKeys) {
		k := sp.AccessKeys[name]
		policies, err := c.rolePolicies(sp.Roles[k.Role])
		if err != nil {
			return nil, fmt.Errorf("access key %s: %w", name, err)
		}
		ps = append(ps, s3.Principal{Name: "accessKey/" + name, Policies: policies, ARN: "arn:aws:iam::" + c.cfg.AccountID + ":role/" + k.Role,
			Credentials: sigv4.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}})
	}
	return ps, nil
}

// FunctionCredentials returns what a function's sandbox gets as its AWS
// credentials: the external store's when the spec points buckets at one,
// else the function's own, which the embedded store maps to its role.
func (c *Controller) FunctionCredentials(fn lambda.Function) (id, secret, token string) {
	if sp := c.Spec(); sp != nil && sp.Storage != nil && sp.Storage.AccessKeyID != "" {
		return sp.Storage.AccessKeyID, sp.Storage.SecretAccessKey, ""
	}
	if c.deps.Storage != nil {
		return c.deps.Storage.Credentials.For(fn)
	}
	return "", "", "" // no store: no credentials
}

// roleSessionARN is how AWS names a function calling with its execution
// role's credentials: the role's session named after the function.
func roleSessionARN(account, role, function string) string {
	if role == "" {
		role = function
	}
	return "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + function
}
