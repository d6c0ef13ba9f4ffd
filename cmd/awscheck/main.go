// Command awscheck stops make deploy, diff, destroy and smoke in a second,
// with one line naming AWS_PROFILE and AWS_REGION, when no AWS credentials or
// no region are configured - instead of after minutes of synth with an SDK
// stack trace. It reads the environment and the shared config files only:
// no network call.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
)

func main() {
	target := "this target"
	if len(os.Args) > 1 {
		target = "make " + os.Args[1]
	}
	if err := check(context.Background(), os.Getenv); err != nil {
		fmt.Fprintf(os.Stderr, "%s needs an AWS account: %v\n", target, err)
		os.Exit(1)
	}
}

// ErrNoAWS is what check reports, wrapped with what is missing.
var ErrNoAWS = errors.New("no AWS")

// check finds a region and a credential source the CLI and SDKs would use:
// environment keys, a container or web-identity role, or a profile
// (AWS_PROFILE, else default) with keys, SSO, a credential process or a role
// in ~/.aws/config or ~/.aws/credentials (or AWS_CONFIG_FILE,
// AWS_SHARED_CREDENTIALS_FILE). An EC2 instance role cannot be seen without a
// network call: set AWS_REGION there and AWS_CHECK=off.
func check(ctx context.Context, env func(string) string) error {
	profile := env("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	files := func(envName, def string) []string {
		if f := env(envName); f != "" {
			return []string{f}
		}
		return []string{def}
	}
	shared, err := config.LoadSharedConfigProfile(ctx, profile, func(o *config.LoadSharedConfigOptions) {
		o.ConfigFiles = files("AWS_CONFIG_FILE", config.DefaultSharedConfigFilename())
		o.CredentialsFiles = files("AWS_SHARED_CREDENTIALS_FILE", config.DefaultSharedCredentialsFilename())
	})
	var missing config.SharedConfigProfileNotExistError
	switch {
	case errors.As(err, &missing):
		if env("AWS_PROFILE") != "" {
			return fmt.Errorf("%w profile: AWS_PROFILE=%s is not in ~/.aws/config or ~/.aws/credentials (aws configure --profile %s, or aws configure sso)", ErrNoAWS, profile, profile)
		}
	case err != nil:
		return fmt.Errorf("%w: reading the AWS config files: %v", ErrNoAWS, err)
	}

	creds := env("AWS_ACCESS_KEY_ID") != "" && env("AWS_SECRET_ACCESS_KEY") != "" ||
		env("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "" || env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "" ||
		env("AWS_WEB_IDENTITY_TOKEN_FILE") != "" && env("AWS_ROLE_ARN") != "" ||
		shared.Credentials.HasKeys() || shared.SSOSessionName != "" || shared.SSOStartURL != "" ||
		shared.CredentialProcess != "" || shared.RoleARN != "" || shared.WebIdentityTokenFile != ""
	region := env("AWS_REGION") != "" || env("AWS_DEFAULT_REGION") != "" || shared.Region != ""
	switch {
	case !creds && !region:
		return fmt.Errorf("%w credentials or region: set AWS_PROFILE to a configured profile (aws configure, or aws configure sso) and AWS_REGION, e.g. AWS_PROFILE=dev AWS_REGION=eu-west-1", ErrNoAWS)
	case !creds:
		return fmt.Errorf("%w credentials for profile %s: set AWS_PROFILE to a configured profile (aws configure, or aws configure sso), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", ErrNoAWS, profile)
	case !region:
		return fmt.Errorf("%w region: set AWS_REGION (e.g. AWS_REGION=eu-west-1), or region in profile %s of ~/.aws/config", ErrNoAWS, profile)
	}
	return nil
}
