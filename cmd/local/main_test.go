package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
)

// TestCtrlCStopsEverything runs the real command on free ports, waits for
// .local/endpoints.json, sends SIGINT to its process group as Ctrl-C does,
// and checks that it and every process it started are gone within 10 s.
func TestCtrlCStopsEverything(t *testing.T) {
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "cdk.out", "manifest.json")); err != nil {
		t.Fatalf("no synthesized template: run make synth first (make test does): %v", err)
	}
	// A state dir of its own: a make local running here does not stop the test.
	state := filepath.Join(t.TempDir(), "state")
	endpoints := filepath.Join(state, "endpoints.json")
	// State as an older version left it: world-readable dir, lock and log.
	os.MkdirAll(filepath.Join(state, "logs"), 0o755)
	os.WriteFile(filepath.Join(state, "lock"), nil, 0o644)
	os.WriteFile(filepath.Join(state, "logs", "dynalite.log"), nil, 0o644)
	cmd := exec.Command(bin, "-http-port", "0", "-rest-port", "0", "-cognito-port", "0", "-dynamodb-port", "0", "-lambda-port", "0", "-token-port", "0",
		"-state-dir", state, "-synth", "never")
	cmd.Dir = root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var e struct {
		HTTPAPIURL string `json:"httpApiUrl"`
	}
	// A first run builds six Lambdas with a cold Go cache: minutes on 2 cores.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		raw, err := os.ReadFile(endpoints)
		if err == nil && json.Unmarshal(raw, &e) == nil && e.HTTPAPIURL != "" {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("exited early: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no endpoints.json after 5 min\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for p, want := range map[string]os.FileMode{state: 0o700, endpoints: 0o600, filepath.Join(state, "logs"): 0o700,
		filepath.Join(state, "lock"): 0o600, filepath.Join(state, "logs", "dynalite.log"): 0o600} {
		info, err := os.Stat(p)
		if err != nil {
			t.Error(err)
		} else if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, info.Mode().Perm(), want)
		}
	}
	children := descendants(cmd.Process.Pid)
	if len(children) < 5 {
		t.Fatalf("only %d child processes: %v", len(children), children)
	}

	start := time.Now()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGINT\n%s", out.String())
	}
	for _, pid := range children {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d outlived the run", pid)
		}
	}
	if _, err := os.Stat(endpoints); !os.IsNotExist(err) {
		t.Errorf("endpoints.json left behind")
	}
	if !strings.Contains(out.String(), "Walk-through") || !strings.Contains(out.String(), "stopped") {
		t.Errorf("output lacks the walk-through or the stop message:\n%s", out.String())
	}
	t.Logf("stopped %d processes in %s", len(children), time.Since(start).Round(time.Millisecond))
}

// descendants lists the pids whose parent chain leads to pid, from /proc.
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		pp, _ := strconv.Atoi(fields[1])
		parent[p] = pp
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// lockedBuffer collects the child's output; the test reads it while the
// exec package's copy goroutines write it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
