// Package layers holds no code: its test checks the module's import graph
// against the house's layers (see docs/architecture.md, "Layers"), so that
// a change that makes the HTTP server link the function runner, or the
// spec depend on the runtime, fails in CI instead of in review.
package layers
