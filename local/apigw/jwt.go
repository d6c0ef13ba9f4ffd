package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/scope"
)

// jwtAuthorizer follows API Gateway's documented JWT authorizer checks: RSA
// signature by the issuer's JWKS, iss, aud (else client_id), exp, nbf, iat.
// It is written apart from the Lambda authorizer on purpose, so the two
// implementations check each other.
type jwtAuthorizer struct {
	issuer    string
	audiences []string
	header    string

	mu sync.Mutex
	kf keyfunc.Keyfunc
}

var errJWT = errors.New("invalid JWT")

// discoveryTimeout is API Gateway's timeout for the OpenID Connect discovery
// endpoint (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
const discoveryTimeout = 1500 * time.Millisecond

// keys finds the issuer's key set as API Gateway does: through the jwks_uri
// of the issuer's OIDC discovery document, <issuer>/.well-known/openid-configuration
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html),
// not a fixed path. A document that is missing, or names another issuer
// (OpenID Connect Discovery 1.0, section 4.3), is an error: every token is
// refused, and the next request tries again.
func (a *jwtAuthorizer) keys(ctx context.Context) (keyfunc.Keyfunc, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.kf != nil {
		return a.kf, nil
	}
	jwksURI, err := discoverJWKS(ctx, a.issuer)
	if err != nil {
		return nil, err
	}
	kf, err := keyfunc.NewDefaultCtx(ctx, []string{jwksURI})
	if err != nil {
		return nil, err
	}
	a.kf = kf
	return kf, nil
}

// discoverJWKS reads jwks_uri from the issuer's discovery document.
func discoverJWKS(ctx context.Context, issuer string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("OIDC discovery %s: %w", u, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("OIDC discovery %s: %w", u, err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("OIDC discovery %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("OIDC discovery %s: %w", u, err)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("OIDC discovery %s: issuer %q, want %q", u, doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("OIDC discovery %s: no jwks_uri", u)
	}
	return doc.JWKSURI, nil
}

// verify returns the token's claims, or errJWT.
func (a *jwtAuthorizer) verify(ctx context.Context, raw string, now time.Time) (jwt.MapClaims, error) {
	raw = strings.TrimPrefix(raw, "Bearer ")
	kf, err := a.keys(context.Background())
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	_, err = jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512"}),
		jwt.WithIssuer(a.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	).ParseWithClaims(raw, claims, kf.KeyfuncCtx(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errJWT, err)
	}
	if err := audienceOK(claims, a.audiences); err != nil {
		return nil, fmt.Errorf("%w: %v", errJWT, err)
	}
	return claims, nil
}

// audienceOK: the token's aud holds one of audiences or, only when it has
// no aud (Cognito access tokens), its client_id is one of them - "API
// Gateway validates client_id only if aud is not present":
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html
// Both emulated JWT authorizers (HTTP API, REST) apply this one rule.
func audienceOK(claims jwt.MapClaims, audiences []string) error {
	aud, _ := claims.GetAudience()
	if len(aud) > 0 {
		for _, x := range aud {
			if slices.Contains(audiences, x) {
				return nil
			}
		}
		return fmt.Errorf("aud %v not accepted", aud)
	}
	if cid, _ := claims["client_id"].(string); cid != "" && slices.Contains(audiences, cid) {
		return nil
	}
	return errors.New("no accepted aud or client_id")
}

// tokenScopes reads scope (space-separated) and scp (array or string).
func tokenScopes(c jwt.MapClaims) []string {
	var out []string
	for _, k := range []string{"scope", "scp"} {
		switch v := c[k].(type) {
		case string:
			out = append(out, scope.Split(v)...)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// claimStrings renders claims as payload 2.0 does: strings, arrays as "[a b]".
func claimStrings(c jwt.MapClaims) map[string]string {
	out := make(map[string]string, len(c))
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = claimString(c[k])
	}
	return out
}

func claimString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = claimString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
