// Package stack starts the whole system on loopback from a synthesized
// template: dynalite with the table and seed, cognito-local with the pool,
// the real Lambda binaries under the Runtime API host, and the API Gateway
// emulators. It stops everything it started, by PID, on Stop.
package stack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/procs"
	"github.com/secure-api-go/apigw-jwt/local/apigw"
	"github.com/secure-api-go/apigw-jwt/local/cognito"
	"github.com/secure-api-go/apigw-jwt/local/lambdahost"
	"github.com/secure-api-go/apigw-jwt/local/oauth"
	"github.com/secure-api-go/apigw-jwt/local/template"
)

// Ports; 0 picks a free one.
type Ports struct {
	HTTPAPI, RESTAPI, Cognito, DynamoDB, Lambda int
	// Token serves the OAuth2 token endpoint (/oauth2/token).
	Token int
}

// Options configure Start.
type Options struct {
	ModuleRoot string
	// CDKOut holds the synthesized template. Default: <root>/cdk.out.
	CDKOut string
	// StateDir holds logs, binaries, endpoints.json and the lock. Default: <root>/.local.
	StateDir string
	Ports    Ports
	// Users to create, with their groups. Passwords come from
	// LOCAL_<USERNAME>_PASSWORD or are generated.
	Users []User
	// Progress receives "step n/N" lines (nil: none).
	Progress io.Writer
	// Instances per function. Default: 2.
	Instances int
}

// User is a local user.
type User struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	Groups   []string `json:"groups"`
}

// DefaultUsers are the walk-through's users.
var DefaultUsers = []User{{Username: "adminuser", Groups: []string{"admin", "regular"}}, {Username: "regularuser", Groups: []string{"regular"}}}

// Endpoints is the contract file .local/endpoints.json.
type Endpoints struct {
	HTTPAPIURL      string `json:"httpApiUrl"`
	RESTAPIURL      string `json:"restApiUrl"`
	CognitoEndpoint string `json:"cognitoEndpoint"`
	UserPoolID      string `json:"userPoolId"`
	ClientID        string `json:"clientId"`
	Issuer          string `json:"issuer"`
	JWKSURI         string `json:"jwksUri"`
	Region          string `json:"region"`
	Users           []User `json:"users"`
	// TokenEndpoint is Cognito's /oauth2/token stand-in (client credentials).
	TokenEndpoint string         `json:"tokenEndpoint,omitempty"`
	MachineClient *MachineClient `json:"machineClient,omitempty"`
}

// MachineClient is the client-credentials client; the file holding its secret is 0600.
type MachineClient struct {
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	Scopes       []string `json:"scopes"`
}

// Stack is the running system.
type Stack struct {
	Endpoints     Endpoints
	EndpointsFile string
	Template      *template.Template
	Host          *lambdahost.Host
	Cognito       *cognito.Local
	// Functions maps a Lambda folder name (authorizer, petstore, ...) to its template logical id.
	Functions map[string]string

	opts     Options
	lock     *os.File
	dynalite *procs.Dynalite
	servers  []*http.Server
	stopOnce sync.Once
	// authorizerJWKSRequests counts the authorizer's JWKS fetches (seed.go).
	authorizerJWKSRequests atomic.Int64
}

// ErrAlreadyRunning means another local run holds the lock.
var ErrAlreadyRunning = errors.New("a local run is already active")

