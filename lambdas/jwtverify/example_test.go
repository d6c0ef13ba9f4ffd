package jwtverify_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
)

// idp is a stand-in identity provider for the examples: one RSA key, its
// JWKS served on loopback (http is allowed only there), tokens signed with it.
type idp struct {
	key    *rsa.PrivateKey
	jwks   []byte
	server *httptest.Server
}

func newIdP() *idp {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{testjwt.JWK("key-1", &key.PublicKey)}})
	p := &idp{key: key, jwks: jwks}
	p.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(jwks) }))
	return p
}

func (p *idp) issuer() string { return p.server.URL }

func (p *idp) sign(claims jwt.MapClaims) string {
	claims["iss"], claims["iat"], claims["exp"] = p.issuer(), time.Now().Unix(), time.Now().Add(time.Hour).Unix()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "key-1"
	s, err := tok.SignedString(p.key)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

// A verifier for one issuer: typed claims, scopes, groups, and any other claim by name.
func Example() {
	p := newIdP()
	defer p.server.Close()

	v, err := jwtverify.New(jwtverify.Config{Issuers: []jwtverify.Issuer{{
		Issuer:    p.issuer(),
		JWKSURI:   p.issuer() + "/.well-known/jwks.json", // leave empty for OIDC discovery
		Audiences: []string{"my-client-id"},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	token := p.sign(jwt.MapClaims{
		"sub": "user-1", "aud": "my-client-id", "token_use": "id",
		"scope": "pets.read pets.write", "cognito:groups": []string{"admin"}, "email": "ann@example.com",
	})

	claims, err := v.Verify(context.Background(), token)
	if err != nil {
		log.Fatal(err)
	}
	email, _ := claims.Claim("email")
	fmt.Println(claims.Subject, claims.Scopes, claims.Groups, string(email))
	// Output: user-1 [pets.read pets.write] [admin] "ann@example.com"
}

// Refusals wrap a sentinel (errors.Is) with a stable reason code for logs
// and metrics; ErrKeySource alone is a fault rather than a bad token.
func ExampleReason() {
	p := newIdP()
	defer p.server.Close()
	v, _ := jwtverify.New(jwtverify.Config{Issuers: []jwtverify.Issuer{{
		Issuer: p.issuer(), JWKSURI: p.issuer() + "/jwks", Audiences: []string{"my-client-id"},
	}}})

	_, err := v.Verify(context.Background(), p.sign(jwt.MapClaims{"sub": "user-1", "aud": "someone-else"}))
	fmt.Println(errors.Is(err, jwtverify.ErrAudience), errors.Is(err, jwtverify.ErrKeySource), jwtverify.Reason(err))
	// Output: true false audience
}

// Issuer.JWKS seeds the key set: the first token verifies with no request
// (here the JWKS URI is not even reachable).
func ExampleIssuer_seed() {
	p := newIdP()
	p.server.Close()
	v, err := jwtverify.New(jwtverify.Config{Issuers: []jwtverify.Issuer{{
		Issuer:    p.issuer(),
		JWKSURI:   p.issuer() + "/jwks",
		Audiences: []string{"my-client-id"},
		JWKS:      p.jwks,
	}}})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := v.Verify(context.Background(), p.sign(jwt.MapClaims{"sub": "user-1", "aud": "my-client-id"}))
	fmt.Println(claims.Subject, err, v.Stats().JWKSFetches)
	// Output: user-1 <nil> 0
}

// Config.Check adds a rule of your own, run on every verified token.
func ExampleConfig_check() {
	p := newIdP()
	defer p.server.Close()
	v, _ := jwtverify.New(jwtverify.Config{
		Issuers: []jwtverify.Issuer{{Issuer: p.issuer(), JWKSURI: p.issuer() + "/jwks", Audiences: []string{"my-client-id"}}},
		Check: func(_ context.Context, c *jwtverify.Claims) error {
			var verified bool
			if raw, ok := c.Claim("email_verified"); !ok || json.Unmarshal(raw, &verified) != nil || !verified {
				return errors.New("email not verified")
			}
			return nil
		},
	})

	_, err := v.Verify(context.Background(), p.sign(jwt.MapClaims{"sub": "user-1", "aud": "my-client-id", "email_verified": false}))
	fmt.Println(err)
	// Output: refused by the custom check: email not verified
}
