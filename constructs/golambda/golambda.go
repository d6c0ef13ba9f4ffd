// Package golambda is the one place that says how a Go Lambda is built and
// run in this project: custom runtime on provided.al2023, arm64, JSON logs to
// a log group with retention, X-Ray tracing and short timeouts.
package golambda

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
)

// ModulePath is this module's path: ModulePath + "/lambdas/<name>" is the
// import path (Props.Package) of one of its Lambdas.
const ModulePath = "github.com/secure-api-go/apigw-jwt"

// Props configure one Go Lambda.
type Props struct {
	// Name is the folder under lambdas/ holding the function's main package. Required.
	Name string
	// Package is the import path of the main package to build instead of
	// ./lambdas/<Name>, e.g. "github.com/secure-api-go/apigw-jwt/lambdas/authorizer".
	// It is built from ModuleRoot, so the version ModuleRoot's go.mod requires
	// is what runs: this is how a construct ships a Lambda of this module to
	// another module's stack. Default: ./lambdas/<Name>.
	Package string
	// Description shown in the Lambda console. Default: none.
	Description string
	// Environment variables. Default: none.
	Environment map[string]*string
	// TimeoutSeconds. Default: 5.
	TimeoutSeconds float64
	// MemoryMiB. Default: 128 (Go handlers here use a few MiB).
	MemoryMiB float64
	// ReservedConcurrency caps concurrent executions; 0 means unreserved. Default: 0.
	ReservedConcurrency float64
	// LogRetention of the function's log group. Default: one month.
	LogRetention awslogs.RetentionDays
	// RemovalPolicy of the log group. Default: DESTROY, so `cdk destroy` leaves nothing.
	RemovalPolicy awscdk.RemovalPolicy
	// ModuleRoot is the Go module root to build from. Default: found by walking up from the working directory.
	ModuleRoot string
}

// GoLambda exposes what New made.
type GoLambda struct {
	constructs.Construct
	Function awslambda.Function
	LogGroup awslogs.LogGroup
	Role     awsiam.Role
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// New builds lambdas/<Name> into a bootstrap binary (at synth time, locally,
// no Docker needed) and wraps it in a Function with the project defaults.
func New(scope constructs.Construct, id string, props *Props) *GoLambda {
	if props == nil || !nameRE.MatchString(props.Name) {
		panic(fmt.Sprintf("golambda %s: Name must be the folder of a main package under lambdas/ (lower-case, e.g. \"authorizer\"), got %+v", id, props))
	}
	p := *props
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 5
	}
	if p.MemoryMiB == 0 {
		p.MemoryMiB = 128
	}
	if p.LogRetention == "" {
		p.LogRetention = awslogs.RetentionDays_ONE_MONTH
	}
	if p.RemovalPolicy == "" {
		p.RemovalPolicy = awscdk.RemovalPolicy_DESTROY
	}
	if p.ModuleRoot == "" {
		wd, _ := os.Getwd()
		root, err := gobuild.ModuleRoot(wd)
		if err != nil {
			panic(fmt.Sprintf("golambda %s: %v", id, err))
		}
		p.ModuleRoot = root
	}
	pkg := p.Package
	if pkg == "" {
		pkg = "./lambdas/" + p.Name
		if _, err := os.Stat(filepath.Join(p.ModuleRoot, "lambdas", p.Name, "main.go")); err != nil {
			panic(fmt.Sprintf("golambda %s: no main.go in %s under %s: %v", id, pkg, p.ModuleRoot, err))
		}
	}

	c := constructs.NewConstruct(scope, &id)
	logGroup := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     p.LogRetention,
		RemovalPolicy: p.RemovalPolicy,
	})
	// Its own role with an inline policy for its own log group: no managed
	// policy, no logs:* on every group in the account.
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Runs " + pkg),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logGroup.LogGroupArn()),
	}))
	fnProps := &awslambda.FunctionProps{
		Role:          role,
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          Code(p.ModuleRoot, pkg),
		Timeout:       awscdk.Duration_Seconds(&p.TimeoutSeconds),
		MemorySize:    &p.MemoryMiB,
		Tracing:       awslambda.Tracing_ACTIVE,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		LogGroup:      logGroup,
		Environment:   &p.Environment,
	}
	if p.Description != "" {
		fnProps.Description = jsii.String(p.Description)
	}
	if p.ReservedConcurrency > 0 {
		fnProps.ReservedConcurrentExecutions = &p.ReservedConcurrency
	}
	fn := awslambda.NewFunction(c, jsii.String("Function"), fnProps)
	// The local run builds this package for the host from the template alone.
	fn.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String(gobuild.MetadataGoPackage), jsii.String(pkg))
	return &GoLambda{Construct: c, Function: fn, LogGroup: logGroup, Role: role}
}

// Code is the asset for a main package. Its hash is the hash of the built
// output (AssetHashType OUTPUT): reproducible builds make it change exactly
// when the compiled code changes - a shared package counts, a README does not.
// Bundling runs `go build` on this machine; without a Go toolchain it falls
// back to the same build in the official golang image. Both use the Go
// release go.mod pins (gobuild.Toolchain) and gobuild's flags and
// environment, so a laptop and CI make the same bytes and the same hash.
func Code(moduleRoot, pkg string) awslambda.Code {
	toolchain, err := gobuild.Toolchain(moduleRoot)
	if err != nil {
		panic(fmt.Sprintf("golambda %s: %v", pkg, err))
	}
	env := map[string]*string{
		"GOOS": jsii.String("linux"), "GOARCH": jsii.String("arm64"),
		"GOCACHE": jsii.String("/tmp/go-cache"), "GOPATH": jsii.String("/tmp/go"),
	}
	for _, kv := range gobuild.Env(toolchain, "arm64") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = jsii.String(v)
	}
	cmd := "go build " + quoteArgs(gobuild.Flags) + " -o /asset-output/bootstrap " + pkg
	return awslambda.Code_FromAsset(&moduleRoot, &awss3assets.AssetOptions{
		AssetHashType: awscdk.AssetHashType_OUTPUT,
		Bundling: &awscdk.BundlingOptions{
			Image:       awscdk.DockerImage_FromRegistry(jsii.String("public.ecr.aws/docker/library/golang:" + strings.TrimPrefix(toolchain, "go"))),
			Command:     jsii.Strings("bash", "-c", cmd),
			Environment: &env,
			Local:       &localBundler{root: moduleRoot, pkg: pkg},
		},
	})
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// localBundler implements awscdk.ILocalBundling through jsii callbacks.
type localBundler struct{ root, pkg string }

// TryBundle builds into outputDir. It reports false (use Docker) only when
// there is no Go toolchain; a compile error stops the synth with the compiler's message.
func (b *localBundler) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	if _, err := exec.LookPath("go"); err != nil {
		fmt.Fprintf(os.Stderr, "golambda: no go toolchain on PATH, falling back to Docker bundling for %s\n", b.pkg)
		return jsii.Bool(false)
	}
	if _, err := gobuild.Build(gobuild.Options{Dir: b.root, Package: b.pkg, OutDir: *outputDir}); err != nil {
		if !strings.HasPrefix(b.pkg, "./") {
			// A Lambda of another module needs its dependencies in this module's go.sum.
			panic(fmt.Errorf("%w\nif go.sum entries are missing, run `go get -tool %s` in %s", err, b.pkg, b.root))
		}
		panic(err)
	}
	return jsii.Bool(true)
}
