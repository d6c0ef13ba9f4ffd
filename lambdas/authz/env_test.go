package authz

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
	"github.com/secure-api-go/apigw-jwt/lambdas/policy"
)

const envIssuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST"

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// TestFromEnvErrors: every problem is reported at once, naming the variable
// the user wrote, the value and the fix.
func TestFromEnvErrors(t *testing.T) {
	good := `[{"issuer":"https://a.example/","jwksUri":"https://a.example/jwks","audiences":["x"]}]`
	single := map[string]string{"ISSUER": envIssuer, "AUDIENCE": "a"}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string
		is   error
	}{
		{"missing ISSUER", map[string]string{"AUDIENCE": "a"}, []string{"ISSUER is empty"}, jwtverify.ErrConfig},
		{"http JWKS elsewhere", with(single, "JWKS_URI", "http://idp.example.com/jwks"), []string{`JWKS_URI="http://idp.example.com/jwks" must use https`}, jwtverify.ErrConfig},
		{"relative JWKS", with(single, "JWKS_URI", "/jwks"), []string{"not an absolute URL"}, jwtverify.ErrConfig},
		{"empty AUDIENCE", with(single, "AUDIENCE", " , "), []string{"AUDIENCE is empty"}, jwtverify.ErrConfig},
		{"bad TOKEN_USE", with(single, "TOKEN_USE", "refresh"), []string{`TOKEN_USE="refresh"`}, jwtverify.ErrConfig},
		{"HS256 not allowed", with(single, "ALGORITHMS", "RS256,HS256"), []string{`ALGORITHMS holds "HS256"`}, jwtverify.ErrConfig},
		{"none not allowed", with(single, "ALGORITHMS", "none"), []string{`ALGORITHMS holds "none"`}, jwtverify.ErrConfig},
		{"bad leeway", with(single, "LEEWAY_SECONDS", "-5"), []string{"LEEWAY_SECONDS"}, jwtverify.ErrConfig},
		{"bad timeout", with(single, "JWKS_TIMEOUT_MS", "soon"), []string{"JWKS_TIMEOUT_MS"}, jwtverify.ErrConfig},
		{"TOKEN_ISSUER differs from ISSUER", with(single, "TOKEN_ISSUER", "https://other.example"), []string{"TOKEN_ISSUER is an alias of ISSUER"}, jwtverify.ErrConfig},
		{"ISSUERS beside ISSUER and JWKS_JSON", map[string]string{"ISSUERS": good, "ISSUER": envIssuer, "JWKS_JSON": `{"keys":[]}`},
			[]string{"ISSUERS and ISSUER, JWKS_JSON are both set"}, jwtverify.ErrConfig},
		{"ISSUERS not JSON", map[string]string{"ISSUERS": `{"issuer":1}`}, []string{"ISSUERS is not a JSON list"}, jwtverify.ErrConfig},
		{"ISSUERS unknown field", map[string]string{"ISSUERS": `[{"issuer":"https://a.example/","jwks_uri":"https://a.example/jwks","audiences":["x"]}]`}, []string{`unknown field "jwks_uri"`}, jwtverify.ErrConfig},
		{"ISSUERS empty", map[string]string{"ISSUERS": `[]`}, []string{"ISSUERS is an empty list"}, jwtverify.ErrConfig},
		{"ISSUERS entries checked", map[string]string{"ISSUERS": `[{"issuer":"https://a.example/","jwksUri":"http://a.example/jwks","audiences":[]},{"issuer":"https://a.example/","jwksUri":"https://a.example/jwks","audiences":["x"],"tokenUse":"refresh","algorithms":["HS256"],"jwks":{"kid":1}}]`},
			[]string{"ISSUERS[0].jwksUri", "must use https", "ISSUERS[0].audiences is empty", "ISSUERS[1].tokenUse", `ISSUERS[1].algorithms holds "HS256"`, "ISSUERS[1].jwks is not a usable JWKS", "listed twice"}, jwtverify.ErrConfig},
		{"ALGORITHMS as the ISSUERS default", map[string]string{"ISSUERS": good, "ALGORITHMS": "ES512"}, []string{`ALGORITHMS holds "ES512"`}, jwtverify.ErrConfig},
		{"malformed JWKS_JSON", with(single, "JWKS_JSON", `{"keys":[{"kty":"RSA","n":"!!","e":"AQAB"}]}`), []string{"JWKS_JSON is not a usable JWKS document"}, jwtverify.ErrConfig},
		{"CONTEXT_CLAIMS naming a built-in key", with(single, "CONTEXT_CLAIMS", "email,sub"), []string{`CONTEXT_CLAIMS names "sub"`}, jwtverify.ErrConfig},
		{"CONTEXT_CLAIMS naming a claim twice", with(single, "CONTEXT_CLAIMS", "email, email"), []string{`CONTEXT_CLAIMS names "email" twice`}, jwtverify.ErrConfig},
		{"CONTEXT_CLAIMS with a blank inside a name", with(single, "CONTEXT_CLAIMS", "email,custom tenant"), []string{`CONTEXT_CLAIMS names "custom tenant", with a blank inside`}, jwtverify.ErrConfig},
		{"SIMPLE_RESPONSES not a boolean", with(single, "SIMPLE_RESPONSES", "yes"), []string{`SIMPLE_RESPONSES="yes"`}, jwtverify.ErrConfig},
		{"bad SCOPE_RULES", with(single, "SCOPE_RULES", "nope"), []string{"SCOPE_RULES is not a JSON array"}, policy.ErrRules},
		{"blank SCOPE_RULES", with(single, "SCOPE_RULES", " \n"), []string{"SCOPE_RULES is blank"}, policy.ErrRules},
		{"every problem at once", map[string]string{"JWKS_URI": "http://idp.example.com/jwks", "TOKEN_USE": "refresh", "LEEWAY_SECONDS": "x", "JWKS_TIMEOUT_MS": "0", "SCOPE_RULES": "[1]"},
			[]string{"ISSUER is empty", `JWKS_URI="http://idp.example.com/jwks" must use https`, "AUDIENCE is empty", "TOKEN_USE", "LEEWAY_SECONDS", "JWKS_TIMEOUT_MS", "SCOPE_RULES"}, jwtverify.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := FromEnv(getenv(tt.env), nil)
			if h != nil || !errors.Is(err, tt.is) {
				t.Fatalf("FromEnv: %v, want %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "Issuers[") {
				t.Errorf("error names a Go field instead of the variable:\n%v", err)
			}
		})
	}
}

