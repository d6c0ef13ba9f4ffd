package seedspec

import (
	"slices"
	"testing"
)

func TestAlgorithmsIsTheMeaning(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"none is the default", nil, []string{"RS256"}},
		{"empty is the default", []string{}, []string{"RS256"}},
		{"sorted", []string{"RS256", "ES256", "PS256"}, []string{"ES256", "PS256", "RS256"}},
		{"each once", []string{"ES256", "RS256", "ES256"}, []string{"ES256", "RS256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if got := Algorithms(in); !slices.Equal(got, tc.want) {
				t.Errorf("Algorithms(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("Algorithms changed its argument to %v", in)
			}
		})
	}
	Algorithms(nil)[0] = "ES256"
	if DefaultAlgorithms[0] != "RS256" {
		t.Errorf("a caller changed DefaultAlgorithms through Algorithms(nil)")
	}
}
