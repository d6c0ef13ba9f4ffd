package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
)

const (
	machineID     = "machine123"
	machineSecret = "s3cret+with/odd=chars"
	issuer        = "http://127.0.0.1:9229/local_pool"
)

var scopes = []string{"petstore/pets.read", "petstore/pets.write"}

func newServer(t *testing.T) (*httptest.Server, *testjwt.IdP) {
	t.Helper()
	idp, err := testjwt.New("k1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	clients := map[string]Client{
		machineID:  {Secret: machineSecret, Flows: []string{GrantClientCredentials}, Scopes: scopes, TokenTTL: 30 * time.Minute},
		"userapp":  {Flows: []string{"code"}, Scopes: []string{"openid"}},
		"codeonly": {Secret: "x", Flows: []string{"code"}, Scopes: []string{"openid"}},
	}
	s := &Server{Issuer: issuer, Key: idp.Key, KeyID: idp.KID, Clients: func(_ context.Context, id string) (Client, error) {
		c, ok := clients[id]
		if !ok {
			return Client{}, ErrUnknownClient
		}
		return c, nil
	}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, idp
}

type request struct {
	method, contentType, auth string
	form                      url.Values
}

func post(t *testing.T, srv *httptest.Server, r request) (int, map[string]any, http.Header) {
	t.Helper()
	if r.method == "" {
		r.method = "POST"
	}
	if r.contentType == "" {
		r.contentType = "application/x-www-form-urlencoded"
	}
	req, _ := http.NewRequest(r.method, srv.URL+"/oauth2/token", strings.NewReader(r.form.Encode()))
	req.Header.Set("Content-Type", r.contentType)
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer is not JSON: %s", b)
	}
	return resp.StatusCode, m, resp.Header
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// encodedBasic is Basic as RFC 6749 section 2.3.1 and x/oauth2 send it:
// id and secret form-URL-encoded before base64.
func encodedBasic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// verify checks the signature with the IdP's public key and returns the claims.
func verify(t *testing.T, idp *testjwt.IdP, token string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		if tok.Header["kid"] != idp.KID {
			return nil, errors.New("wrong kid")
		}
		return &idp.Key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(issuer), jwt.WithExpirationRequired())
	if err != nil || !tok.Valid {
		t.Fatalf("token does not verify: %v", err)
	}
	return claims
}

func TestTokenEndpointIssues(t *testing.T) {
	srv, idp := newServer(t)
	grant := form("grant_type", "client_credentials")
	withScope := func(s string) url.Values { f := form("grant_type", "client_credentials", "scope", s); return f }
	tests := []struct {
		name      string
		req       request
		wantScope string
	}{
		{"Basic raw, all scopes by default", request{auth: Basic(machineID, machineSecret), form: grant}, "petstore/pets.read petstore/pets.write"},
		{"Basic form-URL-encoded (RFC 6749, x/oauth2)", request{auth: encodedBasic(machineID, machineSecret), form: grant}, "petstore/pets.read petstore/pets.write"},
		{"client_id and client_secret in the body", request{form: form("grant_type", "client_credentials", "client_id", machineID, "client_secret", machineSecret)}, "petstore/pets.read petstore/pets.write"},
		{"Basic plus the same client_id in the body", request{auth: Basic(machineID, machineSecret), form: form("grant_type", "client_credentials", "client_id", machineID)}, "petstore/pets.read petstore/pets.write"},
		{"read scope only", request{auth: Basic(machineID, machineSecret), form: withScope("petstore/pets.read")}, "petstore/pets.read"},
		{"write scope only", request{auth: Basic(machineID, machineSecret), form: withScope("petstore/pets.write")}, "petstore/pets.write"},
		{"both, reordered and repeated", request{auth: Basic(machineID, machineSecret), form: withScope("petstore/pets.write  petstore/pets.read petstore/pets.write")}, "petstore/pets.write petstore/pets.read"},
		{"content type with charset", request{auth: Basic(machineID, machineSecret), contentType: "application/x-www-form-urlencoded; charset=utf-8", form: grant}, "petstore/pets.read petstore/pets.write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Unix()
			status, body, hdr := post(t, srv, tt.req)
			if status != 200 {
				t.Fatalf("status %d: %v", status, body)
			}
			if body["token_type"] != "Bearer" || body["expires_in"] != 1800.0 || hdr.Get("Cache-Control") != "no-store" {
				t.Fatalf("answer %v, Cache-Control %q", body, hdr.Get("Cache-Control"))
			}
			c := verify(t, idp, body["access_token"].(string))
			if c["scope"] != tt.wantScope {
				t.Errorf("scope %q, want %q", c["scope"], tt.wantScope)
			}
			// Cognito's client-credentials access token shape.
			if c["client_id"] != machineID || c["sub"] != machineID || c["token_use"] != "access" || c["version"] != 2.0 || c["aud"] != nil {
				t.Errorf("claims %v", c)
			}
			iat, exp := c["iat"].(float64), c["exp"].(float64)
			if int64(iat) < before || exp-iat != 1800 || c["auth_time"] != iat || len(c["jti"].(string)) != 36 {
				t.Errorf("times or jti: %v", c)
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	srv, _ := newServer(t)
	grant := form("grant_type", "client_credentials")
	tests := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"unknown client", request{auth: Basic("nobody", machineSecret), form: grant}, 401, "invalid_client"},
		{"wrong secret", request{auth: Basic(machineID, "wrong"), form: grant}, 401, "invalid_client"},
		{"wrong secret in the body", request{form: form("grant_type", "client_credentials", "client_id", machineID, "client_secret", "wrong")}, 401, "invalid_client"},
		{"no client authentication", request{form: grant}, 401, "invalid_client"},
		{"client_id without a secret", request{form: form("grant_type", "client_credentials", "client_id", machineID)}, 401, "invalid_client"},
		{"public client (no secret)", request{auth: Basic("userapp", ""), form: grant}, 401, "invalid_client"},
		{"Bearer instead of Basic", request{auth: "Bearer abc", form: grant}, 401, "invalid_client"},
		{"client without the grant", request{auth: Basic("codeonly", "x"), form: grant}, 400, "unauthorized_client"},
		{"scope not allowed", request{auth: Basic(machineID, machineSecret), form: form("grant_type", "client_credentials", "scope", "petstore/pets.delete")}, 400, "invalid_scope"},
		{"one of two scopes not allowed", request{auth: Basic(machineID, machineSecret), form: form("grant_type", "client_credentials", "scope", "petstore/pets.read openid")}, 400, "invalid_scope"},
		{"authorization_code grant", request{auth: Basic(machineID, machineSecret), form: form("grant_type", "authorization_code", "code", "x")}, 400, "unsupported_grant_type"},
		{"password grant", request{auth: Basic(machineID, machineSecret), form: form("grant_type", "password")}, 400, "unsupported_grant_type"},
		{"no grant_type", request{auth: Basic(machineID, machineSecret), form: form("scope", "petstore/pets.read")}, 400, "invalid_request"},
		{"JSON body", request{auth: Basic(machineID, machineSecret), contentType: "application/json", form: grant}, 400, "invalid_request"},
		{"credentials in header and body", request{auth: Basic(machineID, machineSecret), form: form("grant_type", "client_credentials", "client_id", machineID, "client_secret", machineSecret)}, 400, "invalid_request"},
		{"different client_id in the body", request{auth: Basic(machineID, machineSecret), form: form("grant_type", "client_credentials", "client_id", "other")}, 400, "invalid_request"},
		{"GET", request{method: "GET", auth: Basic(machineID, machineSecret)}, 405, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, hdr := post(t, srv, tt.req)
			if status != tt.status || body["error"] != tt.code || body["access_token"] != nil {
				t.Fatalf("got %d %v, want %d %s", status, body, tt.status, tt.code)
			}
			if d, _ := body["error_description"].(string); d == "" || strings.Contains(d, machineSecret) {
				t.Errorf("error_description %q: want a reason that never echoes the secret", d)
			}
			if tt.code == "invalid_client" && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("invalid_client without WWW-Authenticate: %v", hdr)
			}
		})
	}
	// A repeated parameter is ambiguous.
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("grant_type=client_credentials&scope=a&scope=b"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", Basic(machineID, machineSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("repeated scope: %d", resp.StatusCode)
	}
}

