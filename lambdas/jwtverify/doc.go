// Package jwtverify verifies the JWTs of OIDC issuers (Cognito, Auth0, Okta,
// Entra ID, Keycloak, ...) against their published keys, for API Gateway
// authorizers and any other Go service. It is the verifier behind this
// module's Lambda authorizer, usable alone: it imports no AWS SDK and no CDK.
//
// # How to use it
//
// Build one Verifier per process (it caches keys and verified tokens) from
// the issuers you trust, then call Verify with the raw token:
//
//	v, err := jwtverify.New(jwtverify.Config{Issuers: []jwtverify.Issuer{{
//		Issuer:    "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_XXXX",
//		Audiences: []string{"<app client id>"},
//	}}})
//	...
//	claims, err := v.Verify(ctx, token)
//	switch {
//	case errors.Is(err, jwtverify.ErrKeySource): // a fault: the keys could not be loaded (500)
//	case err != nil:                             // the token is refused (401); jwtverify.Reason(err) for logs
//	default:                                     // claims.Subject, claims.Scopes, claims.Groups, claims.Claim("email")
//	}
//
// With no JWKSURI the keys are found through OIDC discovery (the jwks_uri of
// <Issuer>/.well-known/openid-configuration, whose issuer must match
// exactly). Issuer.JWKS seeds the key set (for example with the keys fetched
// at deploy time) so a cold start verifies with no request.
//
// # What it checks
//
// A token passes only when every check does; anything else is an error
// wrapping one sentinel, with a stable reason code (Reason):
//
//   - one spelling (for RS and PS; see below for ES): three base64url
//     segments, no CR, LF or padding, zero spare bits; header and payload
//     valid UTF-8 with no lone UTF-16 surrogate escape, each one JSON
//     object with no top-level name repeated (escapes decoded); PS
//     signatures with a salt of the hash's length (RFC 7518 section 3.5);
//   - the header: alg among the issuer's Algorithms (RS256 by default; RS,
//     PS 256-512 and ES256/ES384 may be allowed; none and HMAC never), a kid
//     naming a key of that issuer's set, of the algorithm's type and curve
//     (jwk, jku and x5u headers are never used); typ absent, JWT or at+jwt;
//     no crit, no b64 other than true;
//   - the claims: iss one of the issuers (exact match), exp required, exp,
//     nbf and iat JSON numbers from 0 to MaxNumericDate within Leeway, aud
//     holding one of the issuer's Audiences or, without aud (Cognito access
//     tokens), client_id (an aud of null or [] is refused, not "no aud"); token_use id or access (TokenUse may require one);
//     sub present; no events claim (logout and security event tokens);
//   - the keys: RSA keys under 2048 bits or with an exponent other than 65537
//     are refused when a set is loaded; keys not for signatures (use other
//     than sig, key_ops without verify) are left out;
//   - Config.Check, a hook of your own, last.
//
// Claim names are matched exactly (RFC 7519): a custom "Username" next to
// "username" is just another claim.
//
// ES256 and ES384 signatures are malleable: from a valid (r, s) anyone can
// make (r, n-s), which verifies too, without the key. Both are accepted
// (IdPs emit either), so an ES token has two spellings. Key a replay or deny
// list on the jti claim, not on the token string. The cache of verified
// tokens is keyed on the token string, which is fine: both spellings are
// valid tokens, each cached on its own.
//
// JWKS and discovery requests use https, or plain http on a loopback host
// only when the configured issuer or JWKS URI is itself loopback (also for a
// discovered jwks_uri and for redirects); bodies are capped at 1 MiB. A
// Config.HTTPClient of your own is wrapped so these rules still hold.
//
// # Faults and key rotation
//
// ErrKeySource means the keys could not be loaded: nothing is accepted
// (fail closed). An unknown kid refetches the JWKS at most once per
// RefreshMinInterval; while the JWKS is unavailable, retries back off from
// 1 s up to RefreshMinInterval, so verification recovers within seconds of
// the IdP; a key set not confirmed by the IdP for two RefreshIntervals (a
// seed: two RefreshMinIntervals) stops being trusted. Verified tokens are
// cached until exp, never past their key set's next refresh.
package jwtverify
