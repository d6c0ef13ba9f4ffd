package jwksseed

import (
	"net/http"
	"testing"
)

// TestCheckRedirect: a redirect keeps the JWKS URL's transport rule, and an
// https URL cannot be redirected to plain http on the machine.
func TestCheckRedirect(t *testing.T) {
	get := func(u string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name string
		from []string
		to   string
		ok   bool
	}{
		{"https to https", []string{"https://idp.example.com/jwks"}, "https://cdn.example.com/jwks", true},
		{"loopback http to loopback http (local run)", []string{"http://127.0.0.1:9229/pool/.well-known/jwks.json"}, "http://127.0.0.1:9229/keys", true},
		{"https to loopback http", []string{"https://idp.example.com/jwks"}, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", false},
		{"https to localhost http", []string{"https://idp.example.com/jwks"}, "http://localhost:9001/", false},
		{"https to remote http", []string{"https://idp.example.com/jwks"}, "http://idp.example.com/jwks", false},
		{"a fourth redirect", []string{"https://a.example.com/", "https://b.example.com/", "https://c.example.com/"}, "https://d.example.com/", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var via []*http.Request
			for _, u := range tc.from {
				via = append(via, get(u))
			}
			err := checkRedirect(get(tc.to), via)
			if (err == nil) != tc.ok {
				t.Fatalf("checkRedirect(%s) = %v, want ok=%v", tc.to, err, tc.ok)
			}
		})
	}
}
