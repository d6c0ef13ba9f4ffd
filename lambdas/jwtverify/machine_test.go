package jwtverify_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/lambdas/jwtverify"
	"github.com/secure-api-go/apigw-jwt/local/oauth"
)

// TestMachineTokensFromTheLocalTokenEndpoint: the authorizer's verifier,
// unchanged, accepts the local /oauth2/token endpoint's client-credentials
// tokens (access tokens without aud, trusted through client_id) when the
// machine client is in its audience, and only then.
func TestMachineTokensFromTheLocalTokenEndpoint(t *testing.T) {
	idp, err := testjwt.New("k1")
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	issuer := "http://127.0.0.1:9229/local_pool"
	srv := httptest.NewServer(&oauth.Server{Issuer: issuer, Key: idp.Key, KeyID: idp.KID,
		Clients: func(_ context.Context, id string) (oauth.Client, error) {
			if id != "machine1" {
				return oauth.Client{}, oauth.ErrUnknownClient
			}
			return oauth.Client{Secret: "sec", Flows: []string{oauth.GrantClientCredentials}, Scopes: []string{"petstore/pets.read", "petstore/pets.write"}}, nil
		}})
	defer srv.Close()
	cc := clientcredentials.Config{ClientID: "machine1", ClientSecret: "sec", TokenURL: srv.URL + "/oauth2/token", Scopes: []string{"petstore/pets.write"}}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name      string
		audiences []string
		tokenUse  string
		want      error
	}{
		{"machine client trusted", []string{"userapp", "machine1"}, "", nil},
		{"access tokens required", []string{"userapp", "machine1"}, "access", nil},
		{"only the user app client trusted", []string{"userapp"}, "", jwtverify.ErrAudience},
		{"ID tokens required", []string{"machine1"}, "id", jwtverify.ErrTokenUse},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := jwtverify.New(jwtverify.Config{Issuers: []jwtverify.Issuer{{Issuer: issuer, JWKSURI: idp.JWKSURI(), Audiences: tt.audiences, TokenUse: tt.tokenUse}}, CacheSize: -1})
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(context.Background(), tok.AccessToken)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if c.Subject != "machine1" || c.ClientID != "machine1" || c.TokenUse != "access" || !slices.Equal(c.Scopes, []string{"petstore/pets.write"}) ||
				c.ExpiresAt.Sub(c.IssuedAt) != time.Hour {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}
