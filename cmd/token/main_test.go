package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/testjwt"
	"github.com/secure-api-go/apigw-jwt/local/oauth"
	"github.com/secure-api-go/apigw-jwt/local/stack"
)

// localRun writes an endpoints.json whose token endpoint is a real
// local/oauth server, as make local writes it.
func localRun(t *testing.T) string {
	t.Helper()
	idp, err := testjwt.New("k1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	scopes := []string{"petstore/pets.read", "petstore/pets.write"}
	srv := httptest.NewServer(&oauth.Server{Issuer: "http://127.0.0.1/pool", Key: idp.Key, KeyID: "k1",
		Clients: func(_ context.Context, id string) (oauth.Client, error) {
			if id != "m1" {
				return oauth.Client{}, oauth.ErrUnknownClient
			}
			return oauth.Client{Secret: "s1", Flows: []string{"client_credentials"}, Scopes: scopes}, nil
		}})
	t.Cleanup(srv.Close)
	e := stack.Endpoints{CognitoEndpoint: "http://127.0.0.1:1", Region: "us-east-1", ClientID: "app", TokenEndpoint: srv.URL + "/oauth2/token",
		Users:         []stack.User{{Username: "adminuser", Password: "pw"}},
		MachineClient: &stack.MachineClient{ClientID: "m1", ClientSecret: "s1", Scopes: scopes}}
	b, _ := json.Marshal(e)
	path := filepath.Join(t.TempDir(), "endpoints.json")
	os.WriteFile(path, b, 0o600)
	return path
}

func TestMachineTokenLocal(t *testing.T) {
	endpoints := localRun(t)
	for _, tt := range []struct {
		name, scope, format string
		want                string
		err                 error
	}{
		{"all scopes", "", "", `"scope": "petstore/pets.read petstore/pets.write"`, nil},
		{"read scope", "petstore/pets.read", "", `"scope": "petstore/pets.read"`, nil},
		{"claims", "petstore/pets.write", "claims", `"scope": "petstore/pets.write"`, nil},
		{"scope not allowed", "petstore/pets.delete", "", "", ErrScope},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var notes strings.Builder
			out, err := Run(context.Background(), Options{Client: "machine", Scope: tt.scope, Format: tt.format, Endpoints: endpoints, Out: &notes})
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err != nil {
				if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "petstore/pets.read, petstore/pets.write") {
					t.Errorf("error is not one line naming the allowed scopes: %v", err)
				}
				return
			}
			claims := out
			if tt.format != "claims" {
				if claims, err = Claims(out); err != nil {
					t.Fatalf("not a JWT: %q", out)
				}
			} else if !strings.Contains(notes.String(), "NOT verified") {
				t.Errorf("claims printed without saying they are not verified: %q", notes.String())
			}
			if !strings.Contains(claims, tt.want) || !strings.Contains(claims, `"client_id": "m1"`) {
				t.Errorf("claims %s, want %s", claims, tt.want)
			}
		})
	}
}

func TestUsageAndUnknownUser(t *testing.T) {
	endpoints := localRun(t)
	for _, tt := range []struct {
		o    Options
		err  error
		text string
	}{
		{Options{}, ErrUsage, "USER=<name>"},
		{Options{User: "a", Client: "machine"}, ErrUsage, "USER=<name>"},
		{Options{Client: "other"}, ErrUsage, "CLIENT=machine"},
		{Options{User: "adminuser", Format: "yaml"}, ErrUsage, "want token or claims"},
		{Options{User: "nobody"}, ErrUnknownUser, "the local run has adminuser"},
	} {
		tt.o.Endpoints, tt.o.Out = endpoints, io.Discard
		if _, err := Run(context.Background(), tt.o); !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%+v: %v, want %v with %q", tt.o, err, tt.err, tt.text)
		}
	}
}

// TestNoLocalRunNoStack: no endpoints.json and an AWS that answers nothing.
func TestNoLocalRunNoStack(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
		"AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	_, err := Run(context.Background(), Options{User: "adminuser", Endpoints: filepath.Join(t.TempDir(), "none.json"), Stack: "SecureApiJwt", Out: io.Discard})
	if !errors.Is(err, ErrNoTarget) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "make local") || !strings.Contains(err.Error(), "make deploy") {
		t.Fatalf("%v", err)
	}
}

// TestHostedUILogin plays the browser against a fake hosted UI that checks
// PKCE (S256) and the state, and returns an ID token for the code.
func TestHostedUILogin(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	redirect := fmt.Sprintf("http://localhost:%d/callback", port)
	var mu sync.Mutex
	challenges := map[string]string{} // code -> challenge
	idToken := func(user string) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"cognito:username": user}).SignedString([]byte("k"))
		return s
	}
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/authorize":
			q := r.URL.Query()
			if q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != redirect || q.Get("client_id") != "app" || q.Get("login_hint") != "adminuser" {
				http.Error(w, "bad authorize request "+r.URL.RawQuery, 400)
				return
			}
			mu.Lock()
			challenges["code1"] = q.Get("code_challenge")
			mu.Unlock()
			http.Redirect(w, r, redirect+"?code=code1&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
		case "/oauth2/token":
			r.ParseForm()
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			mu.Lock()
			want := challenges[r.PostForm.Get("code")]
			mu.Unlock()
			if want == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != want || r.PostForm.Get("redirect_uri") != redirect {
				w.WriteHeader(400)
				fmt.Fprint(w, `{"error":"invalid_grant"}`)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":"a","id_token":%q,"token_type":"Bearer","expires_in":3600}`, idToken("adminuser"))
		}
	}))
	defer idp.Close()
	target := &Target{ClientID: "app", TokenEndpoint: idp.URL + "/oauth2/token", AuthorizeURL: idp.URL + "/oauth2/authorize", RedirectURL: redirect}

	pr, pw := io.Pipe()
	go func() { // the "browser": open the printed URL and follow the redirect
		b := make([]byte, 4096)
		n, _ := io.ReadAtLeast(pr, b, 1)
		for !strings.Contains(string(b[:n]), "\n  http") || !strings.HasSuffix(string(b[:n]), "\n") {
			m, err := pr.Read(b[n:])
			if err != nil {
				return
			}
			n += m
		}
		lines := strings.Split(strings.TrimSpace(string(b[:n])), "\n")
		resp, err := http.Get(strings.TrimSpace(lines[len(lines)-1]))
		if err == nil {
			resp.Body.Close()
		}
		io.Copy(io.Discard, pr)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := HostedUILogin(ctx, target, "adminuser", pw)
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if claim(got, "cognito:username") != "adminuser" {
		t.Fatalf("id token %s", got)
	}
}

func TestClaims(t *testing.T) {
	tok := "x." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"s","scope":"a b"}`)) + ".y"
	c, err := Claims(tok)
	if err != nil || !strings.Contains(c, `"sub": "s"`) {
		t.Fatalf("%q %v", c, err)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte("nope")) + ".c"} {
		if _, err := Claims(bad); err == nil {
			t.Errorf("Claims(%q) accepted", bad)
		}
	}
}
