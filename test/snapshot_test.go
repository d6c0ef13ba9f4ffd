package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

const golden = "testdata/SecureApiJwt.template.json"

var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// normalized is the template with asset hashes replaced, so a Lambda code
// change does not churn the snapshot; structure changes still do.
func normalized(t *testing.T, r *synthResult) []byte {
	t.Helper()
	b, err := json.MarshalIndent(r.json, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return []byte(assetHash.ReplaceAllString(string(b), "ASSET_HASH") + "\n")
}

// TestSnapshot compares the whole template with the golden file. Refresh it
// only on purpose: go test ./test -run TestSnapshot -update (make snapshot).
func TestSnapshot(t *testing.T) {
	got := normalized(t, synth(t, nil))
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", golden)
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v: create it with `make snapshot`", err)
	}
	if string(got) != string(want) {
		diffAt := 0
		for diffAt < len(got) && diffAt < len(want) && got[diffAt] == want[diffAt] {
			diffAt++
		}
		line := strings.Count(string(want[:diffAt]), "\n") + 1
		os.WriteFile(filepath.Join(t.TempDir(), "got.json"), got, 0o644)
		t.Fatalf("template differs from %s from line %d on; review the change, then run `make snapshot`", golden, line)
	}
}

func TestNoHashedIDsInAssertions(t *testing.T) {
	// The snapshot hides asset hashes: make sure there are some to hide.
	r := synth(t, nil)
	if !assetHash.Match([]byte(asJSON(r.json))) {
		t.Fatal("no asset hashes in the template: is the Lambda code an asset?")
	}
}

func TestNagFindingsAreAllSuppressed(t *testing.T) {
	for _, ctx := range []map[string]any{nil, {"featurePlan": "plus", "threatProtection": "enforced", "mfa": "required"}, {"removalPolicy": "retain"}, {"apiGatewayCloudWatchRole": "existing"}, {"corsOrigins": "https://a.example.com,https://b.example.com"}, {"alarmEmail": "ops@example.com"}, nativeJWT} {
		r := synth(t, ctx)
		ann := assertions.Annotations_FromStack(r.stack.Stack)
		for _, find := range []func() *[]*cxAnnotation{
			func() *[]*cxAnnotation {
				return toAnn(ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))))
			},
			func() *[]*cxAnnotation {
				return toAnn(ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))))
			},
		} {
			for _, a := range *find() {
				t.Errorf("unsuppressed cdk-nag finding with context %v at %s: %.160s", ctx, a.path, a.data)
			}
		}
		// Every suppression is used for a reason and says why.
		for _, s := range r.stack.Suppressions(r.cfg) {
			if len(s.Reason) < 20 || s.Where == "" || !strings.HasPrefix(s.Rule, "AwsSolutions-") {
				t.Errorf("suppression %+v lacks a reason", s)
			}
		}
	}
}