// TestClientCredentialsLibrary: golang.org/x/oauth2's client, in both of its
// authentication styles, gets tokens and reads the errors.
func TestClientCredentialsLibrary(t *testing.T) {
	srv, idp := newServer(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cfg := clientcredentials.Config{ClientID: machineID, ClientSecret: machineSecret, TokenURL: srv.URL + "/oauth2/token",
			Scopes: []string{"petstore/pets.read"}, AuthStyle: style}
		tok, err := cfg.Token(context.Background())
		if err != nil {
			t.Fatalf("style %d: %v", style, err)
		}
		if c := verify(t, idp, tok.AccessToken); c["scope"] != "petstore/pets.read" {
			t.Errorf("style %d: scope %v", style, c["scope"])
		}
		cfg.Scopes = []string{"petstore/pets.admin"}
		var re *oauth2.RetrieveError
		if _, err := cfg.Token(context.Background()); !errors.As(err, &re) || re.ErrorCode != "invalid_scope" {
			t.Errorf("style %d: not allowed scope: %v", style, err)
		}
	}
}

// TestCognitoLocalKey: the key we sign with is the one cognito-local's JWKS publishes.
func TestCognitoLocalKey(t *testing.T) {
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	key, err := CognitoLocalKey(root)
	if err != nil {
		t.Skipf("cognito-local is not installed (make deps): %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "node_modules/cognito-local/lib/keys/cognitoLocal.public.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pub struct {
		JWK struct{ Kid, N string } `json:"jwk"`
	}
	json.Unmarshal(raw, &pub)
	n, _ := base64.RawURLEncoding.DecodeString(pub.JWK.N)
	if pub.JWK.Kid != CognitoLocalKeyID || new(big.Int).SetBytes(n).Cmp(key.N) != 0 {
		t.Fatalf("the private key does not match cognito-local's published key %s", pub.JWK.Kid)
	}
	if _, err := CognitoLocalKey(t.TempDir()); err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Errorf("missing key: %v", err)
	}
}

func TestGrantedScopes(t *testing.T) {
	for _, tt := range []struct {
		req  string
		want []string
		err  bool
	}{
		{"", scopes, false},
		{"   ", scopes, false},
		{"petstore/pets.read", []string{"petstore/pets.read"}, false},
		{"petstore/pets.read  petstore/pets.write", scopes, false},
		// Only SP separates scopes (RFC 6749 3.3, scope.Split): a tab is part of an unknown scope.
		{"petstore/pets.read\tpetstore/pets.write", nil, true},
		{"petstore/pets.READ", nil, true},
		{"petstore", nil, true},
	} {
		got, e := grantedScopes(tt.req, scopes)
		if (e != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("grantedScopes(%q) = %v, %v", tt.req, got, e)
		}
	}
	if _, e := grantedScopes("", nil); e == nil || e.Code != "invalid_scope" {
		t.Errorf("no allowed scopes: %v", e)
	}
}
