package pretoken

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestHandle(t *testing.T) {
	tests := []struct {
		file        string
		wantIDScope string   // the ID token's scope claim; "" means none added
		wantAccess  []string // scopesToAdd; nil means none (or version 1)
	}{
		{"v1.json", "admin-1example23456789 regular-1example23456789", nil},
		{"v2.json", "regular-1example23456789", []string{"regular-1example23456789"}},
		{"v2-nogroups.json", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Handle(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			// Groups must be left alone: no groupOverrideDetails anywhere, null or not.
			if strings.Contains(string(out), "groupOverrideDetails") {
				t.Fatalf("response touches groups: %s", out)
			}
			// The event is echoed back with its header and request.
			if got["userName"] == nil || got["request"] == nil || got["version"] == nil {
				t.Fatalf("response lost the event: %s", out)
			}
			resp := got["response"].(map[string]any)
			idScope, access := extract(t, resp)
			if idScope != tt.wantIDScope {
				t.Fatalf("ID token scope = %q, want %q (%s)", idScope, tt.wantIDScope, out)
			}
			if strings.Join(access, " ") != strings.Join(tt.wantAccess, " ") {
				t.Fatalf("scopesToAdd = %q, want %q", access, tt.wantAccess)
			}
		})
	}
}

func extract(t *testing.T, resp map[string]any) (string, []string) {
	t.Helper()
	if d, ok := resp["claimsOverrideDetails"].(map[string]any); ok {
		return d["claimsToAddOrOverride"].(map[string]any)["scope"].(string), nil
	}
	d, ok := resp["claimsAndScopeOverrideDetails"].(map[string]any)
	if !ok {
		return "", nil
	}
	idScope := d["idTokenGeneration"].(map[string]any)["claimsToAddOrOverride"].(map[string]any)["scope"].(string)
	var access []string
	for _, s := range d["accessTokenGeneration"].(map[string]any)["scopesToAdd"].([]any) {
		access = append(access, s.(string))
	}
	return idScope, access
}

func TestHandleRejects(t *testing.T) {
	for name, in := range map[string]string{
		"unknown version": `{"version":"9","request":{}}`,
		"version 4":       `{"version":"4","request":{}}`,
		"not json":        `nope`,
		"bad groups":      `{"version":"1","request":{"groupConfiguration":{"groupsToOverride":"admin"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Handle(context.Background(), json.RawMessage(in)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestVersionZeroIsTheFirstFormat(t *testing.T) {
	out, err := Handle(context.Background(), json.RawMessage(`{"version":"0","callerContext":{"clientId":"c"},"request":{"groupConfiguration":{"groupsToOverride":["regular"]}}}`))
	if err != nil || !strings.Contains(string(out), `"claimsOverrideDetails":{"claimsToAddOrOverride":{"scope":"regular-c"}}`) {
		t.Fatalf("%s %v", out, err)
	}
}
