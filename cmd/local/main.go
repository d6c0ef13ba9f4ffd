// Command local runs the whole system on this machine from cdk.out: no AWS
// account needed. It prints the endpoints and the walk-through, and stays up
// until Ctrl-C (SIGINT) or SIGTERM, then stops every process it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/template"
	"time"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
	"github.com/secure-api-go/apigw-jwt/local/stack"
)

func main() {
	var o stack.Options
	flag.IntVar(&o.Ports.HTTPAPI, "http-port", 8080, "HTTP API port (0: any free port)")
	flag.IntVar(&o.Ports.RESTAPI, "rest-port", 8081, "REST PetStore API port")
	flag.IntVar(&o.Ports.Cognito, "cognito-port", 9229, "cognito-local port")
	flag.IntVar(&o.Ports.DynamoDB, "dynamodb-port", 8000, "dynalite port")
	flag.IntVar(&o.Ports.Lambda, "lambda-port", 9001, "Lambda Invoke API port")
	flag.IntVar(&o.Ports.Token, "token-port", 9230, "OAuth2 token endpoint port (client credentials)")
	flag.StringVar(&o.CDKOut, "cdk-out", "", "directory of the synthesized template (default: cdk.out)")
	flag.StringVar(&o.StateDir, "state-dir", "", "directory for logs, binaries, endpoints.json and the lock (default: .local)")
	contextFlag := flag.String("context", "", `cdk context for the synth, "key=value key2=value2" (make local CONTEXT=...); cdk.out made with another context is synthesized again`)
	synthMode := flag.String("synth", "auto", "auto: synthesize cdk.out when a Go file, go.mod, cdk.json or package.json is newer; always; never")
	flag.Parse()

	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		fail(err)
	}
	o.ModuleRoot = root
	o.Progress = os.Stdout
	if o.CDKOut == "" {
		o.CDKOut = filepath.Join(root, "cdk.out")
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(root, ".local")
	}

	// If whoever started us (make) dies without a signal reaching us, stop too.
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	pairs, err := parseContext(*contextFlag)
	if err != nil {
		fail(err)
	}
	// Seconds of checks before minutes of synth and builds.
	if err := preflight(o.StateDir, []portFlag{
		{"http-port", "HTTP API", o.Ports.HTTPAPI}, {"rest-port", "REST API", o.Ports.RESTAPI},
		{"cognito-port", "cognito-local", o.Ports.Cognito}, {"dynamodb-port", "dynalite", o.Ports.DynamoDB},
		{"lambda-port", "Lambda Invoke API", o.Ports.Lambda}, {"token-port", "OAuth2 token endpoint", o.Ports.Token},
	}, os.Args[1:], os.Stdout); err != nil {
		fail(err)
	}
	reason := "-synth always"
	switch *synthMode {
	case "auto":
		if reason, err = staleReason(root, o.CDKOut, pairs); err != nil {
			fail(err)
		}
	case "always":
	case "never":
		reason = ""
	default:
		fail(fmt.Errorf("-synth %q: want auto, always or never", *synthMode))
	}
	if reason == "" && *synthMode == "never" {
		fmt.Printf("Using %s as it is (-synth never)\n", o.CDKOut)
		if r, err := contextReason(o.CDKOut, pairs); err == nil && r != "" {
			fmt.Printf("  note: %s\n", r)
		}
	} else if reason == "" {
		fmt.Printf("cdk.out is up to date (made with this CONTEXT, newer than every Go file, go.mod, go.sum, cdk.json and package.json): no synth needed\n")
	} else {
		fmt.Printf("Synthesizing %s (%s) with the pinned cdk CLI: the first run on a machine compiles the AWS CDK Go module and takes a few minutes, later runs about a minute\n", o.CDKOut, reason)
		if err := synth(ctx, root, o.CDKOut, pairs, os.Stdout); err != nil {
			fail(err)
		}
	}
	s, err := stack.Start(ctx, o)
	if err != nil {
		fail(err)
	}
	if err := walkthrough.Execute(os.Stdout, s.Endpoints); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Printf("Endpoints: %s\nLogs:      %s/\nStop with Ctrl-C.\n", s.EndpointsFile, filepath.Join(o.StateDir, "logs"))
	<-ctx.Done()
	fmt.Println("\nstopping...")
	done := make(chan struct{})
	go func() { s.Stop(); close(done) }()
	select {
	case <-done:
		fmt.Println("stopped: every process this run started has exited")
	case <-time.After(9 * time.Second):
		fmt.Fprintln(os.Stderr, "some processes did not stop in time")
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "make local:", err)
	os.Exit(1)
}

