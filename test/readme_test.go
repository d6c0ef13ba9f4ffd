package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/constructs/jwtauthorizer"
	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/readme"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
)

// TestReadmeConstructApp is the README's promise to a stranger: its first
// Go block, as written, is the main.go of a CDK app in a module of its own
// that requires this one (replace to this checkout, the two Lambdas as tool
// lines as the README says). It builds; it synthesizes with real bundling -
// the authorizer and the seed compiled by import path from that module -
// and the template holds both authorizers, the rules, the seeds and no
// wildcard grant. Offline: the module cache only (GOPROXY=off).
func TestReadmeConstructApp(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and synthesizes a CDK app")
	}
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	blocks, err := readme.GoBlocks(root, readme.ConsumerSection)
	if err != nil {
		t.Fatal(err)
	}
	write("main.go", blocks[0].Source)
	// The Lambdas are built with the consumer's pinned Go release (its
	// toolchain line, as gobuild.Toolchain reads it): the same as ours here,
	// so the test needs no toolchain download.
	toolchain, err := gobuild.Toolchain(root)
	if err != nil {
		t.Fatal(err)
	}
	write("go.mod", "module example.com/orders\n\ngo 1.26.0\n\ntoolchain "+toolchain+"\n\n"+
		"require github.com/secure-api-go/apigw-jwt v0.0.0-00010101000000-000000000000\n\n"+
		"replace github.com/secure-api-go/apigw-jwt => "+root+"\n\n"+
		"tool (\n\tgithub.com/secure-api-go/apigw-jwt/lambdas/authorizer\n\tgithub.com/secure-api-go/apigw-jwt/lambdas/jwksseed\n)\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))
	outdir := filepath.Join(dir, "cdk.out")
	run := func(env []string, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), append([]string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off"}, env...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run(nil, "go", "mod", "tidy", "-e") // -e: tests of dependencies need modules outside the cache
	run(nil, "go", "build", "-o", "app", ".")
	// What `cdk synth` does: run the app with the output directory set.
	run([]string{"CDK_OUTDIR=" + outdir}, filepath.Join(dir, "app"))

	raw, err := os.ReadFile(filepath.Join(outdir, "Orders.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	tpl := assertions.Template_FromString(jsii.String(string(raw)), nil)
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::ApiGateway::Authorizer"), map[string]any{
		"Type": "TOKEN", "IdentitySource": "method.request.header.Authorization", "IdentityValidationExpression": jwtauthorizer.TokenRegex,
	}, jsii.Number(1))
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
		"AuthorizerType": "REQUEST", "AuthorizerPayloadFormatVersion": "2.0", "IdentitySource": []any{"$request.header.Authorization"},
	}, jsii.Number(1))
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::ApiGateway::Method"), map[string]any{"AuthorizationType": "CUSTOM"}, jsii.Number(2))
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{"RouteKey": "GET /reports", "AuthorizationType": "CUSTOM"}, jsii.Number(1))
	tpl.ResourceCountIs(jsii.String(seedspec.ResourceType), jsii.Number(2))
	noWildcardGrant(t, tpl)

	// The two authorizer functions: built from our main package, each with its API's rules.
	var m struct {
		Resources map[string]struct {
			Type       string
			Metadata   map[string]any
			Properties struct {
				Environment struct{ Variables map[string]any }
			}
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, r := range m.Resources {
		if r.Type == "AWS::Lambda::Function" && r.Metadata[gobuild.MetadataGoPackage] == jwtauthorizer.Package {
			rules = append(rules, asJSON(r.Properties.Environment.Variables["SCOPE_RULES"]))
		}
	}
	want := map[string]bool{
		asJSON(`[{"method":"GET","resource":"/orders","anyToken":true},{"method":"POST","resource":"/orders","scopes":["orders.write"],"groups":["admins"]}]`): true,
		asJSON(`[{"method":"GET","resource":"/reports","scopes":["reports.read"]}]`):                                                                           true,
	}
	if len(rules) != 2 || !want[rules[0]] || !want[rules[1]] || rules[0] == rules[1] {
		t.Fatalf("authorizer SCOPE_RULES %v, want one of each of %v", rules, want)
	}

	// Real bundling happened: the bootstraps are in the cloud assembly.
	bins, _ := filepath.Glob(filepath.Join(outdir, "asset.*", "bootstrap"))
	if len(bins) < 2 {
		t.Fatalf("%d bootstrap assets in %s, want the authorizer's and the seed's", len(bins), outdir)
	}
}
