package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secure-api-go/apigw-jwt/local/stack"
)

func TestCheckPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	free := func() int {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}()
	tests := []struct {
		name  string
		ports []portFlag
		want  []string // all in the message; none: no error
	}{
		{"all free or any", []portFlag{{"http-port", "HTTP API", free}, {"rest-port", "REST API", 0}}, nil},
		{"busy names the flag", []portFlag{{"http-port", "HTTP API", free}, {"rest-port", "REST API", busy}},
			[]string{"port " + strconv.Itoa(busy) + " (REST API, -rest-port) is in use on 127.0.0.1", `make local LOCAL_FLAGS="-rest-port `}},
		{"every busy port at once", []portFlag{{"http-port", "HTTP API", busy}, {"lambda-port", "Lambda Invoke API", busy}},
			[]string{"-http-port) is in use", "-lambda-port) is in use", `LOCAL_FLAGS="-http-port `, " -lambda-port "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPorts(tt.ports, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("busy port not reported")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q:\n%s", w, err)
				}
			}
		})
	}
}

// TestPreflightLock: a live run (holding the lock) is named by its pid and
// its endpoints.json is left alone; once the lock is free, the endpoints.json
// of the crashed run is removed.
func TestPreflightLock(t *testing.T) {
	dir := t.TempDir()
	endpoints := filepath.Join(dir, "endpoints.json")
	os.WriteFile(endpoints, []byte(`{"httpApiUrl":"http://127.0.0.1:1"}`), 0o600)
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	lock.WriteString("424242\n")
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = preflight(dir, nil, nil, &out)
	if !errors.Is(err, stack.ErrAlreadyRunning) || !strings.Contains(err.Error(), "pid 424242") {
		t.Fatalf("lock held: %v", err)
	}
	if _, err := os.Stat(endpoints); err != nil {
		t.Fatalf("a live run's endpoints.json was touched: %v", err)
	}

	syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) // the run crashed
	if err := preflight(dir, nil, nil, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(endpoints); !os.IsNotExist(err) {
		t.Fatalf("stale endpoints.json kept: %v", err)
	}
	if !strings.Contains(out.String(), "removed "+endpoints) {
		t.Errorf("cleanup not reported: %q", out.String())
	}
	// No lock file at all (first run): nothing to do.
	if err := preflight(t.TempDir(), nil, nil, &out); err != nil {
		t.Fatal(err)
	}
}

func TestStaleReason(t *testing.T) {
	old, synthAt, later := time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour), time.Now()
	files := []string{"go.mod", "go.sum", "cdk.json", "package.json", "infra/app/main.go", "infra/stack.go",
		"infra/stack_test.go", "node_modules/x/y.go", ".local/bin/z.go", "lambdas/x/testdata/a.go"}
	tests := []struct {
		touched string // made newer than cdk.out ("" none)
		want    string // in the reason; "" fresh
	}{
		{"", ""},
		{"infra/stack.go", "infra/stack.go changed"},
		{"infra/app/main.go", "infra/app/main.go changed"},
		{"go.sum", "go.sum changed"},
		{"cdk.json", "cdk.json changed"},
		{"package.json", "package.json changed"},
		{"infra/stack_test.go", ""},
		{"node_modules/x/y.go", ""},
		{".local/bin/z.go", ""},
		{"lambdas/x/testdata/a.go", ""},
	}
	for _, tt := range tests {
		t.Run("touched "+tt.touched, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range files {
				p := filepath.Join(root, f)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, nil, 0o644)
				os.Chtimes(p, old, old)
			}
			cdkOut := filepath.Join(root, "cdk.out")
			os.MkdirAll(cdkOut, 0o755)
			manifest := filepath.Join(cdkOut, "manifest.json")
			os.WriteFile(manifest, []byte("{}"), 0o644)
			os.Chtimes(manifest, synthAt, synthAt)
			if err := writeContext(cdkOut, nil); err != nil {
				t.Fatal(err)
			}
			if tt.touched != "" {
				os.Chtimes(filepath.Join(root, tt.touched), later, later)
			}
			got, err := staleReason(root, cdkOut, nil)
			if err != nil {
				t.Fatal(err)
			}
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("reason %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("never synthesized", func(t *testing.T) {
		got, err := staleReason(t.TempDir(), filepath.Join(t.TempDir(), "cdk.out"), nil)
		if err != nil || !strings.Contains(got, "manifest.json does not exist") {
			t.Fatalf("reason %q, %v", got, err)
		}
	})
}

// TestFixFlagsKeepsTheOthers: the suggested LOCAL_FLAGS keep every flag the
// user gave and change only the busy ports, so following it works.
func TestFixFlagsKeepsTheOthers(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		moved map[string]int
		order []string
		want  string
	}{
		{"defaults", nil, map[string]int{"http-port": 18080}, []string{"http-port"}, "-http-port 18080"},
		{"others kept", []string{"-http-port", "8080", "-rest-port", "0", "-synth", "never"}, map[string]int{"http-port": 18080},
			[]string{"http-port"}, "-http-port 18080 -rest-port 0 -synth never"},
		{"equals form and a missing flag", []string{"--http-port=8080", "-cognito-port", "0"}, map[string]int{"http-port": 0, "lambda-port": 19001},
			[]string{"http-port", "lambda-port"}, "-http-port 0 -cognito-port 0 -lambda-port 19001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fixFlags(tt.args, tt.moved, tt.order); got != tt.want {
				t.Fatalf("fixFlags = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSuggestionKeepsTheContext: the Makefile passes CONTEXT as -context; the
// busy-port advice gives it back as CONTEXT, not as an undocumented flag.
func TestSuggestionKeepsTheContext(t *testing.T) {
	moved, order := map[string]int{"http-port": 18080}, []string{"http-port"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no context", []string{"-context", "", "-synth", "never"}, `make local LOCAL_FLAGS="-synth never -http-port 18080"`},
		{"context", []string{"-context", "restAuthorizer=jwt", "-http-port", "8080"}, `make local CONTEXT="restAuthorizer=jwt" LOCAL_FLAGS="-http-port 18080"`},
		{"equals form, two pairs", []string{"-context=restAuthorizer=jwt corsOrigins=https://a.example.com"}, `make local CONTEXT="restAuthorizer=jwt corsOrigins=https://a.example.com" LOCAL_FLAGS="-http-port 18080"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := suggestion(tt.args, moved, order); got != tt.want {
				t.Fatalf("suggestion = %s, want %s", got, tt.want)
			}
		})
	}
}
