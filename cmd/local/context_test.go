package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
)

func TestParseContext(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{"corsOrigins=https://app.example.com", []string{"corsOrigins=https://app.example.com"}, ""},
		{"restAuthorizer=jwt corsOrigins=https://a.example,https://b.example", []string{"corsOrigins=https://a.example,https://b.example", "restAuthorizer=jwt"}, ""},
		{"a=1 a=1", []string{"a=1"}, ""},
		{"emptyValue=", []string{"emptyValue="}, ""},
		{"a=1 a=2", nil, "a is given twice"},
		{"corsOrigins", nil, `"corsOrigins" is not key=value`},
		{"=x", nil, `"=x" is not key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseContext(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("parseContext(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if args := contextArgs(got); len(args) != 2*len(got) || (len(got) > 0 && (args[0] != "-c" || args[1] != got[0])) {
				t.Fatalf("contextArgs %q", args)
			}
		})
	}
}

// TestStaleReasonContext: make local synthesizes again exactly when the
// CONTEXT asked for is not the one cdk.out was made with (recorded in
// cdk.out/.context by make synth and by cmd/local), or when no record exists.
func TestStaleReasonContext(t *testing.T) {
	cors := []string{"corsOrigins=https://app.example.com"}
	tests := []struct {
		name     string
		recorded []string // nil with noRecord: no .context file
		noRecord bool
		want     []string
		reason   string // in the reason; "" fresh
	}{
		{"same empty context", nil, false, nil, ""},
		{"same context", cors, false, cors, ""},
		{"context added", nil, false, cors, "CONTEXT (corsOrigins=https://app.example.com) differs from the one cdk.out was made with (none)"},
		{"context removed", cors, false, nil, "CONTEXT (none) differs"},
		{"value changed", cors, false, []string{"corsOrigins=https://other.example.com"}, "made with (corsOrigins=https://app.example.com)"},
		{"key added", cors, false, append([]string{"restAuthorizer=jwt"}, cors...), "differs"},
		{"no record", nil, true, nil, ".context is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			cdkOut := filepath.Join(root, "cdk.out")
			os.MkdirAll(cdkOut, 0o755)
			os.WriteFile(filepath.Join(cdkOut, "manifest.json"), []byte("{}"), 0o644)
			if !tt.noRecord {
				if err := writeContext(cdkOut, tt.recorded); err != nil {
					t.Fatal(err)
				}
			}
			want, _ := parseContext(strings.Join(tt.want, " "))
			got, err := staleReason(root, cdkOut, want)
			if err != nil {
				t.Fatal(err)
			}
			if (tt.reason == "") != (got == "") || !strings.Contains(got, tt.reason) {
				t.Fatalf("reason %q, want %q", got, tt.reason)
			}
		})
	}
}

// TestContextRecordMatchesMakefile: the record `make synth CONTEXT=...`
// writes (its SAVE_CONTEXT line, run here as make prints it) reads back as
// the same CONTEXT given to make local, so make synth followed by make local
// with the same CONTEXT does not synthesize twice, and another CONTEXT does.
func TestContextRecordMatchesMakefile(t *testing.T) {
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, ctx := range []string{"", "restAuthorizer=jwt corsOrigins=https://app.example.com,https://admin.example.com"} {
		t.Run(ctx, func(t *testing.T) {
			out, err := exec.Command("make", "-n", "-C", root, "synth", "CONTEXT="+ctx).Output()
			if err != nil {
				t.Fatalf("make -n synth: %v", err)
			}
			var save string
			for _, line := range strings.Split(string(out), "\n") {
				if strings.Contains(line, "> cdk.out/"+contextFile) {
					save = line
				}
			}
			if save == "" {
				t.Fatalf("make synth does not record the context:\n%s", out)
			}
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "cdk.out"), 0o755)
			os.WriteFile(filepath.Join(dir, "cdk.out", "manifest.json"), []byte("{}"), 0o644)
			cmd := exec.Command("bash", "-o", "pipefail", "-c", save)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v %s", save, err, out)
			}
			same, _ := parseContext(ctx)
			if r, err := contextReason(filepath.Join(dir, "cdk.out"), same); r != "" || err != nil {
				t.Fatalf("same CONTEXT: reason %q, %v", r, err)
			}
			other, _ := parseContext(ctx + " corsOrigins2=x")
			if r, _ := contextReason(filepath.Join(dir, "cdk.out"), other); r == "" {
				t.Fatal("another CONTEXT is taken for the recorded one")
			}
		})
	}
}
