package cognito

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// cognitoLocalEvent is what cognito-local sends: version "0", no groups.
const cognitoLocalEvent = `{"version":"0","callerContext":{"awsSdkVersion":"2","clientId":"c1"},"region":"local",
"userPoolId":"local_1","triggerSource":"TokenGeneration_Authentication","userName":"adminuser",
"request":{"userAttributes":{"sub":"s"},"groupConfiguration":{}},"response":{}}`

func TestBridge(t *testing.T) {
	groups := func(_ context.Context, user string) ([]string, error) {
		if user != "adminuser" {
			t.Fatalf("looked up %q", user)
		}
		return []string{"admin", "regular"}, nil
	}
	tests := []struct {
		version  string
		answer   string // what the trigger answers
		wantSent string // must appear in the event the trigger gets
		wantBack string // must appear in what cognito-local gets back
	}{
		{"2", `{"response":{"claimsAndScopeOverrideDetails":{"idTokenGeneration":{"claimsToAddOrOverride":{"scope":"admin-c1 regular-c1"}},"accessTokenGeneration":{"scopesToAdd":["admin-c1","regular-c1"]}}}}`,
			`"version":"2"`, `"claimsOverrideDetails":{"claimsToAddOrOverride":{"scope":"admin-c1 regular-c1"},"claimsToSuppress":null}`},
		{"1", `{"response":{"claimsOverrideDetails":{"claimsToAddOrOverride":{"scope":"admin-c1"}}}}`,
			`"version":"1"`, `"claimsToAddOrOverride":{"scope":"admin-c1"}`},
	}
	for _, tt := range tests {
		t.Run("V"+tt.version, func(t *testing.T) {
			var sent string
			out, err := Bridge(tt.version, groups)(context.Background(), []byte(cognitoLocalEvent), func(_ context.Context, ev []byte) ([]byte, error) {
				sent = string(ev)
				return []byte(tt.answer), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(sent, tt.wantSent) || !strings.Contains(sent, `"groupsToOverride":["admin","regular"]`) {
				t.Fatalf("trigger got %s", sent)
			}
			if !strings.Contains(string(out), tt.wantBack) {
				t.Fatalf("cognito-local gets %s", out)
			}
			var m map[string]any
			if json.Unmarshal(out, &m) != nil || m["response"] == nil {
				t.Fatalf("not an event: %s", out)
			}
		})
	}
}

func TestPasswordMeetsThePolicy(t *testing.T) {
	for range 50 {
		p := Password()
		if len(p) < 12 || !strings.ContainsAny(p, "abcdefghijkmnopqrstuvwxyz") || !strings.ContainsAny(p, "ABCDEFGHJKLMNPQRSTUVWXYZ") ||
			!strings.ContainsAny(p, "23456789") || !strings.ContainsAny(p, "!#%+-=?") {
			t.Fatalf("password %q misses a character class", p)
		}
	}
}
