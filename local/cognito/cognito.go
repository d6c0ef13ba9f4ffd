// Package cognito runs cognito-local (npm) as the local Cognito and sets up
// the pool, client, groups and users the template describes.
package cognito

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/secure-api-go/apigw-jwt/internal/procs"
	"github.com/secure-api-go/apigw-jwt/local/oauth"
	"github.com/secure-api-go/apigw-jwt/local/template"
)

// Local is a running cognito-local with one pool and its clients.
type Local struct {
	*procs.Proc
	Endpoint string
	API      *cip.Client
	PoolID   string
	// ClientID is the user app client's (the one without client credentials).
	ClientID string
	// MachineClientID is the client-credentials client's, "" if the template has none.
	MachineClientID string
	// Clients maps each client's template logical id to its local id.
	Clients map[string]string
	// Issuer equals the iss of the tokens it issues.
	Issuer string

	front   *http.Server
	sockDir string
}

// Options for Start.
type Options struct {
	ModuleRoot string
	// Dir holds cognito-local's state (.cognito/). It is recreated.
	Dir  string
	Port int
	// LambdaEndpoint serves the Lambda Invoke API for triggers.
	LambdaEndpoint string
	// PreTokenFunction is the function name cognito-local invokes as the trigger ("" for none).
	PreTokenFunction string
	Out              io.Writer
}

// Start launches cognito-local on 127.0.0.1.
func Start(ctx context.Context, o Options) (*Local, error) {
	bin, err := procs.NodeBin(o.ModuleRoot, "cognito-local")
	if err != nil {
		return nil, err
	}
	// Clients reach cognito-local through a front on the chosen port, which
	// serves each pool's OIDC discovery document as Cognito does (cognito-local's
	// names http://localhost:9229 whatever its address); cognito-local itself
	// listens on a free port behind it.
	front, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(o.Port))
	if err != nil {
		return nil, fmt.Errorf("cognito: listen on 127.0.0.1:%d: %w (choose another port)", o.Port, err)
	}
	endpoint := "http://" + front.Addr().String()
	// cognito-local listens on a unix socket in a folder of its own (0700),
	// not on a TCP port: a web page in the browser could find a port on
	// 127.0.0.1 and call its unauthenticated admin API past the front.
	sockDir, err := os.MkdirTemp("", "cognito-local-")
	if err != nil {
		front.Close()
		return nil, err
	}
	back, err := backSocket(sockDir)
	if err != nil {
		front.Close()
		os.RemoveAll(sockDir)
		return nil, err
	}
	os.RemoveAll(filepath.Join(o.Dir, ".cognito"))
	for _, d := range []string{o.Dir, filepath.Join(o.Dir, ".cognito")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, err
		}
	}
	cfg := map[string]any{
		"LambdaClient":     map[string]any{"endpoint": o.LambdaEndpoint, "region": "us-east-1", "credentials": map[string]string{"accessKeyId": "local", "secretAccessKey": "local"}},
		"TriggerFunctions": map[string]string{},
		"UserPoolDefaults": map[string]any{"UsernameAttributes": []string{}},
		"TokenConfig":      map[string]string{"IssuerDomain": endpoint},
	}
	if o.PreTokenFunction != "" {
		cfg["TriggerFunctions"] = map[string]string{"PreTokenGeneration": o.PreTokenFunction}
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(o.Dir, ".cognito", "config.json"), b, 0o600); err != nil {
		return nil, err
	}
	// cognito-local writes its database (users' password hashes, refresh
	// tokens, client secrets) to .cognito/db/*.json with Node's default mode
	// 0666 less the umask, and it names the files itself. A umask of 077 for
	// its process alone makes them 0600 (and db/ 0700); exec keeps the pid.
	cmd := exec.Command("/bin/sh", "-c", `umask 077 && exec "$0" "$@"`, bin)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", socketEnv+"="+back.socket,
		"NODE_OPTIONS="+strings.TrimSpace(os.Getenv("NODE_OPTIONS")+` --require "`+back.preload+`"`))
	p, err := procs.Start("cognito-local", cmd, o.Out)
	if err != nil {
		front.Close()
		os.RemoveAll(sockDir)
		return nil, err
	}
	if err := back.wait(ctx, p, 30*time.Second); err != nil {
		front.Close()
		p.Stop(2 * time.Second)
		os.RemoveAll(sockDir)
		return nil, err
	}
	srv := serveFront(front, endpoint, back)
	api := cip.New(cip.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	return &Local{Proc: p, Endpoint: endpoint, API: api, front: srv, sockDir: sockDir}, nil
}

