// Package testjwt is an in-process identity provider for tests, benchmarks
// and the local run: RSA keys made on the spot, a JWKS served over loopback
// HTTP and tokens signed with them. Never used by a deployed Lambda.
package testjwt

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/golang-jwt/jwt/v5"
)

// IdP holds one signing key and serves its JWKS (at any path) and, at
// <issuer>/.well-known/openid-configuration, an OIDC discovery document.
type IdP struct {
	Key    *rsa.PrivateKey
	KID    string
	Server *httptest.Server
	// Requests counts the JWKS requests (discovery documents not included).
	Requests atomic.Int64
}

// New makes a 2048-bit key and starts a JWKS server on 127.0.0.1. Close it when done.
func New(kid string) (*IdP, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p := &IdP{Key: key, KID: kid}
	body, _ := json.Marshal(map[string]any{"keys": []map[string]string{JWK(kid, &key.PublicKey)}})
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// <issuer>/.well-known/openid-configuration, for any issuer path on
		// this server: the OIDC discovery document naming the key set.
		if prefix, ok := strings.CutSuffix(r.URL.Path, "/.well-known/openid-configuration"); ok {
			json.NewEncoder(w).Encode(map[string]any{"issuer": p.Server.URL + prefix, "jwks_uri": p.JWKSURI(),
				"id_token_signing_alg_values_supported": []string{"RS256"}})
			return
		}
		p.Requests.Add(1)
		w.Write(body)
	}))
	return p, nil
}

// JWKSURI is the URL of the key set.
func (p *IdP) JWKSURI() string { return p.Server.URL + "/.well-known/jwks.json" }

// Close stops the server.
func (p *IdP) Close() { p.Server.Close() }

// Sign returns an RS256 JWT with the IdP's kid.
func (p *IdP) Sign(claims jwt.MapClaims) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = p.KID
	return tok.SignedString(p.Key)
}

// JWK is the public JWK of an RSA key, as Cognito publishes it.
func JWK(kid string, pub *rsa.PublicKey) map[string]string {
	return map[string]string{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}
