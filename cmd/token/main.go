// Command token prints a token without hand-written curl: an ID token for a
// user, or a machine access token (client credentials), from the local run
// when .local/endpoints.json exists, else from the deployed stack's outputs.
// `make token` runs it; `make help` lists its variables.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/internal/scope"
	"github.com/secure-api-go/apigw-jwt/local/stack"
)

// Options are the make variables.
type Options struct {
	User, Password, Client, Scope, Format string
	// Endpoints is the local run's file; Stack the deployed stack's name.
	Endpoints, Stack string
	// Out receives the hosted-UI instructions.
	Out io.Writer
}

func main() {
	var o Options
	flag.StringVar(&o.User, "user", "", "user name: print an ID token for this user")
	flag.StringVar(&o.Client, "client", "", `"machine": print a client-credentials access token`)
	flag.StringVar(&o.Scope, "scope", "", "space-separated scopes of the machine token (default: all the client may have)")
	flag.StringVar(&o.Format, "format", "token", "token, or claims: the decoded claims (not verified)")
	flag.StringVar(&o.Endpoints, "endpoints", "", "the local run's endpoints.json (default: .local/endpoints.json in the module)")
	flag.StringVar(&o.Stack, "stack", "SecureApiJwt", "deployed stack to read when there is no local run")
	flag.Parse()
	o.Password = os.Getenv("PASSWORD") // from the environment, so it stays out of the process list
	o.Out = os.Stderr
	if o.Endpoints == "" {
		if root, err := gobuild.ModuleRoot("."); err == nil {
			o.Endpoints = filepath.Join(root, ".local", "endpoints.json")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	out, err := Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "make token:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}

// Errors, one line each, saying what to do.
var (
	ErrUsage       = errors.New("say what to print")
	ErrNoTarget    = errors.New("no local run and no deployed stack")
	ErrUnknownUser = errors.New("unknown user")
	ErrPassword    = errors.New("wrong password")
	ErrScope       = errors.New("scope not allowed")
)

// Target is where tokens come from: the local run or the deployed stack.
type Target struct {
	Local         bool
	API           *cip.Client
	UserPoolID    string
	ClientID      string
	Users         []stack.User // local only
	TokenEndpoint string
	// AuthorizeURL and RedirectURL drive the hosted UI (deployed only).
	AuthorizeURL, RedirectURL string
	Machine                   stack.MachineClient // deployed: the id only until read
}

// Run resolves the target and prints the token or its claims.
func Run(ctx context.Context, o Options) (string, error) {
	if (o.User == "") == (o.Client == "") {
		return "", fmt.Errorf("%w: USER=<name> for an ID token or CLIENT=machine for a machine token, e.g. make token USER=adminuser", ErrUsage)
	}
	if o.Format != "token" && o.Format != "claims" && o.Format != "" {
		return "", fmt.Errorf("%w: FORMAT=%q: want token or claims", ErrUsage, o.Format)
	}
	t, err := Resolve(ctx, o.Endpoints, o.Stack)
	if err != nil {
		return "", err
	}
	var tok string
	if o.User != "" {
		tok, err = UserToken(ctx, t, o.User, o.Password, o.Out)
	} else {
		if o.Client != "machine" && o.Client != t.Machine.ClientID {
			return "", fmt.Errorf("%w: CLIENT=%q: the stack has one machine client, CLIENT=machine", ErrUsage, o.Client)
		}
		tok, err = MachineToken(ctx, t, scope.Split(o.Scope))
	}
	if err != nil {
		return "", err
	}
	if o.Format == "claims" {
		c, err := Claims(tok)
		if err != nil {
			return "", err
		}
		fmt.Fprintln(o.Out, "# decoded claims, NOT verified: only the APIs' authorizers verify the signature")
		return c, nil
	}
	return tok, nil
}

// Resolve reads the local run's endpoints.json when it exists, else the
// deployed stack's outputs.
func Resolve(ctx context.Context, endpointsFile, stackName string) (*Target, error) {
	raw, err := os.ReadFile(endpointsFile)
	if err == nil {
		var e stack.Endpoints
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%s is not the local run's endpoints file: %v; restart `make local`", endpointsFile, err)
		}
		t := &Target{Local: true, UserPoolID: e.UserPoolID, ClientID: e.ClientID, Users: e.Users, TokenEndpoint: e.TokenEndpoint,
			API: cip.New(cip.Options{Region: e.Region, BaseEndpoint: aws.String(e.CognitoEndpoint), Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})}
		if e.MachineClient != nil {
			t.Machine = *e.MachineClient
		}
		return t, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// Quiet: a machine without AWS credentials is a normal case here, reported below in one line.
	cfg, cfgErr := config.LoadDefaultConfig(ctx, config.WithLogger(logging.Nop{}))
	var out *cloudformation.DescribeStacksOutput
	if cfgErr == nil {
		out, cfgErr = cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &stackName})
	}
	if cfgErr != nil || len(out.Stacks) == 0 {
		return nil, fmt.Errorf("%w: %s does not exist and stack %s could not be read (%v): start `make local`, or `make deploy` with AWS credentials", ErrNoTarget, endpointsFile, stackName, oneLine(cfgErr))
	}
	o := map[string]string{}
	for _, kv := range out.Stacks[0].Outputs {
		o[aws.ToString(kv.OutputKey)] = aws.ToString(kv.OutputValue)
	}
	t := &Target{API: cip.NewFromConfig(cfg), UserPoolID: o["UserPoolId"], ClientID: o["UserPoolClientId"], TokenEndpoint: o["TokenEndpoint"],
		Machine: stack.MachineClient{ClientID: o["MachineClientId"]}}
	if t.UserPoolID == "" || t.ClientID == "" || t.TokenEndpoint == "" {
		return nil, fmt.Errorf("%w: stack %s lacks the outputs UserPoolId, UserPoolClientId, TokenEndpoint: redeploy with `make deploy`", ErrNoTarget, stackName)
	}
	t.AuthorizeURL = strings.TrimSuffix(t.TokenEndpoint, "/oauth2/token") + "/oauth2/authorize"
	if u, err := url.Parse(o["HostedUiLoginUrl"]); err == nil {
		t.RedirectURL = u.Query().Get("redirect_uri")
	}
	return t, nil
}

// UserToken signs the user in and returns the ID token: with USER_PASSWORD_AUTH
// when a password is known (locally from endpoints.json), else through the
// hosted UI with the authorization-code grant and PKCE.
func UserToken(ctx context.Context, t *Target, user, password string, out io.Writer) (string, error) {
	if t.Local && password == "" {
		for _, u := range t.Users {
			if u.Username == user {
				password = u.Password
			}
		}
		if password == "" {
			return "", fmt.Errorf("%w %q: the local run has %s; or give PASSWORD=... for a user you created", ErrUnknownUser, user, strings.Join(localUsers(t), ", "))
		}
	}
	if password == "" {
		if t.RedirectURL == "" {
			return "", fmt.Errorf("%w: no PASSWORD and no hosted-UI callback URL in the stack outputs: give PASSWORD=<password>", ErrUsage)
		}
		return HostedUILogin(ctx, t, user, out)
	}
	res, err := t.API.InitiateAuth(ctx, &cip.InitiateAuthInput{
		AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: &t.ClientID,
		AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password},
	})
	var notAuth *types.NotAuthorizedException
	var notFound *types.UserNotFoundException
	// cognito-local answers a wrong password with InvalidPasswordException (not
	// an InitiateAuth error in the SDK's model, so only its code), Cognito with NotAuthorizedException.
	var api smithy.APIError
	invalidPassword := errors.As(err, &api) && api.ErrorCode() == "InvalidPasswordException"
	switch {
	case errors.As(err, &notFound):
		return "", fmt.Errorf("%w %q: check USER (the pool has no such user)", ErrUnknownUser, user)
	case (errors.As(err, &notAuth) || invalidPassword) && t.Local && slices.Contains(localUsers(t), user):
		return "", fmt.Errorf("%w for user %q: check PASSWORD, or leave it out to use the one in endpoints.json", ErrPassword, user)
	case errors.As(err, &notAuth) || invalidPassword:
		// Cognito hides which one (PreventUserExistenceErrors); cognito-local too for users it does not know.
		return "", fmt.Errorf("%w or unknown user %q: check USER and PASSWORD%s", ErrPassword, user, hint(t))
	case err != nil:
		return "", fmt.Errorf("sign in as %s: %v", user, oneLine(err))
	case res.AuthenticationResult == nil || res.AuthenticationResult.IdToken == nil:
		return "", fmt.Errorf("sign in as %s: Cognito asks for %s (e.g. a new password or MFA): sign in through the hosted UI (leave PASSWORD out)", user, res.ChallengeName)
	}
	return *res.AuthenticationResult.IdToken, nil
}

