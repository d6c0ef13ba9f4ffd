package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cfnLintVersion is the pinned cfn-lint; .ci/run installs it when missing.
const cfnLintVersion = "1.51.0"

// externalIdP points both APIs at an external issuer (the README's "bring
// your own IdP" shape); shared by the override test and the lint.
var externalIdP = map[string]any{
	"jwtIssuer": "https://example.us.auth0.com/", "jwtAudience": []any{"https://pets.example.com"},
	"authIssuer": "https://login.example.com/api/oidc", "authJwksUri": "https://login.example.com/api/oidc/jwks",
	"authAudience": "https://pets.example.com", "authTokenUse": "access", "scopeClientId": "pets",
}

// lintedConfigs are the configurations the synth tests build, each linted.
var lintedConfigs = map[string]map[string]any{
	"default":                  nil,
	"lite":                     {"featurePlan": "lite"},
	"plus-enforced-mfa":        {"featurePlan": "plus", "threatProtection": "enforced", "mfa": "required"},
	"external-idp":             externalIdP,
	"retain":                   {"removalPolicy": "retain"},
	"existing-cloudwatch-role": {"apiGatewayCloudWatchRole": "existing"},
	"alarm-email":              {"alarmEmail": "ops@example.com"},
	"native-jwt":               nativeJWT,
	"cors-one-origin":          {"corsOrigins": "https://app.example.com"},
	"cors-two-origins":         {"corsOrigins": "https://a.example.com,https://b.example.com"},
}

// TestCfnLint runs cfn-lint on the template of every configuration: no
// errors, no warnings. A warning is silenced only in ../.cfnlintrc, with its reason.
func TestCfnLint(t *testing.T) {
	install := "pip install cfn-lint==" + cfnLintVersion
	if _, err := exec.LookPath("cfn-lint"); err != nil {
		t.Fatalf("cfn-lint is not installed; make test lints every synthesized template with it: %s", install)
	}
	out, err := exec.Command("cfn-lint", "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "cfn-lint "+cfnLintVersion {
		t.Fatalf("cfn-lint --version = %q (%v), want cfn-lint %s: %s", strings.TrimSpace(string(out)), err, cfnLintVersion, install)
	}
	dir := t.TempDir()
	args := []string{"--config-file", "../.cfnlintrc", "--format", "parseable", "--"}
	for name, ctx := range lintedConfigs {
		b, err := json.MarshalIndent(synth(t, ctx).json, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".template.json")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, file)
	}
	cmd := exec.Command("cfn-lint", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	findings := strings.TrimSpace(strings.ReplaceAll(stdout.String(), dir+string(filepath.Separator), ""))
	var exit *exec.ExitError
	switch {
	case err == nil && findings == "":
		t.Logf("cfn-lint %s: %d templates clean", cfnLintVersion, len(lintedConfigs))
	case err == nil || errors.As(err, &exit):
		t.Fatalf("cfn-lint findings (fix the template, or silence a warning in .cfnlintrc with the reason):\n%s\n%s", findings, stderr.String())
	default:
		t.Fatalf("cfn-lint did not run: %v\n%s", err, stderr.String())
	}
}
