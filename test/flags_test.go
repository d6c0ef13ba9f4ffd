package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// keptFlags are feature flags cdk.json sets to other than the CDK's
// recommended value on purpose; the README's "Feature flags" says why.
var keptFlags = map[string]string{}

// flagReport is the feature-flag report the CDK writes into the cloud
// assembly; `cdk synth` counts "N feature flags are not configured" from it.
type flagReport struct {
	Artifacts map[string]struct {
		Type       string `json:"type"`
		Properties struct {
			Flags map[string]struct {
				RecommendedValue        any             `json:"recommendedValue"`
				UserValue               json.RawMessage `json:"userValue"`
				UnconfiguredBehavesLike map[string]any  `json:"unconfiguredBehavesLike"`
			} `json:"flags"`
		} `json:"properties"`
	} `json:"artifacts"`
}

// TestFeatureFlagsAreAllConfigured applies the CLI's rule to the app the
// tests build from cdk.json: a flag left unset whose unset behaviour is not
// the recommended one is "not configured". Every flag is set, to the
// recommended value unless keptFlags says otherwise, and cdk.json names no
// flag the CDK does not know (a typo would silently do nothing).
func TestFeatureFlagsAreAllConfigured(t *testing.T) {
	r := synth(t, nil)
	asm := r.app.Synth(nil)
	raw, err := os.ReadFile(filepath.Join(*asm.Directory(), "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m flagReport
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	var unconfigured []string
	for _, a := range m.Artifacts {
		if a.Type != "cdk:feature-flag-report" {
			continue
		}
		for name, f := range a.Properties.Flags {
			known[name] = true
			recommended := asJSON(f.RecommendedValue)
			if len(f.UserValue) == 0 {
				unset := f.UnconfiguredBehavesLike["v2"] // the CLI's rule: absent means false
				if unset == nil {
					unset = false
				}
				if asJSON(unset) != recommended {
					unconfigured = append(unconfigured, name+" (recommended "+recommended+")")
				}
				continue
			}
			var user any
			json.Unmarshal(f.UserValue, &user)
			reason, kept := keptFlags[name]
			switch {
			case asJSON(user) != recommended && !kept:
				t.Errorf("cdk.json sets %s to %s, recommended %s: set the recommended value, or add it to keptFlags and the README with the reason", name, asJSON(user), recommended)
			case asJSON(user) == recommended && kept:
				t.Errorf("%s is in keptFlags (%s) but cdk.json sets the recommended value %s", name, reason, recommended)
			}
		}
	}
	if len(known) < 50 {
		t.Fatalf("feature-flag report lists %d flags: did the CDK stop writing it into manifest.json?", len(known))
	}
	slices.Sort(unconfigured)
	if len(unconfigured) > 0 {
		t.Errorf("%d feature flags are not configured; add them to cdk.json's context:\n  %s", len(unconfigured), strings.Join(unconfigured, "\n  "))
	}
	for k := range cdkJSON(t).Context {
		if strings.HasPrefix(k, "@aws-cdk") && !known[k] {
			t.Errorf("cdk.json sets %s, which is not a feature flag of this CDK version", k)
		}
	}
}
