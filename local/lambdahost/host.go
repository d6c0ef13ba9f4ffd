// Package lambdahost runs real Lambda `bootstrap` binaries on this machine:
// it is a Lambda Runtime API host (one endpoint per function, one or more
// processes per function) and serves the Lambda Invoke API for callers such
// as cognito-local.
package lambdahost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/secure-api-go/apigw-jwt/internal/lambdaenv"
	"github.com/secure-api-go/apigw-jwt/internal/procs"
)

// Lambda's synchronous invocation payload quota is 6 MB each way
// (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html,
// "Invocation payload (request and response)"). Measured, Lambda refuses a
// request over 6291456 bytes ("Request must be smaller than 6291456 bytes for
// the InvokeFunction operation") and a response over 6291556 bytes
// ("Response payload size exceeded maximum allowed payload size (6291556 bytes).").
const (
	MaxRequestPayload  = 6 << 20
	MaxResponsePayload = 6<<20 + 100
)

// ErrRequestTooLarge is returned, wrapped, for an event over
// MaxRequestPayload: the Invoke API's RequestTooLargeException (HTTP 413,
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors).
// The function is not invoked.
var ErrRequestTooLarge = errors.New("RequestTooLargeException")

// ErrEnvironmentTooLarge is returned, wrapped, by Start for a function whose
// environment Lambda would refuse (over lambdaenv.Limit, measured by lambdaenv.Size).
var ErrEnvironmentTooLarge = errors.New("environment variables exceed Lambda's 4 KB limit")

// Function is one function to run.
type Function struct {
	// Name by which callers invoke it.
	Name string
	// Binary is the bootstrap executable, built for this machine.
	Binary string
	// Env is the function's configured environment (the template's, resolved
	// to local values): what Lambda's 4 KB limit measures.
	Env map[string]string
	// Runtime is what the Lambda service itself sets (AWS_REGION, ...): not
	// part of the configured environment, so not measured.
	Runtime map[string]string
	// Timeout of one invocation. Default: 3 s, as Lambda's.
	Timeout time.Duration
	// Instances is the number of processes. Default: 1.
	Instances int
}

// Host runs the functions.
type Host struct {
	// Logs receives the functions' output (nil: discarded).
	Logs func(name string) io.Writer
	// Hooks adapt an invocation of a named function (the local pre-token bridge).
	Hooks map[string]Hook

	mu    sync.Mutex
	funcs map[string]*function
	calls map[string]int
}

// Invocations counts the invocations of a function so far (not the ones
// refused before the function runs).
func (h *Host) Invocations(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[name]
}

// Hook wraps one invocation: it may change the event and the response.
type Hook func(ctx context.Context, event []byte, invoke func(context.Context, []byte) ([]byte, error)) ([]byte, error)

// ErrFunction is returned, wrapped, when the function itself reported an error;
// the payload is Lambda's {"errorMessage", "errorType"}.
var ErrFunction = errors.New("function error")

type function struct {
	cfg      Function
	listener net.Listener
	server   *http.Server
	queue    chan *invocation
	mu       sync.Mutex
	inflight map[string]*invocation
	procs    []*procs.Proc
	stopping chan struct{}
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan result
}

type result struct {
	payload []byte
	failed  bool
}

