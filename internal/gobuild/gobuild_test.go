package gobuild

import (
	"bytes"
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
