package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty", "")
	config := write("config", "[default]\nregion = eu-west-1\n\n[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\nregion = us-east-2\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n[profile noregion]\ncredential_process = /bin/true\n")
	credentials := write("credentials", "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n")
	tests := []struct {
		name string
		env  map[string]string
		want string // in the error; "" passes
	}{
		{"nothing at all", nil, "credentials or region: set AWS_PROFILE"},
		{"environment keys and region", map[string]string{"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-1"}, ""},
		{"keys without a region", map[string]string{"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"}, "region: set AWS_REGION"},
		{"region without credentials", map[string]string{"AWS_DEFAULT_REGION": "eu-west-1"}, "credentials for profile default"},
		{"default profile in the files", map[string]string{"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials}, ""},
		{"SSO profile", map[string]string{"AWS_PROFILE": "sso", "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": empty}, ""},
		{"profile without a region", map[string]string{"AWS_PROFILE": "noregion", "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": empty}, "region in profile noregion"},
		{"profile with AWS_REGION", map[string]string{"AWS_PROFILE": "noregion", "AWS_REGION": "eu-west-1", "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": empty}, ""},
		{"unknown profile", map[string]string{"AWS_PROFILE": "typo", "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials}, "AWS_PROFILE=typo is not in"},
		{"container role", map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x", "AWS_REGION": "eu-west-1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty}
			for k, v := range tt.env {
				env[k] = v
			}
			err := check(context.Background(), func(k string) string { return env[k] })
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrNoAWS) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
