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

// Flags are the build flags every Lambda gets: no RPC shim (custom runtime),
// paths stripped and VCS stamping off so identical code gives identical bytes,
// symbols stripped for a smaller cold-start download.
var Flags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w"}

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
	out := filepath.Join(o.OutDir, "bootstrap")
	args := append([]string{"build"}, Flags...)
	args = append(args, "-o", out, o.Package)
	cmd := exec.Command("go", args...)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: go %s (GOOS=%s GOARCH=%s): %v\n%s", ErrBuild, strings.Join(args, " "), goos, goarch, err, stderr.String())
	}
	return out, nil
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