var walkthrough = template.Must(template.New("w").Parse(`
The stack is running on this machine.

  HTTP API   {{.HTTPAPIURL}}
  REST API   {{.RESTAPIURL}}
  Cognito    {{.CognitoEndpoint}}   pool {{.UserPoolID}}   client {{.ClientID}}
  Issuer     {{.Issuer}}
{{with .MachineClient}}  Machine    client {{.ClientID}}   scopes {{.Scopes}}   token endpoint {{$.TokenEndpoint}}
{{end}}{{range .Users}}  User       {{.Username}} / {{.Password}}   groups {{.Groups}}
{{end}}
Walk-through (copy and paste into another terminal):

  # 1. Log in (Cognito InitiateAuth, USER_PASSWORD_AUTH) and keep the ID tokens
  login() { curl -s {{.CognitoEndpoint}} -H 'Content-Type: application/x-amz-json-1.1' \
      -H 'X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth' \
      -d "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":\"{{.ClientID}}\",\"AuthParameters\":{\"USERNAME\":\"$1\",\"PASSWORD\":\"$2\"}}" \
      | sed -E 's/.*"IdToken":"([^"]+)".*/\1/'; }
{{range .Users}}  {{if eq .Username "adminuser"}}ADMIN{{else}}REGULAR{{end}}=$(login {{.Username}} '{{.Password}}')
{{end}}
  # 2. HTTP API: no token 401, wrong scope 403, right scope 200
  curl -si -w '\n' {{.HTTPAPIURL}}/RegularUser
  curl -si -w '\n' -H "Authorization: Bearer $REGULAR" {{.HTTPAPIURL}}/RegularUser
  curl -si -w '\n' -H "Authorization: Bearer $REGULAR" {{.HTTPAPIURL}}/AdminUser
  curl -si -w '\n' -H "Authorization: Bearer $ADMIN"   {{.HTTPAPIURL}}/AdminUser
  curl -s -w '\n' -H "Authorization: Bearer $ADMIN"   {{.HTTPAPIURL}}/claims

  # 3. REST PetStore: public landing page, then the pets behind the authorizer (our TOKEN authorizer, or API Gateway's JWT authorizer with restAuthorizer=jwt)
  curl -si -w '\n' {{.RESTAPIURL}}/
  curl -s -w '\n' -H "Authorization: Bearer $REGULAR" {{.RESTAPIURL}}/pets
  curl -si -w '\n' -H "Authorization: Bearer $REGULAR" -H 'Content-Type: application/json' -d '{"type":"dog","price":249.99}' {{.RESTAPIURL}}/pets
  curl -si -w '\n' -H "Authorization: Bearer $ADMIN"   -H 'Content-Type: application/json' -d '{"type":"dog","price":249.99}' {{.RESTAPIURL}}/pets
  curl -s -w '\n' -H "Authorization: Bearer $REGULAR" {{.RESTAPIURL}}/pets/4
{{with .MachineClient}}
  # 4. Machine to machine: client credentials at the token endpoint (or: make token CLIENT=machine SCOPE=...)
  mtoken() { curl -s -u '{{.ClientID}}:{{.ClientSecret}}' -d grant_type=client_credentials -d "scope=$1" {{$.TokenEndpoint}} \
      | sed -E 's/.*"access_token":"([^"]+)".*/\1/'; }
  READ=$(mtoken {{index .Scopes 0}})
  WRITE=$(mtoken {{index .Scopes 1}})
  curl -s -w '\n' -H "Authorization: Bearer $READ"  {{$.RESTAPIURL}}/pets
  curl -si -w '\n' -H "Authorization: Bearer $READ"  -H 'Content-Type: application/json' -d '{"type":"bird","price":7.5}' {{$.RESTAPIURL}}/pets
  curl -si -w '\n' -H "Authorization: Bearer $WRITE" -H 'Content-Type: application/json' -d '{"type":"bird","price":7.5}' {{$.RESTAPIURL}}/pets
  curl -si -w '\n' -H "Authorization: Bearer $READ"  {{$.HTTPAPIURL}}/AdminUser
  curl -s -w '\n' -H "Authorization: Bearer $READ"  {{$.HTTPAPIURL}}/claims
{{end}}

`))
