package bootstrap

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// family is the kind of bootstrap a runtime name selects.
type family int

const (
	familyPython family = iota + 1
	familyNode
	familyProvided
)

// runtimeInfo describes one runtime name.
type runtimeInfo struct {
	family family
	// major and minor of the language version the name stands for
	// (python3.12 -> 3, 12; nodejs20.x -> 20, 0; provided -> 0, 0).
	major, minor int
	// deprecated is the date AWS ended support for the runtime ("" while
	// it is supported). Source: the "Deprecated runtimes" table of
	// https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
	// as of February 2026 (nodejs24.x, released 2025-11-25, added since).
	deprecated string
}

// runtimes is every runtime name Supported accepts.
var runtimes = map[string]runtimeInfo{
	"python3.6":  {familyPython, 3, 6, "2022-07-18"},
	"python3.7":  {familyPython, 3, 7, "2023-12-04"},
	"python3.8":  {familyPython, 3, 8, "2024-10-14"},
	"python3.9":  {familyPython, 3, 9, "2025-12-15"},
	"python3.10": {familyPython, 3, 10, ""},
	"python3.11": {familyPython, 3, 11, ""},
	"python3.12": {familyPython, 3, 12, ""},
	"python3.13": {familyPython, 3, 13, ""},
	"python3.14": {familyPython, 3, 14, ""},

	"nodejs18.x": {familyNode, 18, 0, "2025-09-01"},
	"nodejs20.x": {familyNode, 20, 0, ""},
	"nodejs22.x": {familyNode, 22, 0, ""},
	"nodejs24.x": {familyNode, 24, 0, ""},

	"provided":        {familyProvided, 0, 0, "2024-01-08"},
	"provided.al2":    {familyProvided, 0, 0, ""},
	"provided.al2023": {familyProvided, 0, 0, ""},
}

// Supported reports whether runtime is a runtime name this package can run:
// python3.6 to python3.14, nodejs18.x to nodejs24.x, provided,
// provided.al2 and provided.al2023. It is meant for spec validation.
func Supported(runtime string) bool {
	_, ok := runtimes[runtime]
	return ok
}

// supportedList is the sorted list of runtime names, for error messages.
func supportedList() string {
	names := make([]string, 0, len(runtimes))
	for n := range runtimes {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// unsupportedError explains why runtime cannot be run.
func unsupportedError(fn Function) error {
	if fn.Runtime == "python2.7" {
		return fmt.Errorf("function %s: runtime python2.7 is not supported: handlers run on the machine's Python 3, "+
			"which cannot run Python 2 code, and AWS ended python2.7 support on 2021-07-15", fn.Name)
	}
	if fn.Runtime == "" {
		return fmt.Errorf("function %s: no runtime given (supported: %s)", fn.Name, supportedList())
	}
	return fmt.Errorf("function %s: runtime %s is not supported (supported: %s)", fn.Name, fn.Runtime, supportedList())
}

// version is a dotted version number of an interpreter.
type version struct {
	major, minor, patch int
	text                string // as the interpreter printed it, e.g. "3.11.7"
}

// parseVersion parses "3.11.7", "v20.20.2" or "go1.26.8" (the leading
// letters are dropped; missing parts are zero).
func parseVersion(s string) (version, error) {
	s = strings.TrimSpace(s)
	text := strings.TrimLeft(s, "abcdefghijklmnopqrstuvwxyz")
	parts := strings.SplitN(text, ".", 3)
	var nums [3]int
	for i, p := range parts {
		// Cut suffixes such as "rc1" or "+local".
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		if end == 0 {
			return version{}, fmt.Errorf("parse version %q", s)
		}
		n, err := strconv.Atoi(p[:end])
		if err != nil {
			return version{}, fmt.Errorf("parse version %q: %w", s, err)
		}
		nums[i] = n
	}
	return version{major: nums[0], minor: nums[1], patch: nums[2], text: text}, nil
}