// Start brings everything up. On error it stops what it started.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	if o.CDKOut == "" {
		o.CDKOut = filepath.Join(o.ModuleRoot, "cdk.out")
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(o.ModuleRoot, ".local")
	}
	if o.Instances == 0 {
		o.Instances = 2
	}
	if len(o.Users) == 0 {
		o.Users = DefaultUsers
	}
	s = &Stack{opts: o, Functions: map[string]string{}}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if err := makePrivateDirs(o.StateDir, filepath.Join(o.StateDir, "logs")); err != nil {
		return s, err
	}
	// endpoints.json holds passwords and the machine client's secret.
	if err := os.Chmod(o.StateDir, 0o700); err != nil {
		return s, err
	}
	if err := s.acquireLock(); err != nil {
		return s, err
	}
	const steps = 7
	step := func(n int, format string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "[%d/%d] %s\n", n, steps, fmt.Sprintf(format, a...))
		}
	}

	step(1, "reading the template from %s", o.CDKOut)
	t, err := template.Load(o.CDKOut, "")
	if err != nil {
		return s, err
	}
	s.Template = t

	fns := t.OfType("AWS::Lambda::Function")
	binaries := map[string]string{}
	var goFns []string
	for _, id := range fns {
		if pkgOf(t, id) != "" {
			goFns = append(goFns, id)
		}
	}
	step(2, "building %d Lambdas for %s/%s (the first run compiles them for a minute or two; later runs take seconds)", len(goFns), runtime.GOOS, runtime.GOARCH)
	for i, id := range goFns {
		pkg := pkgOf(t, id)
		name := filepath.Base(pkg)
		s.Functions[name] = id
		bin, err := gobuild.Build(gobuild.Options{Dir: o.ModuleRoot, Package: pkg, OutDir: filepath.Join(o.StateDir, "bin", name), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH})
		if err != nil {
			return s, err
		}
		binaries[id] = bin
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "      built %d/%d %s\n", i+1, len(goFns), name)
		}
	}

	step(3, "starting dynalite and creating the tables from the template")
	if s.dynalite, err = procs.StartDynalite(ctx, o.ModuleRoot, o.Ports.DynamoDB, logFile(o.StateDir, "dynalite")); err != nil {
		return s, err
	}
	if err := s.createTables(ctx); err != nil {
		return s, err
	}

	step(4, "starting the Lambda host")
	s.Host = &lambdahost.Host{Logs: func(name string) io.Writer { return logFile(o.StateDir, "lambda-"+name) }, Hooks: map[string]lambdahost.Hook{}}
	lambdaURL, err := s.serve(o.Ports.Lambda, s.Host.InvokeAPI())
	if err != nil {
		return s, err
	}

	step(5, "starting cognito-local and creating the pool, client, groups and users")
	pretoken := s.Functions["pretoken"]
	if s.Cognito, err = cognito.Start(ctx, cognito.Options{
		ModuleRoot: o.ModuleRoot, Dir: filepath.Join(o.StateDir, "cognito"), Port: o.Ports.Cognito,
		LambdaEndpoint: lambdaURL, PreTokenFunction: pretoken, Out: logFile(o.StateDir, "cognito-local"),
	}); err != nil {
		return s, err
	}
	if err := s.Cognito.Setup(ctx, t); err != nil {
		return s, err
	}
	if pretoken != "" {
		s.Host.Hooks[pretoken] = s.Cognito.PreTokenBridge(cognito.TriggerVersion(t))
	}
	users := make([]User, len(o.Users))
	for i, u := range o.Users {
		u.Password = os.Getenv("LOCAL_" + strings.ToUpper(u.Username) + "_PASSWORD")
		if u.Password == "" {
			u.Password = cognito.Password()
		}
		if err := s.Cognito.CreateUser(ctx, u.Username, u.Password, u.Groups); err != nil {
			return s, err
		}
		users[i] = u
	}

	step(6, "starting %d Lambda functions (%d instances each)", len(goFns), o.Instances)
	pool := t.OfType("AWS::Cognito::UserPool")[0]
	t.Refs[pool] = s.Cognito.PoolID
	t.Attrs[pool+".ProviderURL"] = s.Cognito.Issuer
	for logicalID, id := range s.Cognito.Clients {
		t.Refs[logicalID] = id
	}
	// JWKS seed (seed.go): the seed custom resources run now, as on create,
	// so the authorizer's environment below resolves to the pool's keys.
	seedFns, err := s.runJWKSSeeds(ctx, binaries)
	if err != nil {
		return s, err
	}
	goFns = slices.DeleteFunc(goFns, func(id string) bool { return seedFns[id] })
	// End of the JWKS seed step.
	var functions []lambdahost.Function
	for _, id := range goFns {
		env, err := s.functionEnv(id)
		if err != nil {
			return s, err
		}
		timeout := 3 * time.Second
		if v, ok := t.Resources[id].Properties["Timeout"].(float64); ok {
			timeout = time.Duration(v) * time.Second
		}
		functions = append(functions, lambdahost.Function{Name: id, Binary: binaries[id], Env: env, Timeout: timeout, Instances: o.Instances})
	}
	if err := s.countAuthorizerJWKS(functions); err != nil { // seed.go
		return s, err
	}
	if err := s.Host.Start(functions); err != nil {
		return s, err
	}

	step(7, "starting the API Gateway emulators and the OAuth2 token endpoint")
	apiOpts := apigw.Options{Invoker: s.Host, Log: func(format string, a ...any) {
		fmt.Fprintf(logFile(o.StateDir, "apigateway"), time.Now().Format(time.RFC3339)+" "+format+"\n", a...)
	}}
	if apiOpts.Discovery, err = s.serveDiscovery(); err != nil { // discovery.go
		return s, err
	}
	httpAPI, err := apigw.NewHTTPAPI(t, apiOpts)
	if err != nil {
		return s, err
	}
	restAPI, err := apigw.NewRESTAPI(t, apiOpts)
	if err != nil {
		return s, err
	}
	httpURL, err := s.serve(o.Ports.HTTPAPI, httpAPI)
	if err != nil {
		return s, err
	}
	restURL, err := s.serve(o.Ports.RESTAPI, restAPI)
	if err != nil {
		return s, err
	}
	s.Endpoints = Endpoints{
		HTTPAPIURL: httpURL, RESTAPIURL: restURL + "/" + restAPI.Stage(), CognitoEndpoint: s.Cognito.Endpoint,
		UserPoolID: s.Cognito.PoolID, ClientID: s.Cognito.ClientID, Issuer: s.Cognito.Issuer,
		JWKSURI: s.Cognito.Issuer + "/.well-known/jwks.json", Region: "us-east-1", Users: users,
	}
	if s.Cognito.MachineClientID != "" {
		if err := s.serveTokenEndpoint(ctx); err != nil {
			return s, err
		}
	}
	s.EndpointsFile = filepath.Join(o.StateDir, endpointsFile)
	b, _ := json.MarshalIndent(s.Endpoints, "", "  ")
	if err := os.WriteFile(s.EndpointsFile, append(b, '\n'), 0o600); err != nil {
		return s, err
	}
	return s, nil
}