// TestFromEnv: the variables reach the verifier's configuration and the handler.
func TestFromEnv(t *testing.T) {
	k, err := testjwt.New("k1")
	if err != nil {
		t.Fatal(err)
	}
	k.Close()
	seed, _ := json.Marshal(map[string]any{"keys": []map[string]string{testjwt.JWK("k1", &k.Key.PublicKey)}})

	t.Run("single issuer", func(t *testing.T) {
		env := map[string]string{"TOKEN_ISSUER": envIssuer, "AUDIENCE": "a, b", "JWKS_JSON": string(seed), "ALGORITHMS": "RS256,PS256,ES256",
			"GROUPS_CLAIM": "groups", "LEEWAY_SECONDS": "0", "TOKEN_CACHE_SIZE": "0", "JWKS_TIMEOUT_MS": "1500"}
		cfg, _, errs := verifierFromEnv(getenv(env))
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		is := cfg.Issuers[0]
		if len(cfg.Issuers) != 1 || is.Issuer != envIssuer || is.JWKSURI != "" || !slices.Equal(is.Audiences, []string{"a", "b"}) || len(is.JWKS) == 0 ||
			!slices.Equal(is.Algorithms, []string{"RS256", "PS256", "ES256"}) || is.GroupsClaim != "groups" ||
			cfg.Leeway != -1 || cfg.CacheSize != -1 || cfg.HTTPTimeout != 1500*time.Millisecond {
			t.Fatalf("read %+v", cfg)
		}
		env["ISSUER"] = envIssuer // the same value twice is fine
		if _, err := FromEnv(getenv(env), nil); err != nil {
			t.Fatalf("ISSUER = TOKEN_ISSUER: %v", err)
		}
	})
	t.Run("ISSUERS", func(t *testing.T) {
		issuers := `[{"issuer":"https://a.example/","jwksUri":"https://a.example/jwks","audiences":["x","y"],"tokenUse":"access","algorithms":["PS256"],"groupsClaim":"roles","jwks":` + string(seed) + `},
			{"issuer":"https://b.example/","audiences":["z"]}]`
		env := map[string]string{"ISSUERS": issuers, "ALGORITHMS": "ES384", "CONTEXT_CLAIMS": "email, cognito:groups", "SIMPLE_RESPONSES": "true",
			"SCOPE_RULES": `[{"method":"POST","resource":"/pets","groups":["admin"]}]`}
		cfg, _, errs := verifierFromEnv(getenv(env))
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		a, b := cfg.Issuers[0], cfg.Issuers[1]
		if len(cfg.Issuers) != 2 || a.TokenUse != "access" || len(a.Audiences) != 2 || len(a.JWKS) == 0 || !slices.Equal(a.Algorithms, []string{"PS256"}) || a.GroupsClaim != "roles" ||
			b.JWKSURI != "" || !slices.Equal(b.Algorithms, []string{"ES384"}) {
			t.Fatalf("ISSUERS read as %+v", cfg.Issuers)
		}
		h, err := FromEnv(getenv(env), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !h.SimpleResponses || !slices.Equal(h.ContextClaims, []string{"email", "cognito:groups"}) || len(h.Rules) != 1 || h.Rules[0].Groups[0] != "admin" {
			t.Fatalf("handler %+v", h)
		}
	})
}
