package clip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	tests := []struct {
		name, in string
		cut      bool
	}{
		{"short", "kid-1", false},
		{"exactly Max", strings.Repeat("a", Max), false},
		{"one over", strings.Repeat("a", Max+1), true},
		{"multi-byte at the cut", strings.Repeat("a", Max-9) + strings.Repeat("é", 100), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := String(tt.in)
			if len(got) > Max || !utf8.ValidString(got) {
				t.Fatalf("String gave %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
			}
			if cut := got != tt.in; cut != tt.cut || cut && !strings.HasSuffix(got, "...(cut)") {
				t.Fatalf("String(%d bytes) = %q, cut %v, want cut %v with the mark", len(tt.in), got, cut, tt.cut)
			}
		})
	}
}