// serveTokenEndpoint starts the local /oauth2/token (cognito-local has none)
// and records it and the machine client in Endpoints.
func (s *Stack) serveTokenEndpoint(ctx context.Context) error {
	key, err := oauth.CognitoLocalKey(s.opts.ModuleRoot)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/oauth2/token", &oauth.Server{Issuer: s.Cognito.Issuer, Key: key, KeyID: oauth.CognitoLocalKeyID, Clients: s.Cognito.OAuthClient})
	base, err := s.serve(s.opts.Ports.Token, mux)
	if err != nil {
		return err
	}
	m, err := s.Cognito.OAuthClient(ctx, s.Cognito.MachineClientID)
	if err != nil {
		return fmt.Errorf("machine client %s: %w", s.Cognito.MachineClientID, err)
	}
	s.Endpoints.TokenEndpoint = base + "/oauth2/token"
	s.Endpoints.MachineClient = &MachineClient{ClientID: m.ID, ClientSecret: m.Secret, Scopes: m.Scopes}
	return nil
}

// Stop ends every process and server it started and removes endpoints.json.
func (s *Stack) Stop() {
	s.stopOnce.Do(func() {
		for _, srv := range s.servers {
			srv.Close()
		}
		var wg sync.WaitGroup
		if s.Host != nil {
			wg.Add(1)
			go func() { defer wg.Done(); s.Host.Stop() }()
		}
		if s.Cognito != nil {
			wg.Add(1)
			go func() { defer wg.Done(); s.Cognito.Stop(3 * time.Second) }()
		}
		if s.dynalite != nil {
			wg.Add(1)
			go func() { defer wg.Done(); s.dynalite.Stop(3 * time.Second) }()
		}
		wg.Wait()
		if s.EndpointsFile != "" {
			os.Remove(s.EndpointsFile)
		}
		if s.lock != nil {
			syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
			s.lock.Close()
		}
		closeLogs()
	})
}

