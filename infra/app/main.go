// Command app is the CDK app's entry point (cdk.json runs it): it reads the
// context, reports every configuration problem at once, and synthesizes the stack.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/infra"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	ctx, ok := app.Node().GetAllContext(nil).(map[string]any)
	if !ok {
		fmt.Fprintf(os.Stderr, "cannot read the CDK context: got %T\n", app.Node().GetAllContext(nil))
		os.Exit(1)
	}
	cfg, err := infra.LoadContext(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "configuration error (fix cdk.json, the -c overrides or make CONTEXT=...):\n%v\n", err)
		os.Exit(1)
	}
	infra.NewStack(app, cfg, &awscdk.StackProps{
		Description: jsii.String("Secure API Gateway with JWTs: Cognito, a scoped HTTP API and the REST PetStore"),
	})
	infra.ApplyNag(app)
	app.Synth(nil)
}
