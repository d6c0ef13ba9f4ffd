package seedspec

import (
	"fmt"
	"testing"
)

// TestReduceHonoursKeyOps: a key whose key_ops leaves out "verify" is not a
// signing key and is not seeded (the authorizer refuses it in a fetched set,
// and the seed drops key_ops, so keeping it would turn it into one).
func TestReduceHonoursKeyOps(t *testing.T) {
	tests := []struct {
		name string
		ops  string // JSON value of key_ops, "" for none
		keep bool
	}{
		{"no key_ops", "", true},
		{"verify", `["verify"]`, true},
		{"sign and verify", `["sign","verify"]`, true},
		{"encryption only", `["encrypt","wrapKey"]`, false},
		{"empty list", `[]`, false},
		{"not a list", `"verify"`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ops := ""
			if tc.ops != "" {
				ops = `,"key_ops":` + tc.ops
			}
			body := fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"k1","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"%s}]}`, ops)
			keys, _, err := Reduce([]byte(body), []string{"RS256"})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(keys) == 1; got != tc.keep {
				t.Fatalf("kept = %v, want %v", got, tc.keep)
			}
		})
	}
}
