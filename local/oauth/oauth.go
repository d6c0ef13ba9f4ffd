// Package oauth is the local stand-in for Cognito's /oauth2/token endpoint,
// which cognito-local lacks: the client_credentials grant only, answering
// and failing as Cognito does, with access tokens of Cognito's shape signed
// by the key the local pool's JWKS publishes, so the real authorizers accept
// them unchanged.
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/scope"
)

// GrantClientCredentials is the one grant this endpoint serves.
const GrantClientCredentials = "client_credentials"

// ErrUnknownClient is what a Clients lookup returns for an id it does not know.
var ErrUnknownClient = errors.New("unknown client")

// Client is what the endpoint needs to know of an app client.
type Client struct {
	ID     string
	Secret string // "" for a public client, which cannot use client credentials
	// Flows are the client's AllowedOAuthFlows ("client_credentials", "code", ...).
	Flows []string
	// Scopes are the client's AllowedOAuthScopes.
	Scopes []string
	// TokenTTL is the access token lifetime. Default: 1 hour (Cognito's default).
	TokenTTL time.Duration
}

// Server answers POST /oauth2/token.
type Server struct {
	// Issuer is the pool's issuer, the tokens' iss.
	Issuer string
	// Key signs the tokens; KeyID is its kid in the pool's JWKS.
	Key   *rsa.PrivateKey
	KeyID string
	// Clients looks up a client by id, returning ErrUnknownClient when there is none.
	Clients func(ctx context.Context, id string) (Client, error)
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Token is the success answer.
type Token struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// oauthError is an RFC 6749 section 5.2 error answer.
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func fail(status int, code, format string, a ...any) *oauthError {
	return &oauthError{status: status, Code: code, Description: fmt.Sprintf(format, a...)}
}

// ServeHTTP serves the token endpoint at any path; the local stack mounts it at /oauth2/token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	tok, e := s.issue(r)
	if e != nil {
		if e.Code == "invalid_client" {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		}
		if e.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		w.WriteHeader(e.status)
		json.NewEncoder(w).Encode(e)
		return
	}
	json.NewEncoder(w).Encode(tok)
}

func (s *Server) issue(r *http.Request) (*Token, *oauthError) {
	if r.Method != http.MethodPost {
		return nil, fail(http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST, not %s", r.Method)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fail(400, "invalid_request", "Content-Type %q: want application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, fail(400, "invalid_request", "the body is not a form: %v", err)
	}
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			return nil, fail(400, "invalid_request", "parameter %s is repeated", k)
		}
	}
	switch g := form.Get("grant_type"); g {
	case "":
		return nil, fail(400, "invalid_request", "grant_type is missing: send grant_type=client_credentials")
	case GrantClientCredentials:
	default:
		return nil, fail(400, "unsupported_grant_type", "grant_type %q: the local token endpoint serves client_credentials only", g)
	}
	client, e := s.authenticate(r.Context(), r, form)
	if e != nil {
		return nil, e
	}
	if !slices.Contains(client.Flows, GrantClientCredentials) {
		return nil, fail(400, "unauthorized_client", "client %s may not use client_credentials", client.ID)
	}
	scopes, e := grantedScopes(form.Get("scope"), client.Scopes)
	if e != nil {
		return nil, e
	}
	ttl := client.TokenTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	iat := now().Unix()
	claims := jwt.MapClaims{
		"sub": client.ID, "token_use": "access", "scope": strings.Join(scopes, " "),
		"auth_time": iat, "iss": s.Issuer, "exp": iat + int64(ttl/time.Second), "iat": iat,
		"version": 2, "jti": newJTI(), "client_id": client.ID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = s.KeyID
	signed, err := t.SignedString(s.Key)
	if err != nil {
		return nil, fail(500, "server_error", "signing failed")
	}
	return &Token{AccessToken: signed, ExpiresIn: int64(ttl / time.Second), TokenType: "Bearer"}, nil
}

