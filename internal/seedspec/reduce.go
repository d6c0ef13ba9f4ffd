package seedspec

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
)

// ErrNotJWKS: a body Reduce was given is not a JWKS document.
var ErrNotJWKS = errors.New(`the body is not a JWKS ({"keys": [...]})`)

// Key is the reduced form of one JWK: the public part a signature check
// needs, n and e of an RSA key, crv, x and y of an EC key.
type Key struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// AlgorithmsOr is what the issuer allows when every issuer allows shared
// unless its own list says otherwise (the authorizer's ALGORITHMS and an
// ISSUERS element's "algorithms"): the issuer's own list wins.
func (is Issuer) AlgorithmsOr(shared []string) []string {
	if len(is.Algorithms) > 0 {
		return Algorithms(is.Algorithms)
	}
	return Algorithms(shared)
}

// rsaAlgorithms are the algorithms an RSA key verifies.
var rsaAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}

// curves are the EC curves the authorizer verifies, each with its one
// algorithm and the length of a coordinate.
var curves = map[string]struct {
	alg   string
	size  int
	curve ecdh.Curve
}{
	"P-256": {"ES256", 32, ecdh.P256()},
	"P-384": {"ES384", 48, ecdh.P384()},
}

// opsVerify reports whether a JWK's key_ops (RFC 7517 section 4.3) lets it
// verify signatures: absent, or a list holding "verify". The authorizer
// leaves such keys out of a fetched set too (jwtverify); the seed drops
// key_ops, so it must not turn a key marked for encryption into one for
// signatures.
func opsVerify(ops any) bool {
	if ops == nil {
		return true
	}
	list, ok := ops.([]any)
	if !ok {
		return false
	}
	for _, o := range list {
		if o == "verify" {
			return true
		}
	}
	return false
}

// Reduce is which keys of a JWKS document the seed keeps for an issuer
// allowing algs: of every signing key with a kid that can verify one of
// algs, only kty, kid, use, alg and the public key: n and e of an RSA key,
// crv, x and y of an EC key on P-256 or P-384. A key whose alg is given must
// name one of algs. Other keys (encryption, other types or curves, no kid,
// malformed, of an algorithm the issuer does not allow, key_ops without
// verify) are left out. A key
// with private material (d, or the k of a symmetric key) is left out too and
// its kid (or #index) returned in private: a JWKS is public, so the IdP is
// misconfigured. A body that is not a JWKS is ErrNotJWKS.
func Reduce(body []byte, algs []string) (keys []Key, private []string, err error) {
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
		return nil, nil, ErrNotJWKS
	}
	keys = []Key{}
	for i, k := range doc.Keys {
		str := func(name string) string { s, _ := k[name].(string); return s }
		r := Key{Kty: str("kty"), Kid: str("kid"), Use: str("use"), Alg: str("alg")}
		_, d := k["d"]
		_, secret := k["k"]
		if d || secret {
			name := r.Kid
			if name == "" {
				name = "#" + strconv.Itoa(i)
			}
			private = append(private, name)
			continue
		}
		if r.Kid == "" || (r.Use != "" && r.Use != "sig") || !opsVerify(k["key_ops"]) {
			continue
		}
		var verifies []string
		switch r.Kty {
		case "RSA":
			r.N, r.E = str("n"), str("e")
			if b64url(r.N) && b64url(r.E) {
				verifies = rsaAlgorithms
			}
		case "EC":
			r.Crv, r.X, r.Y = str("crv"), str("x"), str("y")
			if c, ok := curves[r.Crv]; ok && onCurve(c.curve, c.size, r.X, r.Y) {
				verifies = []string{c.alg}
			}
		}
		if r.Alg != "" {
			verifies = slices.DeleteFunc(slices.Clone(verifies), func(a string) bool { return a != r.Alg })
		}
		if !slices.ContainsFunc(verifies, func(a string) bool { return slices.Contains(algs, a) }) {
			continue
		}
		keys = append(keys, r)
	}
	return keys, private, nil
}

// onCurve reports whether x and y are base64url coordinates of size bytes
// of a point on curve, so the authorizer can parse the key (a key it cannot
// parse would make its whole configured key set unusable).
func onCurve(curve ecdh.Curve, size int, x, y string) bool {
	xb, errX := base64.RawURLEncoding.DecodeString(x)
	yb, errY := base64.RawURLEncoding.DecodeString(y)
	if errX != nil || errY != nil || len(xb) != size || len(yb) != size {
		return false
	}
	_, err := curve.NewPublicKey(append(append([]byte{4}, xb...), yb...))
	return err == nil
}

func b64url(s string) bool {
	if s == "" {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}
