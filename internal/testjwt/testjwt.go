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
	"sync/atomic"

	"github.com/golang-jwt/jwt/v5"
)

// IdP holds one signing key and serves its JWKS.
type IdP struct {
	Key      *rsa.PrivateKey
	KID      string
	Server   *httptest.Server
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
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.Requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
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