// Start launches every function's Runtime API endpoint and processes.
func (h *Host) Start(fns []Function) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.funcs == nil {
		h.funcs = map[string]*function{}
	}
	for _, cfg := range fns {
		// Lambda refuses to create or update such a function, so it never runs.
		if !lambdaenv.Fits(cfg.Env) {
			return fmt.Errorf("lambdahost: %s: %w: measured %d bytes (the JSON of all variables), limit %d: "+
				"Lambda refuses this function's configuration (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)",
				cfg.Name, ErrEnvironmentTooLarge, lambdaenv.Size(cfg.Env), lambdaenv.Limit)
		}
		if cfg.Timeout == 0 {
			cfg.Timeout = 3 * time.Second
		}
		if cfg.Instances < 1 {
			cfg.Instances = 1
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		f := &function{cfg: cfg, listener: l, queue: make(chan *invocation), inflight: map[string]*invocation{}, stopping: make(chan struct{})}
		f.server = &http.Server{Handler: f.runtimeAPI(), ReadHeaderTimeout: 5 * time.Second}
		go f.server.Serve(l)
		h.funcs[cfg.Name] = f
		for i := 0; i < cfg.Instances; i++ {
			if err := h.spawn(f); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *Host) spawn(f *function) error {
	cmd := exec.Command(f.cfg.Binary)
	env := []string{"AWS_LAMBDA_RUNTIME_API=" + f.listener.Addr().String(), "PATH=/usr/bin:/bin"}
	for k, v := range f.cfg.Runtime {
		env = append(env, k+"="+v)
	}
	for k, v := range f.cfg.Env {
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	var out io.Writer
	if h.Logs != nil {
		out = h.Logs(f.cfg.Name)
	}
	p, err := procs.Start("lambda "+f.cfg.Name, cmd, out)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.mu.Unlock()
	// Like Lambda, replace an instance whose process died.
	go func() {
		select {
		case <-p.Exited():
			select {
			case <-f.stopping:
			case <-time.After(200 * time.Millisecond):
				_ = h.spawn(f)
			}
		case <-f.stopping:
		}
	}()
	return nil
}

// Stop ends every process (by process group) and endpoint.
func (h *Host) Stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range h.funcs {
		close(f.stopping)
		f.mu.Lock()
		ps := append([]*procs.Proc(nil), f.procs...)
		f.mu.Unlock()
		for _, p := range ps {
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop(3 * time.Second) }()
		}
		f.server.Close()
	}
	wg.Wait()
	h.funcs = nil
}

// PIDs lists the processes running now.
func (h *Host) PIDs() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, f := range h.funcs {
		f.mu.Lock()
		for _, p := range f.procs {
			out = append(out, p.PID())
		}
		f.mu.Unlock()
	}
	return out
}

// Invoke runs one invocation and returns the response payload. A function
// error returns the error payload with an error wrapping ErrFunction.
func (h *Host) Invoke(ctx context.Context, name string, event []byte) ([]byte, error) {
	h.mu.Lock()
	f, ok := h.funcs[name]
	hook := h.Hooks[name]
	h.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("lambdahost: no function %q", name)
	}
	if len(event) > MaxRequestPayload {
		return nil, fmt.Errorf("lambdahost: %s: %w: %d byte payload: Request must be smaller than %d bytes for the InvokeFunction operation", name, ErrRequestTooLarge, len(event), MaxRequestPayload)
	}
	h.mu.Lock()
	if h.calls == nil {
		h.calls = map[string]int{}
	}
	h.calls[name]++
	h.mu.Unlock()
	if hook != nil {
		return hook(ctx, event, f.invoke)
	}
	return f.invoke(ctx, event)
}

func (f *function) invoke(ctx context.Context, event []byte) ([]byte, error) {
	inv := &invocation{id: newID(), payload: event, deadline: time.Now().Add(f.cfg.Timeout), done: make(chan result, 1)}
	ctx, cancel := context.WithDeadline(ctx, inv.deadline)
	defer cancel()
	select {
	case f.queue <- inv:
	case <-ctx.Done():
		return nil, fmt.Errorf("lambdahost: %s: no instance took the invocation within %s", f.cfg.Name, f.cfg.Timeout)
	}
	select {
	case r := <-inv.done:
		if r.failed {
			return r.payload, fmt.Errorf("%w: %s: %s", ErrFunction, f.cfg.Name, ErrorMessage(r.payload))
		}
		return r.payload, nil
	case <-ctx.Done():
		f.mu.Lock()
		delete(f.inflight, inv.id)
		f.mu.Unlock()
		msg := fmt.Sprintf(`{"errorMessage":"Task timed out after %.2f seconds","errorType":"TimeoutError"}`, f.cfg.Timeout.Seconds())
		return []byte(msg), fmt.Errorf("%w: %s: timed out after %s", ErrFunction, f.cfg.Name, f.cfg.Timeout)
	}
}

