package cognito

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// cognitoLocalEvent is what cognito-local sends: version "0", no groups.
const cognitoLocalEvent = `{"version":"0","callerContext":{"awsSdkVersion":"2","clientId":"c1"},"region":"local",
"userPoolId":"local_1","triggerSource":"TokenGeneration_Authentication","userName":"adminuser",
"request":{"userAttributes":{"sub":"s"},"groupConfiguration":{}},"response":{}}`

func TestBridge(t *testing.T) {
	groups := func(_ context.Context, user string) ([]string, error) {
		if user != "adminuser" {
			t.Fatalf("looked up %q", user)
		}
		return []string{"admin", "regular"}, nil
	}
	tests := []struct {
		version  string
		answer   string // what the trigger answers
		wantSent string // must appear in the event the trigger gets
		wantBack string // must appear in what cognito-local gets back
	}{
		{"2", `{"response":{"claimsAndScopeOverrideDetails":{"idTokenGeneration":{"claimsToAddOrOverride":{"scope":"admin-c1 regular-c1"}},"accessTokenGeneration":{"scopesToAdd":["admin-c1","regular-c1"]}}}}`,
			`"version":"2"`, `"claimsOverrideDetails":{"claimsToAddOrOverride":{"scope":"admin-c1 regular-c1"},"claimsToSuppress":null}`},
		{"1", `{"response":{"claimsOverrideDetails":{"claimsToAddOrOverride":{"scope":"admin-c1"}}}}`,
			`"version":"1"`, `"claimsToAddOrOverride":{"scope":"admin-c1"}`},
	}
	for _, tt := range tests {
		t.Run("V"+tt.version, func(t *testing.T) {
			var sent string
			out, err := Bridge(tt.version, groups)(context.Background(), []byte(cognitoLocalEvent), func(_ context.Context, ev []byte) ([]byte, error) {
				sent = string(ev)
				return []byte(tt.answer), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(sent, tt.wantSent) || !strings.Contains(sent, `"groupsToOverride":["admin","regular"]`) {
				t.Fatalf("trigger got %s", sent)
			}
			if !strings.Contains(string(out), tt.wantBack) {
				t.Fatalf("cognito-local gets %s", out)
			}
			var m map[string]any
			if json.Unmarshal(out, &m) != nil || m["response"] == nil {
				t.Fatalf("not an event: %s", out)
			}
		})
	}
}

func TestPasswordMeetsThePolicy(t *testing.T) {
	for range 50 {
		p := Password()
		if len(p) < 12 || !strings.ContainsAny(p, "abcdefghijkmnopqrstuvwxyz") || !strings.ContainsAny(p, "ABCDEFGHJKLMNPQRSTUVWXYZ") ||
			!strings.ContainsAny(p, "23456789") || !strings.ContainsAny(p, "!#%+-=?") {
			t.Fatalf("password %q misses a character class", p)
		}
	}
}

// TestDatabaseIsPrivate runs the real cognito-local, makes it write a user
// (password hash) and a refresh token, and checks that nothing it wrote is
// readable by another user of the machine.
func TestDatabaseIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cognito")
	l := startWithPool(t, dir, "modes")
	auth := login(t, l, "modeuser")
	if aws.ToString(auth.RefreshToken) == "" {
		t.Fatal("login: no refresh token")
	}

	dbFiles, refreshOnDisk := 0, false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700 | fs.ModeDir
		}
		if info.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, info.Mode(), want)
		}
		if !d.IsDir() && filepath.Base(filepath.Dir(p)) == "db" {
			dbFiles++
			b, _ := os.ReadFile(p)
			refreshOnDisk = refreshOnDisk || strings.Contains(string(b), *auth.RefreshToken)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The check is only worth something if the secrets really are in the files checked.
	if dbFiles < 2 || !refreshOnDisk {
		t.Fatalf("cognito-local's database not where expected: %d files in %s/.cognito/db, refresh token stored: %v", dbFiles, dir, refreshOnDisk)
	}
}