// localUsers are the names of the local run's users.
func localUsers(t *Target) []string {
	names := make([]string, 0, len(t.Users))
	for _, u := range t.Users {
		names = append(names, u.Username)
	}
	return names
}

// hint says what to try after a refused sign-in.
func hint(t *Target) string {
	if !t.Local {
		return ", or leave PASSWORD out to sign in through the hosted UI"
	}
	return "; the local run has " + strings.Join(localUsers(t), ", ") + " (leave PASSWORD out to use their passwords)"
}

// HostedUILogin runs the authorization-code grant with PKCE: it prints the
// URL to open, receives the code on a loopback listener at the stack's
// localhost callback URL, and exchanges it for tokens.
func HostedUILogin(ctx context.Context, t *Target, user string, out io.Writer) (string, error) {
	redirect, err := url.Parse(t.RedirectURL)
	if err != nil || redirect.Scheme != "http" || (redirect.Hostname() != "localhost" && redirect.Hostname() != "127.0.0.1") {
		return "", fmt.Errorf("%w: the hosted-UI callback %q is not a http://localhost URL this command can listen on: give PASSWORD=<password>", ErrUsage, t.RedirectURL)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", redirect.Port()))
	if err != nil {
		return "", fmt.Errorf("listen for the hosted-UI callback on %s: %v (stop what uses the port)", redirect.Host, err)
	}
	defer ln.Close()
	conf := oauth2.Config{ClientID: t.ClientID, RedirectURL: t.RedirectURL, Scopes: []string{"openid", "email", "phone", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: t.AuthorizeURL, TokenURL: t.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()
	state := randomHex(16)
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", user))
	fmt.Fprintf(out, "Open this URL in a browser and sign in as %s (waiting up to 5 minutes on %s):\n  %s\n", user, t.RedirectURL, authURL)

	codes := make(chan string, 1)
	fails := make(chan error, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.URL.Path != redirect.Path:
			http.NotFound(w, r)
			return
		case q.Get("state") != state:
			http.Error(w, "state mismatch: start again with make token", http.StatusBadRequest)
			return
		case q.Get("error") != "":
			http.Error(w, "sign-in failed: "+q.Get("error"), http.StatusBadRequest)
			select {
			case fails <- fmt.Errorf("hosted UI refused the sign-in: %s %s", q.Get("error"), q.Get("error_description")):
			default:
			}
			return
		}
		fmt.Fprintln(w, "Signed in. You can close this tab; the token is in your terminal.")
		select {
		case codes <- q.Get("code"):
		default:
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	wait, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var code string
	select {
	case code = <-codes:
	case err := <-fails:
		return "", err
	case <-wait.Done():
		return "", fmt.Errorf("no sign-in within 5 minutes: run make token again and open the URL")
	}
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fmt.Errorf("exchange the code at %s: %v", t.TokenEndpoint, oneLine(err))
	}
	id, _ := tok.Extra("id_token").(string)
	if id == "" {
		return "", fmt.Errorf("the token endpoint returned no id_token: the app client needs the openid scope")
	}
	if got := claim(id, "cognito:username"); got != "" && !strings.EqualFold(got, user) {
		return "", fmt.Errorf("signed in as %q, not %q: sign out in the hosted UI and try again", got, user)
	}
	return id, nil
}

// MachineToken gets a client-credentials access token with golang.org/x/oauth2.
// On AWS the secret is read from Cognito (it is in no output).
func MachineToken(ctx context.Context, t *Target, scopes []string) (string, error) {
	m := t.Machine
	if m.ClientID == "" || t.TokenEndpoint == "" {
		return "", fmt.Errorf("%w: no machine client: redeploy (`make deploy`) or restart `make local`", ErrUsage)
	}
	if m.ClientSecret == "" {
		d, err := t.API.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &t.UserPoolID, ClientId: &m.ClientID})
		if err != nil {
			return "", fmt.Errorf("read the machine client's secret (cognito-idp:DescribeUserPoolClient on %s): %v", m.ClientID, oneLine(err))
		}
		m.ClientSecret, m.Scopes = aws.ToString(d.UserPoolClient.ClientSecret), d.UserPoolClient.AllowedOAuthScopes
	}
	for _, s := range scopes {
		if len(m.Scopes) > 0 && !slices.Contains(m.Scopes, s) {
			return "", fmt.Errorf("%w: %q: the machine client may have %s", ErrScope, s, strings.Join(m.Scopes, ", "))
		}
	}
	cc := clientcredentials.Config{ClientID: m.ClientID, ClientSecret: m.ClientSecret, TokenURL: t.TokenEndpoint, Scopes: scopes, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cc.Token(ctx)
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "invalid_scope":
		return "", fmt.Errorf("%w: %q: the machine client may have %s", ErrScope, strings.Join(scopes, " "), strings.Join(m.Scopes, ", "))
	case errors.As(err, &re):
		return "", fmt.Errorf("token endpoint %s refused: %s %s", t.TokenEndpoint, re.ErrorCode, re.ErrorDescription)
	case err != nil:
		return "", fmt.Errorf("token endpoint %s: %v", t.TokenEndpoint, oneLine(err))
	}
	return tok.AccessToken, nil
}

// Claims decodes a JWT's payload as indented JSON, without verifying it.
func Claims(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("not a JWT: %d parts, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("JWT payload is not base64url: %v", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return "", fmt.Errorf("JWT payload is not JSON: %v", err)
	}
	return out.String(), nil
}

func claim(token, name string) string {
	c, err := Claims(token)
	if err != nil {
		return ""
	}
	var m map[string]any
	json.Unmarshal([]byte(c), &m)
	s, _ := m[name].(string)
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// oneLine keeps an SDK error to its first line.
func oneLine(err error) string {
	if err == nil {
		return "no error"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
