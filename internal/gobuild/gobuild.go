// Package gobuild compiles a Lambda main package into a custom-runtime
// `bootstrap` executable. It is the one place that knows the build flags, so
// the CDK bundler and the local run build the very same way.
package gobuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// MetadataGoPackage is the template metadata key naming a function's Go main
// package: the stack writes it, the local run builds from it.
const MetadataGoPackage = "GoPackage"

// ErrBuild is returned when `go build` fails; the wrapped message holds its output.
var ErrBuild = errors.New("go build failed")

// Options say what to build and for which platform.
type Options struct {
	// Dir is the module root the package path is relative to. Default: the current directory.
	Dir string
	// Package is the main package, e.g. "./lambdas/authorizer".
	Package string
	// OutDir receives the `bootstrap` file.
	OutDir string
	// GOOS. Default: linux.
	GOOS string
	// GOARCH. Default: arm64, the architecture the stack deploys.
	GOARCH string
}

// Flags are the build flags every Lambda gets: no RPC shim (custom runtime);
// for identical bytes from identical code wherever it is built, file paths
// stripped (-trimpath), no VCS stamp and an empty build id; symbols stripped
// for a smaller cold-start download.
var Flags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid="}

// Env is the build environment besides GOOS and GOARCH: no cgo, the module
// graph as go.sum has it, no experiments, no FIPS-140 mode, the baseline
// instruction set, and the Go release of the module's toolchain line (see
// Toolchain), so the machine's own Go version or settings do not change the
// bytes. GOWORK=off: a go.work in a parent folder must not replace the
// module's dependencies with other code. GOENV=off: a value saved with
// `go env -w` (GOEXPERIMENT, say) wins over an empty environment variable, so
// the settings file is not read at all; module download settings (GOPROXY,
// GOPRIVATE...) then come from the environment only.
func Env(toolchain, goarch string) []string {
	env := []string{
		"CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOEXPERIMENT=", "GOTOOLCHAIN=" + toolchain,
		"GOWORK=off", "GOENV=off", "GOFIPS140=off",
	}
	switch goarch {
	case "arm64":
		env = append(env, "GOARM64=v8.0")
	case "amd64":
		env = append(env, "GOAMD64=v1")
	}
	return env
}

// Toolchain is the Go release the module's Lambdas are built with: go.mod's
// toolchain line, else its go line when that names a release (go 1.26.0).
// GOTOOLCHAIN set to it makes the go command use exactly that release,
// fetching it through the module proxy if the installed one differs.
// go.mod is read by the go command's own parser (comments, tabs, CRLF), and
// one it cannot read is an error, never a silent fallback to the go line.
func Toolchain(moduleRoot string) (string, error) {
	path := filepath.Join(moduleRoot, "go.mod")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	f, err := modfile.Parse(path, b, nil)
	if err != nil {
		return "", fmt.Errorf("reading the toolchain of %s: %w", path, err)
	}
	if f.Toolchain != nil {
		if f.Toolchain.Name == "default" {
			return "", fmt.Errorf("%s: `toolchain default` names no Go release: write e.g. `toolchain go1.26.8` so every machine builds the Lambdas with the same Go", path)
		}
		return f.Toolchain.Name, nil
	}
	var goLine string
	if f.Go != nil {
		goLine = f.Go.Version
	}
	if strings.Count(goLine, ".") == 2 {
		return "go" + goLine, nil
	}
	return "", fmt.Errorf("%s has no toolchain line and its go line %q names no release: add e.g. `toolchain go1.26.8` so every machine builds the Lambdas with the same Go", path, goLine)
}

// Build runs `go build` and returns the path of the bootstrap it wrote.
func Build(o Options) (string, error) {
	if o.Package == "" || o.OutDir == "" {
		return "", fmt.Errorf("%w: Package and OutDir are required", ErrBuild)
	}
	goos, goarch := o.GOOS, o.GOARCH
	if goos == "" {
		goos = "linux"
	}
	if goarch == "" {
		goarch = "arm64"
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBuild, err)
	}
	root, err := ModuleRoot(dirOrCwd(o.Dir))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBuild, err)
	}
	toolchain, err := Toolchain(root)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBuild, err)
	}
	out := filepath.Join(o.OutDir, "bootstrap")
	args := append([]string{"build"}, Flags...)
	args = append(args, "-o", out, o.Package)
	cmd := exec.Command("go", args...)
	cmd.Dir = o.Dir
	cmd.Env = append(append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch), Env(toolchain, goarch)...)
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: go %s (GOOS=%s GOARCH=%s): %v\n%s", ErrBuild, strings.Join(args, " "), goos, goarch, err, stderr.String())
	}
	return out, nil
}

func dirOrCwd(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// FileHash returns the hex SHA-256 of a file's bytes.
func FileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ModuleRoot walks up from dir to the directory holding go.mod.
func ModuleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod found above %s", dir)
		}
		d = parent
	}
}
