package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/secure-api-go/apigw-jwt/internal/procs"
	"github.com/secure-api-go/apigw-jwt/local/stack"
)

// portFlag ties a port to the flag that changes it, so that a busy port is
// reported with the fix.
type portFlag struct {
	flag, what string
	port       int
}

// checkPorts tries each fixed port on 127.0.0.1 and reports every busy one
// at once, with the LOCAL_FLAGS that moves it: the flags the user gave
// (args), with each busy port's value replaced. It runs before the synth and
// the builds, so a busy port costs seconds, not minutes.
func checkPorts(ports []portFlag, args []string) error {
	var busy []string
	moved := map[string]int{}
	var order []string
	for _, p := range ports {
		if p.port == 0 {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p.port))
		if err != nil {
			busy = append(busy, fmt.Sprintf("port %d (%s, -%s) is in use on 127.0.0.1", p.port, p.what, p.flag))
			moved[p.flag] = suggest(p.port)
			order = append(order, p.flag)
			continue
		}
		l.Close()
	}
	if len(busy) == 0 {
		return nil
	}
	return fmt.Errorf("%s\n  choose free ports: %s (0 picks any free port)", strings.Join(busy, "\n  "), suggestion(args, moved, order))
}

// suggestion is the make local command that moves the busy ports: the
// context the Makefile passes as -context goes back into CONTEXT, every other
// flag into LOCAL_FLAGS (fixFlags).
func suggestion(args []string, moved map[string]int, order []string) string {
	var rest []string
	context := ""
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || name != "context" {
			rest = append(rest, args[i])
			continue
		}
		if !hasValue && i+1 < len(args) {
			i++
			value = args[i]
		}
		context = value
	}
	cmd := "make local"
	if strings.TrimSpace(context) != "" {
		cmd += fmt.Sprintf(" CONTEXT=%q", context)
	}
	return cmd + fmt.Sprintf(" LOCAL_FLAGS=%q", fixFlags(rest, moved, order))
}

// fixFlags is args with the values of the flags in moved replaced (both
// "-flag value" and "-flag=value"), and the moved flags args lacks appended
// in order.
func fixFlags(args []string, moved map[string]int, order []string) string {
	var out []string
	done := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		port, ok := moved[name]
		if !ok || !strings.HasPrefix(a, "-") {
			out = append(out, a)
			continue
		}
		done[name] = true
		out = append(out, "-"+name, strconv.Itoa(port))
		if !hasValue && i+1 < len(args) {
			i++ // skip the old value
		}
	}
	for _, name := range order {
		if !done[name] {
			out = append(out, "-"+name, strconv.Itoa(moved[name]))
		}
	}
	return strings.Join(out, " ")
}

// suggest is a port to offer instead of a busy one: 10000 above it when that
// one is free, else 0 (any free port).
func suggest(port int) int {
	alt := port + 10000
	if alt > 65535 {
		return 0
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(alt))
	if err != nil {
		return 0
	}
	l.Close()
	return alt
}

// preflight is what can be checked in a second, before minutes of synth and
// builds: no other run holds the state dir, and the ports are free. A
// crashed run's endpoints.json is removed (its owner is gone).
func preflight(stateDir string, ports []portFlag, args []string, out io.Writer) error {
	stale, err := stack.CheckNotRunning(stateDir)
	if err != nil {
		return err
	}
	if stale {
		fmt.Fprintf(out, "removed %s left by a run that did not stop cleanly\n", filepath.Join(stateDir, "endpoints.json"))
	}
	return checkPorts(ports, args)
}

// synthInputs are the files outside *.go that change the synthesized template.
var synthInputs = []string{"go.mod", "go.sum", "cdk.json", "cdk.context.json", "package.json", "package-lock.json"}

// skipDirs never hold synth inputs.
var skipDirs = map[string]bool{"node_modules": true, "cdk.out": true, "testdata": true}

// staleReason says why cdk.out must be synthesized again: it is missing, it
// was made with another context than pairs (the CONTEXT of this run), or an
// input (a non-test Go file or one of synthInputs) is newer than its
// manifest. "" means cdk.out is newer than every input and the synth can be skipped.
func staleReason(root, cdkOut string, pairs []string) (string, error) {
	manifest, err := os.Stat(filepath.Join(cdkOut, "manifest.json"))
	if err != nil {
		return filepath.Join(filepath.Base(cdkOut), "manifest.json") + " does not exist yet", nil
	}
	if r, err := contextReason(cdkOut, pairs); r != "" || err != nil {
		return r, err
	}
	built := manifest.ModTime()
	newer := func(p string, info fs.FileInfo) string {
		if info.ModTime().After(built) {
			rel, _ := filepath.Rel(root, p)
			return rel + " changed after the last synth"
		}
		return ""
	}
	for _, name := range synthInputs {
		p := filepath.Join(root, name)
		if info, err := os.Stat(p); err == nil {
			if r := newer(p, info); r != "" {
				return r, nil
			}
		}
	}
	var reason string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || skipDirs[d.Name()] || p == cdkOut) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if reason = newer(p, info); reason != "" {
			return filepath.SkipAll
		}
		return nil
	})
	return reason, err
}

// synth runs the pinned cdk CLI (node_modules/.bin/cdk, as make synth does)
// to write cdk.out with the context pairs (-c each), with its output passed
// through, and records the pairs in cdk.out (contextFile).
func synth(ctx context.Context, root, cdkOut string, pairs []string, out io.Writer) error {
	bin, err := procs.NodeBin(root, "cdk")
	if err != nil {
		return err
	}
	// A failed synth leaves no record, so the next run synthesizes again.
	if err := os.Remove(filepath.Join(cdkOut, contextFile)); err != nil && !os.IsNotExist(err) {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"synth", "--quiet", "--output", cdkOut}, contextArgs(pairs)...)...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = os.Environ()
	// The Makefile sets these; a direct run of the command gets them too.
	for _, kv := range []string{"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1", "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1"} {
		if k, _, _ := strings.Cut(kv, "="); os.Getenv(k) == "" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cdk synth: %w (run make synth%s to see it alone)", err, contextHint(pairs))
	}
	if err := writeContext(cdkOut, pairs); err != nil {
		return err
	}
	fmt.Fprintf(out, "      synthesized in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// contextHint is ` CONTEXT="..."` for the pairs, or "" without any, so a
// suggested make command synthesizes with the same context.
func contextHint(pairs []string) string {
	if len(pairs) == 0 {
		return ""
	}
	return fmt.Sprintf(" CONTEXT=%q", strings.Join(pairs, " "))
}
