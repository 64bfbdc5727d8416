// Package programs only documents this module: the Pulumi Go programs that
// internal/pulumirun's tests run under Portico's resource monitor, one
// program per directory, each with its own Pulumi.yaml. They register AWS
// resources through the raw SDK (ctx.RegisterResource, ctx.Invoke) with the
// type tokens and property names pulumi-aws uses, instead of importing
// pulumi-aws: its Go SDK adds compile time the tests cannot afford.
//
// It is a module of its own so the programs build the way users' programs
// do, apart from Portico's go.mod, and it lives under testdata so that
// `go test ./...` and `go vet ./...` in Portico's module skip it
// (compileerror does not compile, on purpose).
package programs
