package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-api-go/apigw-jwt/local/stack"
)

// TestWalkthroughMachineCalls: the printed walk-through asks the token
// endpoint with -u id:secret for each scope, then calls both APIs, and its
// commands are valid bash.
func TestWalkthroughMachineCalls(t *testing.T) {
	e := stack.Endpoints{
		HTTPAPIURL: "http://127.0.0.1:8080", RESTAPIURL: "http://127.0.0.1:8081/prod", TokenEndpoint: "http://127.0.0.1:9230/oauth2/token",
		Users:         []stack.User{{Username: "adminuser", Password: "pw", Groups: []string{"admin"}}},
		MachineClient: &stack.MachineClient{ClientID: "mid", ClientSecret: "msecret", Scopes: []string{"petstore/pets.read", "petstore/pets.write"}},
	}
	var b strings.Builder
	if err := walkthrough.Execute(&b, e); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`curl -s -u 'mid:msecret' -d grant_type=client_credentials -d "scope=$1" http://127.0.0.1:9230/oauth2/token`,
		`READ=$(mtoken petstore/pets.read)`, `WRITE=$(mtoken petstore/pets.write)`,
		`-H "Authorization: Bearer $WRITE" -H 'Content-Type: application/json' -d '{"type":"bird","price":7.5}' http://127.0.0.1:8081/prod/pets`,
		`-H "Authorization: Bearer $READ"  http://127.0.0.1:8080/claims`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("walk-through lacks %s\n%s", want, out)
		}
	}
	_, commands, _ := strings.Cut(out, "into another terminal):\n")
	script := filepath.Join(t.TempDir(), "w.sh")
	os.WriteFile(script, []byte(commands), 0o600)
	if msg, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Errorf("walk-through is not valid bash: %v\n%s", err, msg)
	}
	// Without a machine client, the section is left out.
	e.MachineClient = nil
	b.Reset()
	if err := walkthrough.Execute(&b, e); err != nil || strings.Contains(b.String(), "mtoken") {
		t.Errorf("walk-through without a machine client: %v\n%s", err, b.String())
	}
}