// lockFile and endpointsFile are the names inside the state dir.
const lockFile, endpointsFile = "lock", "endpoints.json"

func (s *Stack) acquireLock() error {
	f, err := os.OpenFile(filepath.Join(s.opts.StateDir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return alreadyRunning(f.Name())
	}
	f.Chmod(0o600) // an older run made it 0644
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	s.lock = f
	// Whoever wrote an endpoints.json here no longer holds the lock: it crashed.
	os.Remove(filepath.Join(s.opts.StateDir, endpointsFile))
	return nil
}

func alreadyRunning(lock string) error {
	pid, _ := os.ReadFile(lock)
	return fmt.Errorf("%w (pid %s holds %s): stop it with Ctrl-C first", ErrAlreadyRunning, strings.TrimSpace(string(pid)), lock)
}

// CheckNotRunning is the cheap test a command makes before minutes of work:
// it returns ErrAlreadyRunning, naming the holder's pid, when a local run
// holds the lock of stateDir. When none does, an endpoints.json there is
// left by a run that crashed (its owner is gone): it is removed, so no tool
// or test takes it for a live stack, and stale reports that.
func CheckNotRunning(stateDir string) (stale bool, err error) {
	f, err := os.Open(filepath.Join(stateDir, lockFile))
	if err == nil {
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			return false, alreadyRunning(f.Name())
		}
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	} else if !os.IsNotExist(err) {
		return false, err
	}
	err = os.Remove(filepath.Join(stateDir, endpointsFile))
	if err == nil {
		return true, nil
	}
	if os.IsNotExist(err) {
		return false, nil
	}
	return false, err
}

