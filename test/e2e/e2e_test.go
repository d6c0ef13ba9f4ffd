package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/local/stack"
)

// TestLocalStack starts the whole system from cdk.out on free loopback ports,
// runs the scenario, and checks that stopping leaves no process behind.
func TestLocalStack(t *testing.T) {
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	ctx := context.Background()
	s, err := stack.Start(ctx, stack.Options{ModuleRoot: root, StateDir: t.TempDir(), Progress: &progress})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, progress.String())
	}
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	checkEndpointsFile(t, s)

	target := LocalTarget(root, s)
	var out bytes.Buffer
	results, ok := Run(ctx, target, &out)
	t.Log(out.String())
	if !ok {
		t.Fatal("scenario failed")
	}
	ran := 0
	for _, r := range results {
		if !r.Skipped {
			ran++
		}
	}
	if ran < 24 {
		t.Fatalf("only %d steps ran", ran)
	}
	// After the scenario the state holds passwords, refresh tokens and logs.
	checkPrivate(t, filepath.Dir(s.EndpointsFile))

	// A second local run on the same state dir refuses to half-start.
	if _, err := stack.Start(ctx, stack.Options{ModuleRoot: root, StateDir: filepath.Dir(s.EndpointsFile)}); err == nil || !strings.Contains(err.Error(), "already active") {
		t.Fatalf("second start: %v", err)
	}

	pids := append(s.Host.PIDs(), s.Cognito.PID())
	s.Stop()
	stopped = true
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d survived Stop", pid)
		}
	}
	if _, err := os.Stat(s.EndpointsFile); !os.IsNotExist(err) {
		t.Errorf("endpoints.json not removed: %v", err)
	}
}

func checkEndpointsFile(t *testing.T, s *stack.Stack) {
	raw, err := os.ReadFile(s.EndpointsFile)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"httpApiUrl", "restApiUrl", "cognitoEndpoint", "userPoolId", "clientId", "issuer", "jwksUri", "region", "users"} {
		if m[k] == nil || m[k] == "" {
			t.Errorf("endpoints.json lacks %s", k)
		}
	}
	for _, k := range []string{"httpApiUrl", "restApiUrl", "cognitoEndpoint"} {
		if strings.HasSuffix(fmt.Sprint(m[k]), "/") {
			t.Errorf("%s has a trailing slash", k)
		}
	}
	if !strings.HasSuffix(fmt.Sprint(m["restApiUrl"]), "/prod") {
		t.Errorf("restApiUrl lacks the stage: %v", m["restApiUrl"])
	}
	users, _ := m["users"].([]any)
	if len(users) != 2 {
		t.Fatalf("users %v", m["users"])
	}
	for _, u := range users {
		um := u.(map[string]any)
		if um["username"] == "" || um["password"] == "" || len(um["groups"].([]any)) == 0 {
			t.Errorf("user %v", um)
		}
	}
}

// checkPrivate: the state dir is 0700 and each file in it that may hold a
// password, a secret or a refresh token is 0600 (issue 9, section 7).
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	mode := func(p string) fs.FileMode {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return info.Mode().Perm()
	}
	if m := mode(dir); m != 0o700 {
		t.Errorf("%s: mode %v, want 0700", dir, m)
	}
	files := []string{filepath.Join(dir, "endpoints.json"), filepath.Join(dir, "lock")}
	for _, pattern := range []string{"logs/*.log", "cognito/.cognito/db/*.json", "cognito/.cognito/config.json"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(m) == 0 {
			t.Errorf("no %s in %s: the check would prove nothing", pattern, dir)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		if m := mode(f); m != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, m)
		}
	}
}

// LocalTarget points the scenario at a running local stack.
func LocalTarget(root string, s *stack.Stack) Target {
	e := s.Endpoints
	creds := map[string]Credentials{}
	for _, u := range e.Users {
		creds[u.Username] = Credentials{u.Username, u.Password}
	}
	return Target{
		HTTPAPIURL: e.HTTPAPIURL, RESTAPIURL: e.RESTAPIURL, CognitoEndpoint: e.CognitoEndpoint, Region: e.Region, ClientID: e.ClientID,
		Admin: creds["adminuser"], Regular: creds["regularuser"],
		ExpiredToken: func(fresh string) (string, error) { return expire(root, fresh) },
		Invocations:  func(fn string) int { return s.Host.Invocations(s.Functions[fn]) },
	}
}

// expire re-signs a fresh cognito-local token with exp an hour ago, using
// cognito-local's own signing key (it ships with the package): a token the
// issuer really signed, only old.
func expire(root, fresh string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(root, "node_modules/cognito-local/lib/keys/cognitoLocal.private.json"))
	if err != nil {
		return "", err
	}
	var k struct {
		PEM string `json:"pem"`
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", err
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(k.PEM))
	if err != nil {
		return "", err
	}
	parts := strings.Split(fresh, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{}
	json.Unmarshal(payload, &claims)
	claims["iat"] = time.Now().Add(-2 * time.Hour).Unix()
	claims["auth_time"] = claims["iat"]
	claims["exp"] = time.Now().Add(-time.Hour).Unix()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "CognitoLocal"
	return tok.SignedString(key)
}