// Stop stops the front and cognito-local.
func (l *Local) Stop(grace time.Duration) {
	if l.front != nil {
		l.front.Close()
	}
	l.Proc.Stop(grace)
	if l.sockDir != "" {
		os.RemoveAll(l.sockDir)
	}
}

// socketEnv names the unix socket the preload makes cognito-local listen on.
const socketEnv = "COGNITO_LOCAL_SOCKET"

// preloadJS makes the first server a Node process starts (cognito-local's
// only one) listen on the unix socket $COGNITO_LOCAL_SOCKET instead of the
// TCP port it asks for; cognito-local has no setting for that.
const preloadJS = `"use strict";
const net = require("net");
const listen = net.Server.prototype.listen;
let done = false;
net.Server.prototype.listen = function (...args) {
  const sock = process.env.` + socketEnv + `;
  if (done || !sock) return listen.apply(this, args);
  done = true;
  const cb = args.find((a) => typeof a === "function");
  return cb ? listen.call(this, sock, cb) : listen.call(this, sock);
};
`

// back is cognito-local behind its unix socket.
type back struct {
	socket, preload string
	client          *http.Client
	transport       *http.Transport
}

func backSocket(dir string) (*back, error) {
	b := &back{socket: filepath.Join(dir, "s"), preload: filepath.Join(dir, "listen-on-socket.js")}
	if err := os.WriteFile(b.preload, []byte(preloadJS), 0o600); err != nil {
		return nil, err
	}
	b.transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", b.socket)
	}}
	b.client = &http.Client{Transport: b.transport, Timeout: time.Second}
	return b, nil
}

// wait returns once cognito-local answers /health on its socket.
func (b *back) wait(ctx context.Context, p *procs.Proc, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://cognito-local/health", nil)
		if resp, err := b.client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("cognito-local exited before answering on %s", b.socket)
		case <-ctx.Done():
			return fmt.Errorf("cognito-local did not answer on %s within %s", b.socket, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// discoveryPath matches /<poolId>/.well-known/openid-configuration.
var discoveryPath = regexp.MustCompile(`^/([\w-]+_[0-9A-Za-z]+)/\.well-known/openid-configuration$`)

// serveFront serves the OIDC discovery document of every pool at
// <issuer>/.well-known/openid-configuration, as Cognito does
// (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html),
// with this endpoint's issuer and jwks_uri, and passes everything else to cognito-local.
func serveFront(l net.Listener, endpoint string, b *back) *http.Server {
	target := &url.URL{Scheme: "http", Host: "cognito-local"}
	proxy := &httputil.ReverseProxy{
		Transport: b.transport,
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host },
		// cognito-local answers every origin (Access-Control-Allow-Origin: *):
		// no page in a browser may read its answers.
		ModifyResponse: func(resp *http.Response) error {
			for k := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					resp.Header.Del(k)
				}
			}
			return nil
		},
	}
	addr := l.Addr().String()
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := refuse(r, addr); why != "" {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"__type": "AccessDeniedException", "message": why})
			return
		}
		if m := discoveryPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
			issuer := endpoint + "/" + m[1]
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{
				"issuer": issuer, "jwks_uri": issuer + "/.well-known/jwks.json",
				"id_token_signing_alg_values_supported": []string{"RS256"},
				"subject_types_supported":               []string{"public"},
				"response_types_supported":              []string{"code", "token"},
			})
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	return srv
}

