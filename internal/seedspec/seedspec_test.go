package seedspec

import (
	"errors"
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

func TestAlgorithmsOrPrefersTheIssuersOwn(t *testing.T) {
	for _, tc := range []struct {
		name        string
		own, shared []string
		want        []string
	}{
		{"own list wins", []string{"PS256", "ES256"}, []string{"RS256"}, []string{"ES256", "PS256"}},
		{"no own list: the shared one", nil, []string{"ES384"}, []string{"ES384"}},
		{"neither: the default", nil, nil, []string{"RS256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Issuer{Algorithms: tc.own}).AlgorithmsOr(tc.shared); !slices.Equal(got, tc.want) {
				t.Errorf("AlgorithmsOr(%v) of %v = %v, want %v", tc.shared, tc.own, got, tc.want)
			}
		})
	}
}

func TestReduceRefusesWhatIsNotAJWKS(t *testing.T) {
	for _, body := range []string{`<html>`, `{"issuer":"https://x"}`, `{"keys":null}`} {
		if _, _, err := Reduce([]byte(body), DefaultAlgorithms); !errors.Is(err, ErrNotJWKS) {
			t.Errorf("Reduce(%s) = %v, want ErrNotJWKS", body, err)
		}
	}
}
