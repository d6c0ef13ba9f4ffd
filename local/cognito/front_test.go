package cognito

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
)

// TestFrontRefusesBrowsers: cognito-local's admin API has no authentication
// and answers every origin, so the front turns away what a web page in the
// developer's browser can send - a CORS preflight, a POST with an Origin, a
// request through DNS rebinding (a foreign Host) - and strips cognito-local's
// CORS headers, while the SDK, the CLI and the discovery and key GETs of the
// local stack keep working.
func TestFrontRefusesBrowsers(t *testing.T) {
	ctx := context.Background()
	l := startWithPool(t, t.TempDir(), "front")
	poolID := l.PoolID
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(l.Endpoint, "http://"))
	createUser := `{"UserPoolId":"` + poolID + `","Username":"mallory","TemporaryPassword":"Aa1!aaaaaaaa"}`
	const evil = "https://evil.example"

	tests := []struct {
		name, method, path, host, origin, target, body string
		want                                           int
	}{
		{name: "CORS preflight of the admin API", method: "OPTIONS", path: "/", origin: evil, want: 403},
		{name: "admin call from a web page", method: "POST", path: "/", origin: evil, target: "AdminCreateUser", body: createUser, want: 403},
		{name: "admin call with an empty Origin", method: "POST", path: "/", origin: "null", target: "AdminCreateUser", body: createUser, want: 403},
		{name: "admin call through DNS rebinding", method: "POST", path: "/", host: "evil.example:" + port, target: "AdminCreateUser", body: createUser, want: 403},
		{name: "keys through DNS rebinding", method: "GET", path: "/" + poolID + "/.well-known/jwks.json", host: "evil.example:" + port, want: 403},
		{name: "a call from this machine", method: "POST", path: "/", target: "ListUserPools", body: `{"MaxResults":10}`, want: 200},
		{name: "a call to localhost", method: "POST", path: "/", host: "localhost:" + port, target: "ListUserPools", body: `{"MaxResults":10}`, want: 200},
		{name: "keys", method: "GET", path: "/" + poolID + "/.well-known/jwks.json", want: 200},
		{name: "keys read by a page: no CORS headers", method: "GET", path: "/" + poolID + "/.well-known/jwks.json", origin: evil, want: 200},
		{name: "discovery", method: "GET", path: "/" + poolID + "/.well-known/openid-configuration", want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, l.Endpoint+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.method == "OPTIONS" {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "content-type,x-amz-target")
			}
			if tt.target != "" {
				req.Header.Set("Content-Type", "application/x-amz-json-1.1")
				req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService."+tt.target)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %s: %s, want %d: %s", tt.method, tt.path, resp.Status, tt.want, b)
			}
			for k := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("the answer carries %s: %q", k, resp.Header.Get(k))
				}
			}
		})
	}
	// None of the refused admin calls reached cognito-local.
	_, err := l.API.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &poolID, Username: aws.String("mallory")})
	var nf *types.UserNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("AdminGetUser mallory: %v, want UserNotFoundException: a refused call created the user", err)
	}
}

// TestCognitoLocalHasNoTCPPort: behind the front, cognito-local listens on a
// unix socket in a folder only this user may open, not on a port of
// 127.0.0.1 that a web page could find and call past the front.
func TestCognitoLocalHasNoTCPPort(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("needs Linux /proc to list listening sockets")
	}
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Start(context.Background(), Options{ModuleRoot: root, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop(3 * time.Second)
	// The process's sockets, by inode.
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", l.PID()))
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", l.PID(), fd.Name())); err == nil && strings.HasPrefix(link, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	if len(mine) == 0 {
		t.Fatal("cognito-local has no socket open: the test cannot tell")
	}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st ... inode (field 9); st 0A is LISTEN.
			if len(f) > 9 && f[3] == "0A" && mine[f[9]] {
				t.Errorf("cognito-local listens on TCP %s (%s)", f[1], table)
			}
		}
	}
	// And the front still reaches it.
	if _, err := l.API.ListUserPools(context.Background(), &cip.ListUserPoolsInput{MaxResults: aws.Int32(1)}); err != nil {
		t.Fatalf("through the front: %v", err)
	}
}