// refuse says why the front turns a request away ("": serve it).
// cognito-local's admin API (AdminCreateUser, AdminAddUserToGroup...) has no
// authentication, so a web page in the developer's browser must not reach it:
// a request with an Origin header (a page's fetch, a CORS preflight) is served
// only for the read-only GETs (discovery, keys, health), and the Host must be
// this listener's own address, so a page cannot come in through DNS
// rebinding either.
func refuse(r *http.Request, addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	if r.Host != addr && r.Host != "localhost:"+port {
		return fmt.Sprintf("the local Cognito serves only requests to its own address (Host %s or localhost:%s, not %q)", addr, port, r.Host)
	}
	if len(r.Header.Values("Origin")) > 0 && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return fmt.Sprintf("the local Cognito refuses browser requests (Origin %q, %s %s): call it from the AWS SDK or CLI on this machine", r.Header.Get("Origin"), r.Method, r.URL.Path)
	}
	return ""
}

// Setup creates the pool, its app clients and groups as the template declares them.
func (l *Local) Setup(ctx context.Context, t *template.Template) error {
	pools := t.OfType("AWS::Cognito::UserPool")
	clients := t.OfType("AWS::Cognito::UserPoolClient")
	if len(pools) != 1 || len(clients) == 0 {
		return fmt.Errorf("cognito: want one user pool and at least one client in the template, found %d and %d", len(pools), len(clients))
	}
	pp := t.Resources[pools[0]].Properties
	in := &cip.CreateUserPoolInput{PoolName: aws.String("local")}
	if aliases, ok := pp["AliasAttributes"].([]any); ok {
		for _, a := range aliases {
			in.AliasAttributes = append(in.AliasAttributes, types.AliasAttributeType(fmt.Sprint(a)))
		}
	}
	pool, err := l.API.CreateUserPool(ctx, in)
	if err != nil {
		return fmt.Errorf("cognito: create pool: %w", err)
	}
	l.PoolID = *pool.UserPool.Id
	l.Issuer = l.Endpoint + "/" + l.PoolID

	l.Clients = map[string]string{}
	for _, logicalID := range clients {
		cp := t.Resources[logicalID].Properties
		cin := &cip.CreateUserPoolClientInput{UserPoolId: &l.PoolID, ClientName: aws.String(logicalID)}
		for _, f := range list(cp["ExplicitAuthFlows"]) {
			cin.ExplicitAuthFlows = append(cin.ExplicitAuthFlows, types.ExplicitAuthFlowsType(fmt.Sprint(f)))
		}
		if v, ok := cp["IdTokenValidity"].(float64); ok {
			cin.IdTokenValidity = aws.Int32(int32(v))
		}
		if v, ok := cp["AccessTokenValidity"].(float64); ok {
			cin.AccessTokenValidity = aws.Int32(int32(v))
		}
		if u, ok := cp["TokenValidityUnits"].(map[string]any); ok {
			unit := func(k string) types.TimeUnitsType { s, _ := u[k].(string); return types.TimeUnitsType(s) }
			cin.TokenValidityUnits = &types.TokenValidityUnitsType{IdToken: unit("IdToken"), AccessToken: unit("AccessToken"), RefreshToken: unit("RefreshToken")}
		}
		// What the local token endpoint checks: the secret, the grant, the scopes.
		cin.GenerateSecret = cp["GenerateSecret"] == true
		machine := false
		for _, f := range list(cp["AllowedOAuthFlows"]) {
			cin.AllowedOAuthFlows = append(cin.AllowedOAuthFlows, types.OAuthFlowType(fmt.Sprint(f)))
			machine = machine || f == "client_credentials"
		}
		for _, sc := range list(cp["AllowedOAuthScopes"]) {
			cin.AllowedOAuthScopes = append(cin.AllowedOAuthScopes, fmt.Sprint(sc))
		}
		cin.AllowedOAuthFlowsUserPoolClient = cp["AllowedOAuthFlowsUserPoolClient"] == true
		client, err := l.API.CreateUserPoolClient(ctx, cin)
		if err != nil {
			return fmt.Errorf("cognito: create client %s: %w", logicalID, err)
		}
		id := *client.UserPoolClient.ClientId
		l.Clients[logicalID] = id
		switch {
		case machine && l.MachineClientID == "":
			l.MachineClientID = id
		case !machine && l.ClientID == "":
			l.ClientID = id
		}
	}
	if l.ClientID == "" {
		return fmt.Errorf("cognito: the template has no user app client (one without client_credentials)")
	}

	for _, id := range t.OfType("AWS::Cognito::UserPoolGroup") {
		gp := t.Resources[id].Properties
		gin := &cip.CreateGroupInput{UserPoolId: &l.PoolID, GroupName: aws.String(fmt.Sprint(gp["GroupName"]))}
		if p, ok := gp["Precedence"].(float64); ok {
			gin.Precedence = aws.Int32(int32(p))
		}
		if _, err := l.API.CreateGroup(ctx, gin); err != nil {
			return fmt.Errorf("cognito: create group %v: %w", gp["GroupName"], err)
		}
	}
	return nil
}

