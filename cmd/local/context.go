package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// contextFile, inside cdk.out, records the CONTEXT the assembly was made
// with: one key=value a line, sorted. The Makefile writes the same file after
// `make synth`, `diff`, `deploy` and `destroy` (each of which writes cdk.out).
const contextFile = ".context"

// parseContext reads CONTEXT ("key=value key2=value2") into its pairs,
// sorted and without exact repeats, as `$(sort $(CONTEXT))` gives them in the
// Makefile. A word without "=", an empty key, or one key given twice with
// different values is an error naming it.
func parseContext(s string) ([]string, error) {
	var pairs []string
	values := map[string]string{}
	for _, kv := range strings.Fields(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("CONTEXT: %q is not key=value (e.g. CONTEXT=\"corsOrigins=https://app.example.com restAuthorizer=jwt\")", kv)
		}
		if prev, seen := values[k]; seen && prev != v {
			return nil, fmt.Errorf("CONTEXT: %s is given twice (%q and %q): keep one", k, prev, v)
		}
		values[k] = v
		pairs = append(pairs, kv)
	}
	slices.Sort(pairs)
	return slices.Compact(pairs), nil
}

// contextArgs are the cdk CLI arguments for the pairs: -c key=value each.
func contextArgs(pairs []string) []string {
	var args []string
	for _, kv := range pairs {
		args = append(args, "-c", kv)
	}
	return args
}

// errNoContextRecord: cdk.out has no record of its context (made before
// CONTEXT existed, or by a cdk run that failed).
var errNoContextRecord = errors.New("no context record")

// recordedContext reads the pairs cdk.out was made with.
func recordedContext(cdkOut string) ([]string, error) {
	raw, err := os.ReadFile(filepath.Join(cdkOut, contextFile))
	if os.IsNotExist(err) {
		return nil, errNoContextRecord
	}
	if err != nil {
		return nil, err
	}
	return parseContext(string(raw))
}

// writeContext records the pairs cdk.out was just made with.
func writeContext(cdkOut string, pairs []string) error {
	var b strings.Builder
	for _, kv := range pairs {
		b.WriteString(kv + "\n")
	}
	return os.WriteFile(filepath.Join(cdkOut, contextFile), []byte(b.String()), 0o644)
}

// contextReason says why cdk.out does not match the requested context ("" when it does).
func contextReason(cdkOut string, want []string) (string, error) {
	have, err := recordedContext(cdkOut)
	if errors.Is(err, errNoContextRecord) {
		return filepath.Join(filepath.Base(cdkOut), contextFile) + " is missing, so the context cdk.out was made with is unknown", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w (delete it to synthesize again)", filepath.Join(cdkOut, contextFile), err)
	}
	if slices.Equal(have, want) {
		return "", nil
	}
	show := func(p []string) string {
		if len(p) == 0 {
			return "none"
		}
		return strings.Join(p, " ")
	}
	return fmt.Sprintf("CONTEXT (%s) differs from the one cdk.out was made with (%s)", show(want), show(have)), nil
}
