package gobuild

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoToolchain is this module's pinned Go release.
func repoToolchain(t *testing.T) string {
	t.Helper()
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := Toolchain(root)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// writeModule makes a tiny module: a main package using a shared package.
func writeModule(t *testing.T, dir, greeting, comment string) {
	t.Helper()
	files := map[string]string{
		"go.mod":           "module example.com/m\n\ngo 1.22\n\ntoolchain " + repoToolchain(t) + "\n",
		"shared/shared.go": "package shared\n\n// " + comment + "\nfunc Greeting() string { return \"" + greeting + "\" }\n",
		"fn/main.go":       "package main\n\nimport (\"fmt\"; \"example.com/m/shared\")\n\nfunc main() { fmt.Println(shared.Greeting()) }\n",
		"README.md":        "# " + comment + "\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func buildHash(t *testing.T, dir string) string {
	t.Helper()
	out, err := Build(Options{Dir: dir, Package: "./fn", OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := FileHash(out)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHashFollowsBuiltCode is the rule the asset hashes rely on: the same
// code gives the same bytes wherever it is built; a comment or README edit
// changes nothing; a change in a shared package changes the binary.
func TestHashFollowsBuiltCode(t *testing.T) {
	a, b, c, d := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	writeModule(t, a, "hello", "v1")
	writeModule(t, b, "hello", "v1")
	writeModule(t, c, "hello", "a different comment and README")
	writeModule(t, d, "hello, world", "v1")
	ha, hb, hc, hd := buildHash(t, a), buildHash(t, b), buildHash(t, c), buildHash(t, d)
	if ha != hb {
		t.Fatalf("same code in two directories built differently: %s vs %s", ha, hb)
	}
	if ha != hc {
		t.Fatalf("a comment and README edit changed the binary")
	}
	if ha == hd {
		t.Fatalf("a change in a shared package did not change the binary")
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir, "x", "y")
	os.WriteFile(filepath.Join(dir, "fn", "main.go"), []byte("package main\nfunc main() { undefined() }\n"), 0o644)
	if _, err := Build(Options{Dir: dir, Package: "./fn", OutDir: t.TempDir()}); err == nil {
		t.Fatal("compile error not reported")
	}
	if _, err := Build(Options{Dir: dir}); err == nil {
		t.Fatal("missing package accepted")
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	if _, err := ModuleRoot("/"); err == nil {
		t.Fatal("found a module above /")
	}
}

// TestLambdasDoNotImportCDK keeps the CDK (and its 100+ MB) out of every
// Lambda binary: the design's rule, checked on the dependency graph.
func TestLambdasDoNotImportCDK(t *testing.T) {
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "./lambdas/...")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/aws/aws-cdk-go") || strings.HasPrefix(dep, "github.com/aws/jsii-runtime-go") || strings.HasPrefix(dep, "github.com/aws/constructs-go") {
			t.Errorf("a Lambda depends on %s", dep)
		}
	}
}

// copyTree copies the module's Go sources (go.mod, go.sum, every .go file
// and testdata) to dst, leaving out .git, node_modules and build output:
// what a fresh clone holds of them.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "cdk.out", ".build", ".local":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") && rel != "go.mod" && rel != "go.sum" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTwoCopiesOfTheRepoBuildTheSameBootstrap: a Lambda of this repository
// built from two copies in unrelated folders (different depths, different
// names) is byte-identical, and neither folder, the module cache nor GOROOT
// appears in it. That is what keeps the asset hash (AssetHashType OUTPUT) the
// same from a laptop and from CI.
func TestTwoCopiesOfTheRepoBuildTheSameBootstrap(t *testing.T) {
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(t.TempDir(), "clone-a")
	b := filepath.Join(t.TempDir(), "ci", "workspace", "some-longer-checkout-name")
	copyTree(t, root, a)
	copyTree(t, root, b)
	var bins [][]byte
	for _, dir := range []string{a, b} {
		out, err := Build(Options{Dir: dir, Package: "./lambdas/claims", OutDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		bin, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		bins = append(bins, bin)
	}
	if !bytes.Equal(bins[0], bins[1]) {
		t.Fatalf("the same source in %s and %s built different bootstraps (%d and %d bytes)", a, b, len(bins[0]), len(bins[1]))
	}
	goenv := func(k string) string {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	for _, p := range []string{a, b, root, goenv("GOMODCACHE"), goenv("GOROOT")} {
		if bytes.Contains(bins[0], []byte(p)) {
			t.Errorf("the bootstrap contains the path %s", p)
		}
	}
	if bytes.Contains(bins[0], []byte("vcs.revision")) {
		t.Error("the bootstrap carries a VCS stamp")
	}
}

// TestToolchain reads go.mod as the go command does: a comment, tabs or CRLF
// do not hide the toolchain line, and a go.mod the go command would refuse
// is an error, never a silent fallback to the go line.
func TestToolchain(t *testing.T) {
	tests := []struct {
		name, gomod, want, wantErr string
	}{
		{"plain", "module m\n\ngo 1.26.0\n\ntoolchain go1.26.8\n", "go1.26.8", ""},
		{"comment after the toolchain", "module m\n\ngo 1.26.0\n\ntoolchain go1.26.8 // pinned for the Lambdas\n", "go1.26.8", ""},
		{"tab and CRLF", "module m\r\n\r\ngo 1.26.0\r\ntoolchain\tgo1.26.8\r\n", "go1.26.8", ""},
		{"go line names a release", "module m\n\ngo 1.26.3\n", "go1.26.3", ""},
		{"go line names no release", "module m\n\ngo 1.26\n", "", "names no release"},
		{"toolchain default", "module m\n\ngo 1.26.0\n\ntoolchain default\n", "", "toolchain default"},
		{"unreadable toolchain", "module m\n\ngo 1.26.0\n\ntoolchain go1.26.8 extra\n", "", "toolchain directive expects exactly one argument"},
		{"not a toolchain name", "module m\n\ngo 1.26.0\n\ntoolchain 1.26.8\n", "", "invalid toolchain version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(tt.gomod), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := Toolchain(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Toolchain = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Toolchain = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestEnvPinsTheGoCommand: what `go env` reports inside the build
// environment, on a machine set up to change the bytes: an experiment saved
// with `go env -w`, GOFIPS140 in the environment and a go.work above the
// module.
func TestEnvPinsTheGoCommand(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "ws", "mod")
	writeModule(t, dir, "hello", "v1")
	if err := os.WriteFile(filepath.Join(base, "ws", "go.work"), []byte("go 1.22\n\nuse ./mod\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(base, "goenv")
	if err := os.WriteFile(envFile, []byte("GOEXPERIMENT=nogreenteagc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostile := append(os.Environ(), "GOENV="+envFile, "GOFIPS140=latest")
	goenv := func(t *testing.T, env []string) map[string]string {
		t.Helper()
		cmd := exec.Command("go", "env", "-json", "GOWORK", "GOEXPERIMENT", "GOFIPS140", "CGO_ENABLED", "GOFLAGS")
		cmd.Dir = dir
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go env: %v", err)
		}
		var m map[string]string
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("go env -json: %v\n%s", err, out)
		}
		return m
	}
	// The hostile machine really is hostile: without Env each setting leaks.
	leaked := goenv(t, append(hostile, "GOEXPERIMENT="))
	if leaked["GOWORK"] == "" || leaked["GOWORK"] == "off" || leaked["GOEXPERIMENT"] != "nogreenteagc" || leaked["GOFIPS140"] != "latest" {
		t.Fatalf("test setup: the settings did not take effect without Env: %v", leaked)
	}
	got := goenv(t, append(hostile, Env(repoToolchain(t), "arm64")...))
	want := map[string]string{"GOWORK": "off", "GOEXPERIMENT": "", "GOFIPS140": "off", "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("inside the build environment go env %s = %q, want %q", k, got[k], v)
		}
	}
}

// TestParentGoWorkHasNoEffect: a go.work in a folder above the module that
// replaces a dependency with other code does not change the bootstrap.
func TestParentGoWorkHasNoEffect(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "ws", "mod")
	files := map[string]string{
		filepath.Join(dir, "go.mod"):               "module example.com/app\n\ngo 1.22\n\ntoolchain " + repoToolchain(t) + "\n\nrequire example.com/dep v0.0.0\n\nreplace example.com/dep => ./dep\n",
		filepath.Join(dir, "fn", "main.go"):        "package main\n\nimport \"example.com/dep\"\n\nfunc main() { println(dep.Msg) }\n",
		filepath.Join(dir, "dep", "go.mod"):        "module example.com/dep\n\ngo 1.22\n",
		filepath.Join(dir, "dep", "dep.go"):        "package dep\n\nconst Msg = \"pinned-dependency\"\n",
		filepath.Join(base, "other", "go.mod"):     "module example.com/dep\n\ngo 1.22\n",
		filepath.Join(base, "other", "dep.go"):     "package dep\n\nconst Msg = \"replaced-by-go-work\"\n",
		filepath.Join(base, "ws", "go.work.later"): "go 1.22\n\nuse ./mod\n\nreplace example.com/dep => ../other\n",
	}
	for p, body := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ref := buildHash(t, dir)
	if err := os.Rename(filepath.Join(base, "ws", "go.work.later"), filepath.Join(base, "ws", "go.work")); err != nil {
		t.Fatal(err)
	}
	out, err := Build(Options{Dir: dir, Package: "./fn", OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bin, []byte("replaced-by-go-work")) {
		t.Fatal("a go.work above the module replaced a dependency of the Lambda")
	}
	if h, _ := FileHash(out); h != ref {
		t.Fatalf("a go.work above the module changed the bootstrap: %s, want %s", h, ref)
	}
}