// OAuthClient describes a client as the token endpoint needs it: secret,
// flows, scopes and access token lifetime, read from cognito-local on each
// call as Cognito reads its own configuration.
func (l *Local) OAuthClient(ctx context.Context, id string) (oauth.Client, error) {
	out, err := l.API.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &l.PoolID, ClientId: &id})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return oauth.Client{}, fmt.Errorf("%w: %s", oauth.ErrUnknownClient, id)
	}
	if err != nil {
		return oauth.Client{}, err
	}
	c := out.UserPoolClient
	oc := oauth.Client{ID: id, Secret: aws.ToString(c.ClientSecret), Scopes: c.AllowedOAuthScopes}
	for _, f := range c.AllowedOAuthFlows {
		oc.Flows = append(oc.Flows, string(f))
	}
	if c.AccessTokenValidity != nil {
		unit := time.Hour // Cognito's default unit
		if c.TokenValidityUnits != nil {
			switch c.TokenValidityUnits.AccessToken {
			case types.TimeUnitsTypeSeconds:
				unit = time.Second
			case types.TimeUnitsTypeMinutes:
				unit = time.Minute
			case types.TimeUnitsTypeDays:
				unit = 24 * time.Hour
			}
		}
		oc.TokenTTL = time.Duration(*c.AccessTokenValidity) * unit
	}
	return oc, nil
}

// CreateUser makes a confirmed user with a permanent password in groups.
func (l *Local) CreateUser(ctx context.Context, username, password string, groups []string) error {
	_, err := l.API.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: &l.PoolID, Username: &username, MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: aws.String(username + "@example.com")},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
	})
	if err != nil {
		return fmt.Errorf("cognito: create user %s: %w", username, err)
	}
	if _, err := l.API.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &l.PoolID, Username: &username, Password: &password, Permanent: true}); err != nil {
		return fmt.Errorf("cognito: set password of %s: %w", username, err)
	}
	for _, g := range groups {
		if _, err := l.API.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &l.PoolID, Username: &username, GroupName: aws.String(g)}); err != nil {
			return fmt.Errorf("cognito: add %s to %s: %w", username, g, err)
		}
	}
	return nil
}

// GroupsOf lists a user's groups.
func (l *Local) GroupsOf(ctx context.Context, username string) ([]string, error) {
	out, err := l.API.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &l.PoolID, Username: &username})
	if err != nil {
		return nil, err
	}
	groups := make([]string, 0, len(out.Groups))
	for _, g := range out.Groups {
		groups = append(groups, *g.GroupName)
	}
	return groups, nil
}

