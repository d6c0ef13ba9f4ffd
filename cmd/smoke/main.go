// Command smoke runs the end-to-end scenario against a deployed stack: it
// reads the stack outputs, creates the two users through the admin API with
// generated passwords, runs the walk-through, and deletes the users again.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/secure-api-go/apigw-jwt/internal/scope"
	"github.com/secure-api-go/apigw-jwt/local/cognito"
	"github.com/secure-api-go/apigw-jwt/test/e2e"
)

func main() {
	stackName := flag.String("stack", "SecureApiJwt", "CloudFormation stack name")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, *stackName); err != nil {
		fmt.Fprintln(os.Stderr, "smoke:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stackName string) error {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	fmt.Printf("[1/4] reading the outputs of stack %s in %s\n", stackName, cfg.Region)
	desc, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &stackName})
	if err != nil {
		return fmt.Errorf("describe stack %s (deployed with `make deploy`?): %w", stackName, err)
	}
	out := map[string]string{}
	for _, o := range desc.Stacks[0].Outputs {
		out[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	for _, k := range []string{"HttpApiUrl", "RestApiUrl", "UserPoolId", "UserPoolClientId", "Region"} {
		if out[k] == "" {
			return fmt.Errorf("stack output %s is missing", k)
		}
	}
	pool := out["UserPoolId"]
	api := cip.NewFromConfig(cfg)
	suffix := time.Now().Format("150405")
	users := []struct {
		name   string
		groups []string
		creds  e2e.Credentials
	}{{name: "smoke-admin-" + suffix, groups: []string{"admin", "regular"}}, {name: "smoke-regular-" + suffix, groups: []string{"regular"}}}

	fmt.Println("[2/4] creating the two users")
	defer func() {
		fmt.Println("[4/4] deleting the users")
		for _, u := range users {
			if _, err := api.AdminDeleteUser(context.Background(), &cip.AdminDeleteUserInput{UserPoolId: &pool, Username: aws.String(u.name)}); err != nil {
				fmt.Fprintf(os.Stderr, "  could not delete %s: %v\n", u.name, err)
			}
		}
	}()
	for i := range users {
		u := &users[i]
		u.creds = e2e.Credentials{Username: u.name, Password: cognito.Password()}
		if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: &u.name, MessageAction: types.MessageActionTypeSuppress}); err != nil {
			return fmt.Errorf("create %s: %w", u.name, err)
		}
		if _, err := api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &pool, Username: &u.name, Password: &u.creds.Password, Permanent: true}); err != nil {
			return fmt.Errorf("password of %s: %w", u.name, err)
		}
		for _, g := range u.groups {
			if _, err := api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, Username: &u.name, GroupName: aws.String(g)}); err != nil {
				return fmt.Errorf("add %s to %s: %w", u.name, g, err)
			}
		}
	}
	machine, err := machineClient(ctx, api, pool, out)
	if err != nil {
		return err
	}
	fmt.Println("[3/4] running the scenario")
	target := e2e.Target{
		HTTPAPIURL: out["HttpApiUrl"], RESTAPIURL: out["RestApiUrl"], Region: out["Region"], ClientID: out["UserPoolClientId"],
		Admin: users[0].creds, Regular: users[1].creds, AccessTokens: true, Machine: machine,
	}
	if out["RestAuthorizer"] == "jwt" {
		// API Gateway's native JWT authorizer answers a missing scope with its own 403 body.
		target.RESTForbidden = "Forbidden"
	}
	_, ok := e2e.Run(ctx, target, os.Stdout)
	if !ok {
		return fmt.Errorf("the scenario failed")
	}
	return nil
}

// machineClient reads the machine client's secret from Cognito (it is in no
// output) and its resource server from its allowed scopes.
func machineClient(ctx context.Context, api *cip.Client, pool string, out map[string]string) (*e2e.Machine, error) {
	id := out["MachineClientId"]
	if id == "" || out["TokenEndpoint"] == "" {
		return nil, fmt.Errorf("stack outputs MachineClientId and TokenEndpoint are missing: redeploy with `make deploy`")
	}
	d, err := api.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &pool, ClientId: &id})
	if err != nil {
		return nil, fmt.Errorf("read the machine client %s (cognito-idp:DescribeUserPoolClient): %w", id, err)
	}
	m := &e2e.Machine{TokenURL: out["TokenEndpoint"], ClientID: id, ClientSecret: aws.ToString(d.UserPoolClient.ClientSecret)}
	for _, sc := range d.UserPoolClient.AllowedOAuthScopes {
		if rs, ok := strings.CutSuffix(sc, "/"+scope.PetsRead); ok {
			m.ResourceServer = rs
		}
	}
	if m.ClientSecret == "" || m.ResourceServer == "" {
		return nil, fmt.Errorf("machine client %s has no secret or no %s scope: redeploy with `make deploy`", id, scope.PetsRead)
	}
	return m, nil
}
