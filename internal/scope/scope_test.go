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

func TestResource(t *testing.T) {
	tests := []struct{ server, name, want string }{
		{DefaultResourceServer, PetsRead, "petstore/pets.read"},
		{DefaultResourceServer, PetsWrite, "petstore/pets.write"},
		{"https://api.example.com", PetsRead, "https://api.example.com/pets.read"},
	}
	for _, tt := range tests {
		if got := Resource(tt.server, tt.name); got != tt.want {
			t.Errorf("Resource(%q, %q) = %q, want %q", tt.server, tt.name, got, tt.want)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"a b", []string{"a", "b"}},
		{"  a  b c ", []string{"a", "b", "c"}},
		// Only SP separates: other whitespace stays in the part (ValidToken refuses it).
		{"a\tb\u00a0c d", []string{"a\tb\u00a0c", "d"}},
	}
	for _, tt := range tests {
		got := Split(tt.in)
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
