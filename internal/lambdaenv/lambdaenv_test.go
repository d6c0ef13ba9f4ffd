package lambdaenv

import (
	"strings"
	"testing"
)

func TestSize(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want int
	}{
		{"empty", map[string]string{}, len(`{}`)},
		{"one", map[string]string{"A": "b"}, len(`{"A":"b"}`)},
		{"two", map[string]string{"A": "b", "CC": "dd"}, len(`{"A":"b","CC":"dd"}`)},
		{"quotes cost their escape", map[string]string{"J": `{"k":"v"}`}, len(`{"J":"{\"k\":\"v\"}"}`)},
		{"no HTML escaping", map[string]string{"X": "<&>"}, len(`{"X":"<&>"}`)},
		{"utf-8 bytes", map[string]string{"U": "é"}, len(`{"U":"é"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Size(tc.env); got != tc.want {
				t.Errorf("Size = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFitsAtTheLimit(t *testing.T) {
	// {"V":"..."} is 8 bytes around the value.
	at := map[string]string{"V": strings.Repeat("a", Limit-8)}
	if Size(at) != Limit || !Fits(at) {
		t.Fatalf("Size = %d, want %d and Fits", Size(at), Limit)
	}
	over := map[string]string{"V": strings.Repeat("a", Limit-7)}
	if Fits(over) {
		t.Fatalf("Size = %d fits, want refused", Size(over))
	}
}

func TestAdded(t *testing.T) {
	base := map[string]string{"A": "b"}
	for _, v := range []string{"", "plain", `{"keys":[{"kid":"k"}]}`, "<&>\\"} {
		with := map[string]string{"A": "b", "SEED": v}
		if got, want := Size(base)+Added("SEED", v), Size(with); got != want {
			t.Errorf("Size + Added(%q) = %d, want Size of the whole map %d", v, got, want)
		}
	}
}