// authenticate reads the client's credentials from HTTP Basic (the id and
// secret raw, as Cognito documents, or form-URL-encoded first, as RFC 6749
// section 2.3.1 and golang.org/x/oauth2 send them) or from client_id and
// client_secret in the body, and checks them.
func (s *Server) authenticate(ctx context.Context, r *http.Request, form url.Values) (Client, *oauthError) {
	id, secret, basic := r.BasicAuth()
	bodyID, bodySecret := form.Get("client_id"), form.Get("client_secret")
	if basic {
		if bodySecret != "" {
			return Client{}, fail(400, "invalid_request", "client credentials both in the Authorization header and the body: use one")
		}
		if bodyID != "" && bodyID != id {
			if u, err := url.QueryUnescape(id); err != nil || u != bodyID {
				return Client{}, fail(400, "invalid_request", "client_id in the body differs from the Authorization header")
			}
		}
	} else {
		if r.Header.Get("Authorization") != "" {
			return Client{}, fail(401, "invalid_client", "the Authorization header is not HTTP Basic client authentication")
		}
		id, secret = bodyID, bodySecret
	}
	if id == "" {
		return Client{}, fail(401, "invalid_client", "no client authentication: send HTTP Basic client_id:client_secret")
	}
	c, err := s.lookup(ctx, id)
	if basic && (errors.Is(err, ErrUnknownClient) || (err == nil && !matches(c.Secret, secret))) {
		// The raw pair did not match: try the form-URL-decoded one.
		uid, err1 := url.QueryUnescape(id)
		usecret, err2 := url.QueryUnescape(secret)
		if err1 == nil && err2 == nil && (uid != id || usecret != secret) {
			if c2, err3 := s.lookup(ctx, uid); err3 == nil && matches(c2.Secret, usecret) {
				return c2, nil
			}
		}
	}
	switch {
	case errors.Is(err, ErrUnknownClient):
		return Client{}, fail(401, "invalid_client", "client %s does not exist", id)
	case err != nil:
		return Client{}, fail(500, "server_error", "client lookup failed")
	case c.Secret == "":
		return Client{}, fail(401, "invalid_client", "client %s has no secret: client credentials need a confidential client", id)
	case !matches(c.Secret, secret):
		return Client{}, fail(401, "invalid_client", "wrong secret for client %s", id)
	}
	return c, nil
}

func (s *Server) lookup(ctx context.Context, id string) (Client, error) {
	c, err := s.Clients(ctx, id)
	if err == nil && c.ID == "" {
		c.ID = id
	}
	return c, err
}

func matches(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// grantedScopes is the requested subset of allowed, in request order, or all
// of allowed when none is requested (Cognito's default).
func grantedScopes(requested string, allowed []string) ([]string, *oauthError) {
	req := scope.Split(requested)
	if len(req) == 0 {
		if len(allowed) == 0 {
			return nil, fail(400, "invalid_scope", "the client has no allowed scopes")
		}
		return allowed, nil
	}
	var out []string
	for _, sc := range req {
		if !slices.Contains(allowed, sc) {
			return nil, fail(400, "invalid_scope", "scope %q is not allowed for this client; allowed: %s", sc, strings.Join(allowed, " "))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

func newJTI() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// CognitoLocalKeyID is the kid cognito-local signs with and publishes.
const CognitoLocalKeyID = "CognitoLocal"

// CognitoLocalKey reads the private key cognito-local ships in its npm
// package and signs its own tokens with, so tokens signed with it verify
// against the local pool's JWKS.
func CognitoLocalKey(moduleRoot string) (*rsa.PrivateKey, error) {
	path := filepath.Join(moduleRoot, "node_modules", "cognito-local", "lib", "keys", "cognitoLocal.private.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cognito-local signing key: %w (run `make deps`)", err)
	}
	var k struct {
		PEM string `json:"pem"`
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("cognito-local signing key %s: %w", path, err)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(k.PEM))
	if err != nil {
		return nil, fmt.Errorf("cognito-local signing key %s: %w", path, err)
	}
	return key, nil
}

// Basic is the Authorization header value of HTTP Basic client
// authentication with the id and secret raw, as Cognito documents it.
func Basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}
