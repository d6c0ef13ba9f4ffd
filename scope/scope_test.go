package scope

import (
	"reflect"
	"testing"
)

func TestFor(t *testing.T) {
	if got := For("admin", "abc123"); got != "admin-abc123" {
		t.Fatalf("For = %q, want admin-abc123", got)
	}
}

func TestFromGroups(t *testing.T) {
	tests := []struct {
		name   string
		groups []string
		want   []string
	}{
		{"none", nil, []string{}},
		{"two in order", []string{"admin", "regular"}, []string{"admin-c", "regular-c"}},
		{"duplicates dropped", []string{"regular", "regular"}, []string{"regular-c"}},
		{"invalid names skipped", []string{"has space", "quo\"te", "", "back\\slash", "ok"}, []string{"ok-c"}},
		{"non-ascii skipped", []string{"gruppé", "regular"}, []string{"regular-c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromGroups(tt.groups, "c"); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("FromGroups(%q) = %q, want %q", tt.groups, got, tt.want)
			}
		})
	}
}
