package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/scope"
	"github.com/secure-api-go/apigw-jwt/local/oauth"
	"github.com/secure-api-go/apigw-jwt/local/stack"
	"github.com/secure-api-go/apigw-jwt/local/template"
)

// JWTCDKOut is where `make e2e` synthesizes the restAuthorizer=jwt variant
// (relative to the module root); cdk.out holds the default one.
const JWTCDKOut = ".build/cdk.out-jwt"

// TestLocalStack starts the whole system from cdk.out on free loopback ports,
// runs the scenario, and checks that stopping leaves no process behind; then
// the same with the REST API behind API Gateway's native JWT authorizer
// (restAuthorizer=jwt, synthesized into JWTCDKOut by make e2e).
func TestLocalStack(t *testing.T) {
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("restAuthorizer=lambda", func(t *testing.T) { testLocalStack(t, root, filepath.Join(root, "cdk.out"), false) })
	t.Run("restAuthorizer=jwt", func(t *testing.T) { testLocalStack(t, root, filepath.Join(root, JWTCDKOut), true) })
}

func testLocalStack(t *testing.T, root, cdkOut string, native bool) {
	if native {
		checkNativeTemplate(t, cdkOut)
	}
	var progress bytes.Buffer
	ctx := context.Background()
	s, err := stack.Start(ctx, stack.Options{ModuleRoot: root, CDKOut: cdkOut, StateDir: t.TempDir(), Progress: &progress})
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
	if native {
		if _, ok := s.Functions["authorizer"]; ok {
			t.Fatal("an authorizer Lambda runs with restAuthorizer=jwt")
		}
		target.RESTForbidden = "Forbidden"
	} else {
		checkFirstTokenWithoutJWKS(t, ctx, root, s)
	}
	checkLimits(t, ctx, root, s)
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
	t.Run("make token", func(t *testing.T) { checkMakeToken(t, root, s) })
	// After the scenario the state holds passwords, refresh tokens and logs.
	checkPrivate(t, filepath.Dir(s.EndpointsFile))

	// A second local run on the same state dir refuses to half-start.
	if _, err := stack.Start(ctx, stack.Options{ModuleRoot: root, CDKOut: cdkOut, StateDir: filepath.Dir(s.EndpointsFile)}); err == nil || !strings.Contains(err.Error(), "already active") {
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
	for _, k := range []string{"httpApiUrl", "restApiUrl", "cognitoEndpoint", "userPoolId", "clientId", "issuer", "jwksUri", "region", "users", "tokenEndpoint", "machineClient"} {
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
	mc, _ := m["machineClient"].(map[string]any)
	if mc["clientId"] == "" || mc["clientId"] == m["clientId"] || mc["clientSecret"] == "" || asJSON(mc["scopes"]) != `["petstore/pets.read","petstore/pets.write"]` {
		t.Errorf("machineClient %v", mc)
	}
	if !strings.HasSuffix(fmt.Sprint(m["tokenEndpoint"]), "/oauth2/token") {
		t.Errorf("tokenEndpoint %v", m["tokenEndpoint"])
	}
	// The file holds passwords and a client secret: owner only.
	for path, want := range map[string]os.FileMode{s.EndpointsFile: 0o600, filepath.Dir(s.EndpointsFile): 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, fi.Mode().Perm(), want)
		}
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
	var machine *Machine
	if m := e.MachineClient; m != nil {
		machine = &Machine{TokenURL: e.TokenEndpoint, ClientID: m.ClientID, ClientSecret: m.ClientSecret}
		for _, sc := range m.Scopes {
			if rs, ok := strings.CutSuffix(sc, "/"+scope.PetsRead); ok {
				machine.ResourceServer = rs
			}
		}
	}
	return Target{
		Machine:    machine,
		HTTPAPIURL: e.HTTPAPIURL, RESTAPIURL: e.RESTAPIURL, CognitoEndpoint: e.CognitoEndpoint, Region: e.Region, ClientID: e.ClientID,
		Admin: creds["adminuser"], Regular: creds["regularuser"],
		ExpiredToken:   func(fresh string) (string, error) { return expire(root, fresh) },
		UntrustedToken: untrusted,
		Invocations: func(fn string) int {
			id, ok := s.Functions[fn]
			if !ok {
				return -1 // not in this stack (the authorizer with restAuthorizer=jwt)
			}
			return s.Host.Invocations(id)
		},
	}
}

// untrusted re-signs a fresh token's claims with a key made here, under
// another issuer's iss: an issuer neither authorizer trusts.
func untrusted(fresh string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(fresh, claims); err != nil {
		return "", err
	}
	claims["iss"] = "https://idp.untrusted.example.com/pool"
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "untrusted-1"
	return tok.SignedString(key)
}

// checkNativeTemplate: the jwt variant really is one (a stale or default
// synth there would run the lambda walk-through twice).
func checkNativeTemplate(t *testing.T, cdkOut string) {
	t.Helper()
	tpl, err := template.Load(cdkOut, "SecureApiJwt")
	if err != nil {
		t.Fatalf("%v: make e2e synthesizes the restAuthorizer=jwt variant there (cdk synth -c restAuthorizer=jwt -o %s)", err, JWTCDKOut)
	}
	var jwtAuthorizers int
	for _, id := range tpl.OfType("AWS::ApiGateway::Authorizer") {
		if tpl.Resources[id].Properties["Type"] == "JWT" {
			jwtAuthorizers++
		}
	}
	if jwtAuthorizers != 1 {
		t.Fatalf("%s holds %d JWT authorizers, want 1: re-run make e2e to synthesize the restAuthorizer=jwt variant", cdkOut, jwtAuthorizers)
	}
}

// expire re-signs a fresh cognito-local token with exp an hour ago, using
// cognito-local's own signing key (it ships with the package): a token the
// issuer really signed, only old.
func expire(root, fresh string) (string, error) {
	return resign(root, fresh, oauth.CognitoLocalKeyID, func(c jwt.MapClaims) {
		c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		c["auth_time"] = c["iat"]
		c["exp"] = time.Now().Add(-time.Hour).Unix()
	})
}

// resign signs the claims of a cognito-local token again with cognito-local's
// own key (oauth.CognitoLocalKey), under kid and with change applied: a token
// the issuer really signed, only old, or under a kid the authorizer has not seen.
func resign(root, fresh, kid string, change func(jwt.MapClaims)) (string, error) {
	key, err := oauth.CognitoLocalKey(root)
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(fresh, claims); err != nil {
		return "", err
	}
	if change != nil {
		change(claims)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	return tok.SignedString(key)
}

func asJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// checkMakeToken runs the command behind `make token` against the running
// local stack: tokens for a user and the machine client that the APIs
// accept, the claims view, and each error as one line.
func checkMakeToken(t *testing.T, root string, s *stack.Stack) {
	bin := filepath.Join(t.TempDir(), "token")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "token")).CombinedOutput(); err != nil {
		t.Fatalf("build cmd/token: %v\n%s", err, out)
	}
	run := func(password string, args ...string) (stdout, stderr string, err error) {
		cmd := exec.Command(bin, append([]string{"-endpoints", s.EndpointsFile}, args...)...)
		cmd.Env = append(os.Environ(), "PASSWORD="+password)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err = cmd.Run()
		return strings.TrimSpace(o.String()), strings.TrimSpace(e.String()), err
	}
	get := func(url, token string) int {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	id, stderr, err := run("", "-user", "adminuser")
	if err != nil || claimOf(id, "cognito:username") != "adminuser" || claimOf(id, "token_use") != "id" {
		t.Fatalf("USER=adminuser: %v %s\n%s", err, stderr, id)
	}
	if code := get(s.Endpoints.HTTPAPIURL+"/AdminUser", id); code != 200 {
		t.Errorf("adminuser's token from make token: /AdminUser %d", code)
	}
	claims, stderr, err := run("", "-user", "regularuser", "-format", "claims")
	if err != nil || !strings.Contains(claims, `"cognito:username": "regularuser"`) || !strings.Contains(stderr, "NOT verified") {
		t.Errorf("FORMAT=claims: %v\nstdout %s\nstderr %s", err, claims, stderr)
	}
	machine, stderr, err := run("", "-client", "machine", "-scope", "petstore/pets.read")
	if err != nil || claimOf(machine, "scope") != "petstore/pets.read" || claimOf(machine, "client_id") != s.Endpoints.MachineClient.ClientID {
		t.Fatalf("CLIENT=machine: %v %s\n%s", err, stderr, machine)
	}
	if code := get(s.Endpoints.RESTAPIURL+"/pets", machine); code != 200 {
		t.Errorf("machine token from make token: GET /pets %d", code)
	}
	for _, tt := range []struct {
		name, password string
		args           []string
		want           string
	}{
		{"unknown user", "", []string{"-user", "ghost"}, "unknown user"},
		{"wrong password", "Wrong-password-1!", []string{"-user", "regularuser"}, "wrong password"},
		{"unknown user with a password", "Some-password-1!", []string{"-user", "ghost"}, "or unknown user \"ghost\": check USER and PASSWORD; the local run has adminuser, regularuser"},
		{"scope not allowed", "", []string{"-client", "machine", "-scope", "petstore/pets.admin"}, "scope not allowed"},
	} {
		out, stderr, err := run(tt.password, tt.args...)
		if err == nil || out != "" || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") > 0 {
			t.Errorf("%s: err %v, stdout %q, stderr %q: want one line with %q", tt.name, err, out, stderr, tt.want)
		}
	}
}
