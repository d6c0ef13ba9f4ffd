package jwksseed

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/secure-api-go/apigw-jwt/internal/lambdaenv"
	"github.com/secure-api-go/apigw-jwt/internal/seedspec"
)

// rsaJWKS is a JWKS of n 2048-bit RSA signing keys with Cognito-sized kids
// (44 characters); one modulus serves them all, only the size matters here.
func rsaJWKS(t *testing.T, n int) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	mod := base64.RawURLEncoding.EncodeToString(k.N.Bytes())
	keys := make([]map[string]string, n)
	for i := range keys {
		kid := fmt.Sprintf("%s%04d=", strings.Repeat("Kq", 19), i)
		keys[i] = map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": mod, "e": "AQAB"}
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// scopeRules is a SCOPE_RULES of the stack's shape (infra.AuthorizerRules).
func scopeRules(client, adminScope string) string {
	return `[{"method":"GET","resource":"/pets","scopes":["petstore/pets.read","petstore/pets.write"],"clients":["` + client + `"]},` +
		`{"method":"GET","resource":"/pets/{petId}","scopes":["petstore/pets.read","petstore/pets.write"],"clients":["` + client + `"]},` +
		`{"method":"POST","resource":"/pets","scopes":["` + adminScope + `","petstore/pets.write"]}]`
}

// TestSeedFitsLambdasMeasure: whatever the number of keys, the authorizer's
// environment with the seed stays within Lambda's 4 KB as Lambda measures it
// (the JSON of the whole map); a seed that would not fit is left out. The
// other variables are the stack's recipes: all literal (an external
// authIssuer, extraIssuers) or the pool's, its unresolved values at the
// worst case the construct counts (jwksseed.TokenBytes = 128).
// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
func TestSeedFitsLambdasMeasure(t *testing.T) {
	// 128 characters, the construct's worst case for a token, shaped as a URL
	// so the issuer passes the seed's checks.
	worst := "https://" + strings.Repeat("x", 60) + "." + strings.Repeat("x", 59)
	if len(worst) != 128 {
		t.Fatalf("worst case is %d bytes", len(worst))
	}
	auth0 := seedspec.Issuer{Issuer: "https://example.eu.auth0.com/", JWKSURI: "https://example.eu.auth0.com/.well-known/jwks.json", Audiences: []string{"https://petstore.example.com"}}
	extra := seedspec.Issuer{Issuer: "https://login.example.org/oidc", JWKSURI: "https://login.example.org/oidc/jwks", Audiences: []string{"petstore", "petstore-cli"}, TokenUse: "access"}
	recipes := []struct {
		name    string
		env     string
		issuers []seedspec.Issuer
		other   map[string]string
	}{
		{"authIssuer, literal", seedspec.EnvJWKS, []seedspec.Issuer{auth0}, map[string]string{
			"ISSUER": auth0.Issuer, "JWKS_URI": auth0.JWKSURI, "AUDIENCE": auth0.Audiences[0],
			"SCOPE_RULES": scopeRules(auth0.Audiences[0], "admin-abc123"), "METRICS_NAMESPACE": "SecureApiJwt",
		}},
		{"extraIssuers, literal", seedspec.EnvIssuers, []seedspec.Issuer{auth0, extra}, map[string]string{
			"SCOPE_RULES": scopeRules(auth0.Audiences[0], "admin-abc123"), "METRICS_NAMESPACE": "SecureApiJwt",
		}},
		{"user pool, tokens at worst case", seedspec.EnvJWKS, []seedspec.Issuer{{Issuer: worst, JWKSURI: worst + "/.well-known/jwks.json", Audiences: []string{worst, worst}}}, map[string]string{
			"ISSUER": worst, "JWKS_URI": worst + "/.well-known/jwks.json", "AUDIENCE": worst + "," + worst,
			"SCOPE_RULES": scopeRules(worst, "admin-"+worst), "METRICS_NAMESPACE": "SecureApiJwt",
		}},
	}
	for _, r := range recipes {
		for _, keys := range []int{2, 8, 16} {
			t.Run(fmt.Sprintf("%s, %d keys", r.name, keys), func(t *testing.T) {
				budget := seedspec.Budget(r.other)
				issuers := make([]any, len(r.issuers))
				for i, iss := range r.issuers {
					b, _ := json.Marshal(iss)
					json.Unmarshal(b, &issuers[i])
				}
				ev := loadEvent(t, "create.json")
				ev.ResourceProperties = map[string]any{seedspec.PropEnv: r.env, seedspec.PropMaxBytes: strconv.Itoa(budget), seedspec.PropIssuers: issuers}
				var logs bytes.Buffer
				_, data, err := newHandler(&idp{handler: serve(200, rsaJWKS(t, keys))}, &logs).Handle(context.Background(), ev)
				if err != nil {
					t.Fatal(err)
				}
				attr := map[string]string{seedspec.EnvJWKS: seedspec.AttrJWKS, seedspec.EnvIssuers: seedspec.AttrIssuers}[r.env]
				final := maps.Clone(r.other)
				final[r.env] = data[attr].(string)
				size := lambdaenv.Size(final)
				if size > lambdaenv.Limit-seedspec.Margin {
					t.Fatalf("environment measures %d bytes, over Lambda's %d less the %d margin", size, lambdaenv.Limit, seedspec.Margin)
				}
				seeded, _ := strconv.Atoi(data[seedspec.AttrKeyCount].(string))
				t.Logf("budget %d, environment %d bytes, %d keys seeded", budget, size, seeded)
				// Two keys (Cognito's usual set) always fit; a set too large for the
				// budget is left out whole, and the authorizer fetches it on its first token.
				switch {
				case keys == 2 && seeded != 2*len(r.issuers):
					t.Errorf("2 keys per issuer: %d seeded, want %d", seeded, 2*len(r.issuers))
				case keys > 2 && seeded%keys != 0:
					t.Errorf("%d keys: %d seeded, want whole sets", keys, seeded)
				case keys == 16 && seeded != 0:
					t.Errorf("16 keys (about 7.5 KB) cannot fit, yet %d were seeded", seeded)
				}
				if seeded < keys*len(r.issuers) && !strings.Contains(logs.String(), "over_env_budget") {
					t.Errorf("a seed was left out without saying why:\n%s", logs.String())
				}
			})
		}
	}
}

// TestBudgetCountsEscapes: a value is measured with its JSON escapes, so a
// budget that names and values alone would meet is refused. Exactly
// lambdaenv.Added bytes fit, one fewer does not.
func TestBudgetCountsEscapes(t *testing.T) {
	body := jwksFile(t)
	keys, _, err := seedspec.Reduce(body, seedspec.DefaultAlgorithms)
	if err != nil {
		t.Fatal(err)
	}
	value, _ := json.Marshal(jwks{Keys: keys})
	exact := lambdaenv.Added(seedspec.EnvJWKS, string(value))
	if naive := len(seedspec.EnvJWKS) + len(value); exact <= naive+2*len(keys) {
		t.Fatalf("measure %d does not count the escaped quotes (names and values alone: %d)", exact, naive)
	}
	for _, tc := range []struct {
		maxBytes int
		want     string
	}{{exact, string(value)}, {exact - 1, ""}} {
		ev := loadEvent(t, "create.json")
		ev.ResourceProperties[seedspec.PropMaxBytes] = strconv.Itoa(tc.maxBytes)
		var logs bytes.Buffer
		_, data, err := newHandler(&idp{handler: serve(200, body)}, &logs).Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := data[seedspec.AttrJWKS]; got != tc.want {
			t.Errorf("MaxBytes %d: Jwks %.40q, want %.40q", tc.maxBytes, got, tc.want)
		}
	}
}
