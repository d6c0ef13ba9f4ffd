// Package procs starts the local stand-ins (dynalite, cognito-local, Lambda
// binaries) on loopback, on free ports, and stops them by PID - the whole
// process group, so nothing is left behind, also when a test fails.
package procs

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Proc is a started process, in a process group of its own.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
	err  error
}

// Start runs the command in its own process group with output to out (nil: discarded).
func Start(name string, cmd *exec.Cmd, out io.Writer) (*Proc, error) {
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// PID of the process (and of its group).
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Exited is closed when the process has ended.
func (p *Proc) Exited() <-chan struct{} { return p.done }

// Stop sends SIGTERM to the group, then SIGKILL after grace.
func (p *Proc) Stop(grace time.Duration) {
	p.once.Do(func() {
		pgid := -p.PID()
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-p.done
		}
		// Children that outlived their leader still hold the group id.
		_ = syscall.Kill(pgid, syscall.SIGKILL)
	})
}

// WaitHTTP polls url until it answers (any status) or the timeout passes,
// failing early if the process exits.
func (p *Proc) WaitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before answering on %s: %v", p.Name, url, p.err)
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer on %s within %s", p.Name, url, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// NodeBin finds an npm-installed executable under node_modules/.bin of the module root.
func NodeBin(moduleRoot, name string) (string, error) {
	p := filepath.Join(moduleRoot, "node_modules", ".bin", name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is not installed (%s missing): run `make deps` (npm ci) first", name, p)
	}
	return p, nil
}

// Dynalite is a running local DynamoDB.
type Dynalite struct {
	*Proc
	Endpoint string
}

// StartDynalite starts an in-memory dynalite on a free loopback port.
func StartDynalite(ctx context.Context, moduleRoot string, port int, out io.Writer) (*Dynalite, error) {
	bin, err := NodeBin(moduleRoot, "dynalite")
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	p, err := Start("dynalite", cmd, out)
	if err != nil {
		return nil, err
	}
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := p.WaitHTTP(ctx, endpoint, 20*time.Second); err != nil {
		p.Stop(time.Second)
		return nil, err
	}
	return &Dynalite{Proc: p, Endpoint: endpoint}, nil
}
