package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/readme"
)

// publicPackages are what a consumer of the library imports or builds.
var publicPackages = []string{
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify",
	"github.com/secure-api-go/apigw-jwt/lambdas/policy",
	"github.com/secure-api-go/apigw-jwt/lambdas/authz",
	"github.com/secure-api-go/apigw-jwt/lambdas/authorizer",
}

// cdkPrefixes are the CDK's Go modules: huge, and never needed at run time.
var cdkPrefixes = []string{"github.com/aws/aws-cdk-go", "github.com/aws/jsii-runtime-go", "github.com/aws/constructs-go"}

func isCDK(path string) bool {
	for _, p := range cdkPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// TestLibraryPullsNoCDK: the public packages and the binary depend on no
// package of the AWS CDK, so a module importing only them never builds it.
func TestLibraryPullsNoCDK(t *testing.T) {
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}"}, publicPackages...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	seen := map[string]bool{}
	for _, line := range lines {
		pkg, mod, _ := strings.Cut(line, " ")
		seen[pkg] = true
		if isCDK(pkg) || isCDK(mod) {
			t.Errorf("the library depends on %s (module %s)", pkg, mod)
		}
	}
	for _, p := range publicPackages {
		if !seen[p] {
			t.Errorf("go list did not list %s: the check saw nothing", p)
		}
	}
}

// readmeLibraryMain returns the README section's Go block that uses the
// library alone: the one under "### The library alone", which must be the
// section's second Go block once the construct's app (the first) is there.
func readmeLibraryMain(t *testing.T, root string) string {
	t.Helper()
	blocks, err := readme.GoBlocks(root, readme.ConsumerSection)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blocks {
		if !strings.HasPrefix(b.Subsection, "### The library alone") {
			continue
		}
		if i != 1 && len(blocks) > 1 {
			t.Fatalf("the library's main.go is Go block %d of the README section, want the second (DESIGN.md: the first is the construct's app)", i+1)
		}
		return b.Source
	}
	t.Fatalf("no Go block under \"### The library alone\"")
	return ""
}

// TestReadmeLibraryMain is the README's promise: its library-only Lambda
// main.go, as written, builds in a module of its own that requires this one
// (replace to this checkout), and that build needs no CDK module; our
// authorizer binary builds there by import path. Offline:
// the module cache only (GOPROXY=off).
func TestReadmeLibraryMain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	src := readmeLibraryMain(t, root)
	if strings.Count(src, "\n") > 40 {
		t.Errorf("the README's Lambda main.go has %d lines: keep it short", strings.Count(src, "\n"))
	}
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"main.go": src,
		"go.mod": "module example.com/ordersauth\n\ngo 1.26.0\n\n" +
			"require github.com/secure-api-go/apigw-jwt v0.0.0-00010101000000-000000000000\n\n" +
			"replace github.com/secure-api-go/apigw-jwt => " + root + "\n",
		"go.sum": string(sum),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("mod", "tidy", "-e") // -e: tests of dependencies need modules outside the cache
	run("build", "-tags", "lambda.norpc", "-o", "bootstrap", ".")
	run("vet", ".")
	// The ready-made binary builds from the consumer's module too, by import path.
	run("build", "-tags", "lambda.norpc", "-o", "authorizer", "github.com/secure-api-go/apigw-jwt/lambdas/authorizer")
	for _, line := range strings.Fields(run("list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", ".")) {
		if isCDK(line) {
			t.Errorf("the README's Lambda builds with the CDK module %s", line)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil {
		t.Fatalf("no binary: %v", err)
	}
}