// ErrorMessage is the errorMessage of a Lambda error payload (the payload itself if it has none).
func ErrorMessage(payload []byte) string {
	var e struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(payload, &e) == nil && e.ErrorMessage != "" {
		return e.ErrorMessage
	}
	return string(payload)
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// runtimeAPI is the Lambda Runtime API the bootstrap polls.
func (f *function) runtimeAPI() http.Handler {
	const prefix = "/2018-06-01/runtime/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only the function's own process talks to this endpoint; a browser
		// page could take the next event (and its bearer token) off the queue
		// or, through DNS rebinding, answer it with a forged policy.
		if len(r.Header.Values("Origin")) > 0 || r.Host != f.listener.Addr().String() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"errorType": "Forbidden",
				"errorMessage": "the local Runtime API serves only its function's process (no Origin, Host " + f.listener.Addr().String() + ")"})
			return
		}
		path := strings.TrimPrefix(r.URL.Path, prefix)
		switch {
		case r.Method == http.MethodGet && path == "invocation/next":
			select {
			case inv := <-f.queue:
				f.mu.Lock()
				f.inflight[inv.id] = inv
				f.mu.Unlock()
				w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
				w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
				w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:"+f.cfg.Name)
				w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
				w.Write(inv.payload)
			case <-f.stopping:
				http.Error(w, "host stopping", http.StatusServiceUnavailable)
			case <-r.Context().Done():
			}
		case r.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
			rest := strings.TrimPrefix(path, "invocation/")
			id, kind, _ := strings.Cut(rest, "/")
			body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponsePayload+1))
			f.mu.Lock()
			inv, ok := f.inflight[id]
			delete(f.inflight, id)
			f.mu.Unlock()
			if !ok {
				http.Error(w, `{"errorMessage":"unknown or timed-out request id"}`, http.StatusBadRequest)
				return
			}
			if len(body) > MaxResponsePayload {
				// As Lambda: the invocation fails with this function error and
				// the runtime's POST gets 413 (Runtime API, "Invocation response").
				inv.done <- result{payload: []byte(fmt.Sprintf(`{"errorMessage":"Response payload size exceeded maximum allowed payload size (%d bytes).","errorType":"Function.ResponseSizeTooLarge"}`, MaxResponsePayload)), failed: true}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				io.WriteString(w, `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}`)
				return
			}
			inv.done <- result{payload: body, failed: kind == "error"}
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPost && path == "init/error":
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			w.WriteHeader(http.StatusAccepted)
			_ = body // the process exits next; its output is in the log
		default:
			http.NotFound(w, r)
		}
	})
}

// InvokeAPI serves POST /2015-03-31/functions/{name}/invocations, the Lambda
// Invoke API, as the AWS SDKs call it.
//
// Anything on the machine can reach a loopback port, including a web page in
// the user's browser: a cross-site POST with text/plain needs no preflight
// and could invoke a function with a forged event. So the API refuses (403)
// every request that carries an Origin header (browsers send one on
// cross-site POSTs and on every preflight) or lacks an Authorization header
// (the SDK's SigV4 signature, which cognito-local's calls carry and a page
// cannot add without a preflight). The signature itself is not checked: the
// local credentials are public anyway.
func (h *Host) InvokeAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason := refuse(r); reason != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": reason})
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
		name, ok2 := strings.CutSuffix(name, "/invocations")
		if r.Method != http.MethodPost || !ok || !ok2 {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, MaxRequestPayload+1))
		out, err := h.Invoke(r.Context(), name, body)
		switch {
		case errors.Is(err, ErrRequestTooLarge):
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", "RequestTooLargeException")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", MaxRequestPayload)})
			return
		case errors.Is(err, ErrFunction):
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		case err != nil:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		io.Copy(w, bytes.NewReader(out))
	})
}

// refuse says why the Invoke API turns a request away ("" to serve it).
func refuse(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" || len(r.Header.Values("Origin")) > 0 {
		return fmt.Sprintf("the local Lambda Invoke API refuses browser requests (Origin %q): only SDK-signed calls from this machine are served", o)
	}
	if r.Header.Get("Authorization") == "" {
		return "the local Lambda Invoke API needs an Authorization header (an SDK-signed request, as cognito-local sends)"
	}
	return ""
}
