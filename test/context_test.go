package test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-api-go/apigw-jwt/infra"
)

func TestUnknownContextKeys(t *testing.T) {
	tests := []struct {
		name string
		ctx  map[string]any
		want []string // each must appear; "" = no error
	}{
		{"typo of a known key", map[string]any{"restAuthorizerTTL": "300"},
			[]string{"context key restAuthorizerTTL: not a setting of this app: did you mean restAuthorizerTtl?"}},
		{"made-up key", map[string]any{"fooBar": "1"},
			[]string{"context key fooBar: not a setting of this app; the closest is "}},
		{"reported with the other problems", map[string]any{"restAuthorizerTTL": "300", "fooBar": "1", "mfa": "sometimes"},
			[]string{"context key fooBar: not a setting", "context key restAuthorizerTTL: not a setting", `context key mfa: "sometimes": want one of`}},
		{"the CDK's own keys", map[string]any{
			// What `cdk synth` passed the app (printed from a real run), and
			// what `cdk acknowledge`, `cdk cli-telemetry` and lookups write.
			"aws:cdk:enable-path-metadata": true, "aws:cdk:enable-asset-metadata": true, "aws:cdk:version-reporting": true,
			"aws:cdk:bundling-stacks": []any{"**"}, "@aws-cdk/core:failSynthOnValidationErrors": false,
			"@aws-cdk/aws-iam:minimizePolicies": true, "@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver": true,
			"acknowledged-issue-numbers": []any{32775.0}, "cli-telemetry": false,
			"availability-zones:account=123456789012:region=eu-west-1": []any{"eu-west-1a"},
			"restAuthorizerTtl": "300",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := infra.LoadContext(tt.ctx)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("LoadContext: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %v\nwant it to contain %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "context key"); n != len(tt.want) {
				t.Errorf("%d problems reported, want %d: %v", n, len(tt.want), err)
			}
		})
	}
}

// TestAppRefusesUnknownContextKeys runs the real entry point (what cdk.json's
// "app" runs) with the context the CLI would pass for
// `cdk synth -c restAuthorizerTTL=300 -c fooBar=1`.
func TestAppRefusesUnknownContextKeys(t *testing.T) {
	ctx := cdkJSON(t).Context
	ctx["restAuthorizerTTL"], ctx["fooBar"] = "300", "1"
	ctx["aws:cdk:enable-path-metadata"], ctx["aws:cdk:version-reporting"] = true, true
	cmd := exec.Command("go", "run", "./infra/app")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CDK_CONTEXT_JSON="+asJSON(ctx), "CDK_OUTDIR="+filepath.Join(t.TempDir(), "cdk.out"))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("app exit: %v, want status 1\n%s", err, stderr.String())
	}
	for _, want := range []string{
		"configuration error",
		"context key restAuthorizerTTL: not a setting of this app: did you mean restAuthorizerTtl?",
		"context key fooBar: not a setting of this app",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("app output lacks %q:\n%s", want, stderr.String())
		}
	}
}