// PreTokenBridge adapts cognito-local's trigger call to what Cognito sends:
// it fills groupConfiguration.groupsToOverride with the user's groups (which
// cognito-local leaves empty) and speaks the event version the template
// configures, translating a version 2 answer back to the version 1 shape
// cognito-local applies (ID token claims only). The trigger's own code runs unchanged.
func (l *Local) PreTokenBridge(version string) func(ctx context.Context, event []byte, invoke func(context.Context, []byte) ([]byte, error)) ([]byte, error) {
	return Bridge(version, l.GroupsOf)
}

// Bridge is PreTokenBridge with the group lookup passed in.
func Bridge(version string, groupsOf func(ctx context.Context, username string) ([]string, error)) func(ctx context.Context, event []byte, invoke func(context.Context, []byte) ([]byte, error)) ([]byte, error) {
	return func(ctx context.Context, event []byte, invoke func(context.Context, []byte) ([]byte, error)) ([]byte, error) {
		var ev map[string]any
		if err := json.Unmarshal(event, &ev); err != nil {
			return nil, err
		}
		user, _ := ev["userName"].(string)
		groups, err := groupsOf(ctx, user)
		if err != nil {
			return nil, fmt.Errorf("pre-token bridge: groups of %s: %w", user, err)
		}
		req, _ := ev["request"].(map[string]any)
		if req == nil {
			req = map[string]any{}
			ev["request"] = req
		}
		req["groupConfiguration"] = map[string]any{"groupsToOverride": groups, "iamRolesToOverride": []string{}, "preferredRole": nil}
		ev["version"] = version
		if version != "1" {
			req["scopes"] = []string{"aws.cognito.signin.user.admin"}
		}
		ev["region"] = "us-east-1"
		in, _ := json.Marshal(ev)
		out, err := invoke(ctx, in)
		if err != nil || version == "1" {
			return out, err
		}
		var resp struct {
			Response struct {
				Details *struct {
					ID *struct {
						Claims   map[string]any `json:"claimsToAddOrOverride"`
						Suppress []string       `json:"claimsToSuppress"`
					} `json:"idTokenGeneration"`
				} `json:"claimsAndScopeOverrideDetails"`
			} `json:"response"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			return nil, fmt.Errorf("pre-token bridge: trigger answered %s: %w", out, err)
		}
		v1 := map[string]any{}
		if d := resp.Response.Details; d != nil && d.ID != nil {
			claims := map[string]string{}
			for k, v := range d.ID.Claims {
				claims[k] = fmt.Sprint(v)
			}
			v1["claimsOverrideDetails"] = map[string]any{"claimsToAddOrOverride": claims, "claimsToSuppress": d.ID.Suppress}
		}
		ev["response"] = v1
		return json.Marshal(ev)
	}
}

// Password makes a password that meets the pool's policy: 20 characters
// with lower and upper case, digits and symbols.
func Password() string {
	const lower, upper, digits, symbols = "abcdefghijkmnopqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789", "!#%+-=?"
	all := lower + upper + digits + symbols
	pick := func(set string) byte {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		return set[n.Int64()]
	}
	b := []byte{pick(lower), pick(upper), pick(digits), pick(symbols)}
	for len(b) < 20 {
		b = append(b, pick(all))
	}
	return string(b)
}

// TriggerVersion reads the pre token generation event version the template configures ("1" or "2").
func TriggerVersion(t *template.Template) string {
	for _, id := range t.OfType("AWS::Cognito::UserPool") {
		lc, _ := t.Resources[id].Properties["LambdaConfig"].(map[string]any)
		cfg, _ := lc["PreTokenGenerationConfig"].(map[string]any)
		if v, _ := cfg["LambdaVersion"].(string); strings.HasPrefix(v, "V") {
			return strings.TrimPrefix(strings.Split(v, "_")[0], "V")
		}
	}
	return "1"
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}