// makePrivateDirs creates the directories mode 0700, also tightening ones an
// older run made 0755: the state dir holds passwords, the machine client's
// secret and cognito-local's database with refresh tokens.
func makePrivateDirs(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// serve listens on 127.0.0.1:port (0: free) and returns the base URL.
func (s *Stack) serve(port int, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return "", fmt.Errorf("listen on 127.0.0.1:%d: %w (choose another port)", port, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go srv.Serve(l)
	return "http://" + l.Addr().String(), nil
}

func pkgOf(t *template.Template, id string) string {
	return t.Metadata(id, gobuild.MetadataGoPackage)
}

// functionEnv is the template's environment resolved to local values, plus
// what the Lambda service itself sets.
func (s *Stack) functionEnv(id string) (map[string]string, error) {
	env := map[string]string{
		"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_ENDPOINT_URL_DYNAMODB": s.dynalite.Endpoint, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_LAMBDA_FUNCTION_NAME": id, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_FORMAT": "JSON",
		"_HANDLER": "bootstrap", "TZ": ":UTC",
	}
	p := s.Template.Resources[id].Properties
	if v, ok := p["MemorySize"].(float64); ok {
		env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(int(v))
	}
	vars, err := s.Template.Resolve(p["Environment"])
	if err != nil {
		return nil, fmt.Errorf("function %s environment: %w", id, err)
	}
	if m, ok := vars.(map[string]any); ok {
		if vv, ok := m["Variables"].(map[string]any); ok {
			for k, v := range vv {
				env[k] = fmt.Sprint(v)
			}
		}
	}
	return env, nil
}

// createTables makes each AWS::DynamoDB::Table in dynalite (named by its
// logical id, which is what Ref resolves to locally) and runs the seed
// custom resources (Custom::AWS calls to DynamoDB) as CloudFormation would on create.
func (s *Stack) createTables(ctx context.Context) error {
	for _, id := range s.Template.OfType("AWS::DynamoDB::Table") {
		p := s.Template.Resources[id].Properties
		in := map[string]any{"TableName": id}
		for _, k := range []string{"KeySchema", "AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes", "ProvisionedThroughput"} {
			if v, ok := p[k]; ok {
				in[k] = v
			}
		}
		if in["BillingMode"] == nil {
			in["BillingMode"] = "PAY_PER_REQUEST"
		}
		if err := s.dynamo(ctx, "CreateTable", in); err != nil {
			return fmt.Errorf("create table %s: %w", id, err)
		}
	}
	// dynalite creates tables asynchronously even with --createTableMs 0.
	for _, id := range s.Template.OfType("AWS::DynamoDB::Table") {
		deadline := time.Now().Add(10 * time.Second)
		for {
			var out struct{ Table struct{ TableStatus string } }
			if err := s.dynamoOut(ctx, "DescribeTable", map[string]any{"TableName": id}, &out); err == nil && out.Table.TableStatus == "ACTIVE" {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("table %s did not become ACTIVE", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, id := range s.Template.OfType("Custom::AWS") { // sorted, so seeds run in a stable order
		raw, err := s.Template.String(s.Template.Resources[id].Properties["Create"])
		if err != nil {
			return fmt.Errorf("seed %s: %w", id, err)
		}
		var call struct {
			Service    string         `json:"service"`
			Action     string         `json:"action"`
			Parameters map[string]any `json:"parameters"`
		}
		if err := json.Unmarshal([]byte(raw), &call); err != nil {
			return fmt.Errorf("seed %s: %w", id, err)
		}
		if call.Service != "DynamoDB" && call.Service != "@aws-sdk/client-dynamodb" {
			return fmt.Errorf("seed %s: only DynamoDB custom resource calls run locally, not %s", id, call.Service)
		}
		action := strings.ToUpper(call.Action[:1]) + strings.TrimSuffix(call.Action[1:], "Command")
		if err := s.dynamo(ctx, action, call.Parameters); err != nil {
			return fmt.Errorf("seed %s: %s: %w", id, action, err)
		}
	}
	return nil
}

func (s *Stack) dynamo(ctx context.Context, action string, in any) error {
	return s.dynamoOut(ctx, action, in, nil)
}

// dynamoOut calls the DynamoDB JSON API with the template's own parameters.
func (s *Stack) dynamoOut(ctx context.Context, action string, in, out any) error {
	body, _ := json.Marshal(in)
	req, _ := http.NewRequestWithContext(ctx, "POST", s.dynalite.Endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+action)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, req, hex.EncodeToString(sum[:]), "dynamodb", "us-east-1", time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

var (
	logsMu sync.Mutex
	logs   = map[string]*os.File{}
)

func logFile(dir, name string) io.Writer {
	logsMu.Lock()
	defer logsMu.Unlock()
	p := filepath.Join(dir, "logs", name+".log")
	if f, ok := logs[p]; ok {
		return f
	}
	// Logs may hold what a function or cognito-local printed about users: owner only.
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return io.Discard
	}
	if err := f.Chmod(0o600); err != nil { // an older run made it 0644
		f.Close()
		return io.Discard
	}
	logs[p] = f
	return f
}

func closeLogs() {
	logsMu.Lock()
	defer logsMu.Unlock()
	for p, f := range logs {
		f.Close()
		delete(logs, p)
	}
}
