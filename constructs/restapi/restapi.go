// Package restapi is the REST PetStore API: a public landing page and the
// /pets resources behind an authorizer, with the request body of
// POST /pets validated by API Gateway before any Lambda runs.
package restapi

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/internal/cors"
)

// Props configure the API.
type Props struct {
	// Name of the API. Default: "PetStore".
	Name string
	// StageName. Default: "prod".
	StageName string
	// Handler serves /pets and /pets/{petId} (proxy integration). Required.
	Handler awslambda.IFunction
	// Authorizer guards /pets and /pets/{petId}, e.g. a jwtauthorizer's REST.
	// Required unless JWT is set.
	Authorizer awsapigateway.IAuthorizer
	// JWT protects the methods with API Gateway's native JWT authorizer
	// instead of Authorizer (exactly one of the two). Default: none.
	JWT *JWTAuthorizer
	// ThrottleRate (requests per second) and ThrottleBurst of the stage. Default: 100 and 50.
	ThrottleRate, ThrottleBurst float64
	// AccessLogs receives JSON access logs. Required.
	AccessLogs awslogs.ILogGroup
	// ExecutionLogRetention of the stage's execution log group, which the
	// construct creates under the name API Gateway writes to. Default: one month.
	ExecutionLogRetention awslogs.RetentionDays
	// CorsOrigins allowed; empty means CORS stays closed. Default: none.
	CorsOrigins []string
	// LandingPage is the HTML of GET /. Default: a short page naming the routes.
	LandingPage string
	// ExistingCloudWatchRole: the account already has API Gateway's
	// CloudWatch role setting, so create neither the role nor the
	// AWS::ApiGateway::Account. Default: false - create both and retain them
	// on destroy, because the setting is account-wide: deleting it would stop
	// every other REST API in the account and region from logging.
	ExistingCloudWatchRole bool
}

// RestAPI exposes what New made.
type RestAPI struct {
	constructs.Construct
	Api        awsapigateway.RestApi
	Authorizer awsapigateway.IAuthorizer
	// JWTAuthorizer is the native JWT authorizer (nil without Props.JWT; Authorizer is nil with it).
	JWTAuthorizer awsapigateway.CfnAuthorizer
	Validator     awsapigateway.RequestValidator
	NewPet        awsapigateway.Model
	// ExecutionLogs is API-Gateway-Execution-Logs_<restApiId>/<stage>.
	ExecutionLogs awslogs.LogGroup
	// Landing is the public GET /; Guarded are the methods behind the authorizer.
	Landing awsapigateway.Method
	Guarded []awsapigateway.Method
	// URL of the stage, without a trailing slash: https://<id>.execute-api.<region>.<suffix>/<stage>.
	URL *string
}

// AccessLogFormat is the JSON line API Gateway writes per request.
const AccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","userAgent":"$context.identity.userAgent",` +
	`"requestTime":"$context.requestTime","method":"$context.httpMethod","resourcePath":"$context.resourcePath","status":"$context.status",` +
	`"protocol":"$context.protocol","responseLength":"$context.responseLength","latency":"$context.responseLatency",` +
	`"integrationLatency":"$context.integrationLatency","principalId":"$context.authorizer.principalId",` +
	`"authorizerError":"$context.authorizer.error","authorizerStatus":"$context.authorizer.status"}`

// BadRequestBodyTemplate is the body of the BAD_REQUEST_BODY gateway response:
// API Gateway's own message plus the model validator's detail, so a client
// reads what was wrong instead of "Invalid request body" alone. Gateway
// response templates are not VTL: API Gateway substitutes the variables.
// $context.error.messageString is already a quoted JSON string; the
// validation string goes inside quotes (API Gateway escapes its quotes, e.g.
// "[object has missing required properties ([\"price\"])]").
const BadRequestBodyTemplate = `{"message":$context.error.messageString,"validationErrors":"$context.error.validationErrorString"}`

// DefaultErrorTemplate is API Gateway's own body of its error responses,
// kept when DEFAULT_4XX and DEFAULT_5XX are customised for their headers.
const DefaultErrorTemplate = `{"message":$context.error.messageString}`

// ExecutionLogGroupPrefix starts the name of the log group API Gateway writes
// a stage's execution logs to: <prefix><restApiId>/<stage>.
const ExecutionLogGroupPrefix = "API-Gateway-Execution-Logs_"

const defaultLanding = `<!doctype html><html><head><title>PetStore</title></head><body><h1>PetStore</h1>` +
	`<p>Send a bearer token to GET /pets, POST /pets and GET /pets/{petId}.</p></body></html>`

// New makes the API, the validator and model, and the methods.
func New(scope constructs.Construct, id string, props *Props) *RestAPI {
	p := *props
	if p.Handler == nil || p.AccessLogs == nil || (p.Authorizer == nil) == (p.JWT == nil) {
		panic(fmt.Sprintf("restapi %s: Handler, AccessLogs and exactly one of Authorizer and JWT are required", id))
	}
	if p.Name == "" {
		p.Name = "PetStore"
	}
	if p.StageName == "" {
		p.StageName = "prod"
	}
	if p.ThrottleRate == 0 {
		p.ThrottleRate = 100
	}
	if p.ThrottleBurst == 0 {
		p.ThrottleBurst = 50
	}
	if p.LandingPage == "" {
		p.LandingPage = defaultLanding
	}
	if p.ExecutionLogRetention == "" {
		p.ExecutionLogRetention = awslogs.RetentionDays_ONE_MONTH
	}
	origins := cors.New(p.CorsOrigins)

	c := constructs.NewConstruct(scope, &id)
	apiProps := &awsapigateway.RestApiProps{
		RestApiName:   jsii.String(p.Name),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// Access and execution logs need the account's API Gateway CloudWatch role.
		CloudWatchRole: jsii.Bool(!p.ExistingCloudWatchRole),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(p.StageName),
			ThrottlingRateLimit:  &p.ThrottleRate,
			ThrottlingBurstLimit: &p.ThrottleBurst,
			LoggingLevel:         awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled:     jsii.Bool(false),
			MetricsEnabled:       jsii.Bool(true),
			TracingEnabled:       jsii.Bool(true),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(p.AccessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(AccessLogFormat)),
		},
	}
	if !p.ExistingCloudWatchRole {
		apiProps.CloudWatchRoleRemovalPolicy = awscdk.RemovalPolicy_RETAIN
	}
	if origins.Enabled() {
		// API Gateway answers the preflight (a mock OPTIONS method); the
		// actual responses carry the headers from the PetStore Lambda
		// (cors.Policy) and from the gateway responses below.
		apiProps.DefaultCorsPreflightOptions = &awsapigateway.CorsOptions{
			AllowOrigins: jsii.Strings(p.CorsOrigins...),
			AllowMethods: jsii.Strings(cors.AllowMethods...),
			AllowHeaders: jsii.Strings(cors.AllowHeaders...),
		}
	}
	api := awsapigateway.NewRestApi(c, jsii.String("Api"), apiProps)
	// The CDK adds an output "<id>Endpoint<hash>" with the stage URL and a
	// trailing slash; callers expose URL (no trailing slash) instead.
	api.Node().TryRemoveChild(jsii.String("Endpoint"))

	// Execution logging (LoggingLevel ERROR) makes API Gateway create
	// API-Gateway-Execution-Logs_{rest-api-id}/{stage_name} itself, with no
	// retention, and cdk destroy would leave it behind. Created here first
	// (the stage depends on it), it has the stack's retention and removal
	// policy. https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-execution-logging.html
	execLogs := awslogs.NewLogGroup(c, jsii.String("ExecutionLogs"), &awslogs.LogGroupProps{
		LogGroupName: awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String(ExecutionLogGroupPrefix), api.RestApiId(), jsii.String("/" + p.StageName)}),
		Retention:    p.ExecutionLogRetention,
	})
	api.DeploymentStage().Node().AddDependency(execLogs)

	authorizer := p.Authorizer
	var jwtAuthorizer awsapigateway.CfnAuthorizer
	if p.JWT != nil {
		jwtAuthorizer = p.JWT.new(c, api)
	}
	validator := api.AddRequestValidator(jsii.String("BodyValidator"), &awsapigateway.RequestValidatorOptions{
		ValidateRequestBody:       jsii.Bool(true),
		ValidateRequestParameters: jsii.Bool(true),
	})
	newPet := api.AddModel(jsii.String("NewPet"), &awsapigateway.ModelOptions{
		ContentType: jsii.String("application/json"),
		ModelName:   jsii.String("NewPet"),
		Schema: &awsapigateway.JsonSchema{
			Schema:               awsapigateway.JsonSchemaVersion_DRAFT4,
			Title:                jsii.String("NewPet"),
			Type:                 awsapigateway.JsonSchemaType_OBJECT,
			Required:             jsii.Strings("type", "price"),
			AdditionalProperties: false,
			Properties: &map[string]*awsapigateway.JsonSchema{
				"type":  {Type: awsapigateway.JsonSchemaType_STRING, MinLength: jsii.Number(1), MaxLength: jsii.Number(64), Pattern: jsii.String("^[A-Za-z]+$")},
				"price": {Type: awsapigateway.JsonSchemaType_NUMBER, Minimum: jsii.Number(0), Maximum: jsii.Number(100000)},
			},
		},
	})

	// Errors API Gateway answers itself (401 from the authorizer, 403, 429,
	// 5xx, a body the model refuses) carry the CORS headers too, or a browser
	// sees a CORS failure instead of the status. DEFAULT_4XX and DEFAULT_5XX
	// cover every response type not customised; a customised type needs its
	// own. A gateway response maps static values or request values copied
	// unchecked, so it gets Access-Control-Allow-Origin only when one value
	// is right for every caller: "*" or a single origin (cors.Policy.Static).
	// https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-gateway-response-using-the-console.html
	var errHeaders *map[string]*string
	if v, ok := origins.Static(); ok {
		errHeaders = &map[string]*string{cors.AllowOrigin: jsii.String("'" + v + "'")}
		for _, d := range []struct {
			id  string
			typ awsapigateway.ResponseType
		}{{"Default4xx", awsapigateway.ResponseType_DEFAULT_4XX()}, {"Default5xx", awsapigateway.ResponseType_DEFAULT_5XX()}} {
			api.AddGatewayResponse(jsii.String(d.id), &awsapigateway.GatewayResponseOptions{
				Type:            d.typ,
				ResponseHeaders: errHeaders,
				Templates:       &map[string]*string{"application/json": jsii.String(DefaultErrorTemplate)},
			})
		}
	}
	api.AddGatewayResponse(jsii.String("BadRequestBody"), &awsapigateway.GatewayResponseOptions{
		Type:            awsapigateway.ResponseType_BAD_REQUEST_BODY(),
		StatusCode:      jsii.String("400"),
		ResponseHeaders: errHeaders,
		Templates:       &map[string]*string{"application/json": jsii.String(BadRequestBodyTemplate)},
	})

	// GET / is public: a mock integration, no Lambda.
	landing := api.Root().AddMethod(jsii.String("GET"), awsapigateway.NewMockIntegration(&awsapigateway.IntegrationOptions{
		PassthroughBehavior: awsapigateway.PassthroughBehavior_NEVER,
		RequestTemplates:    &map[string]*string{"application/json": jsii.String(`{"statusCode": 200}`)},
		IntegrationResponses: &[]*awsapigateway.IntegrationResponse{{
			StatusCode:         jsii.String("200"),
			ResponseParameters: &map[string]*string{"method.response.header.Content-Type": jsii.String("'text/html'")},
			ResponseTemplates:  &map[string]*string{"text/html": jsii.String(p.LandingPage)},
		}},
	}), &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_NONE,
		OperationName:     jsii.String("Landing"),
		MethodResponses: &[]*awsapigateway.MethodResponse{{
			StatusCode:         jsii.String("200"),
			ResponseParameters: &map[string]*bool{"method.response.header.Content-Type": jsii.Bool(true)},
		}},
	})

	integration := awsapigateway.NewLambdaIntegration(p.Handler, &awsapigateway.LambdaIntegrationOptions{
		Proxy:           jsii.Bool(true),
		AllowTestInvoke: jsii.Bool(false),
	})
	guarded := func(op string) *awsapigateway.MethodOptions {
		if p.JWT != nil {
			// JWT.attach sets the authorization (the CDK has no JWT type yet).
			return &awsapigateway.MethodOptions{OperationName: jsii.String(op)}
		}
		// The authorization type is the authorizer's own (CUSTOM for a Lambda authorizer).
		return &awsapigateway.MethodOptions{Authorizer: authorizer, OperationName: jsii.String(op)}
	}
	pets := api.Root().AddResource(jsii.String("pets"), nil)
	list := pets.AddMethod(jsii.String("GET"), integration, guarded("ListPets"))
	post := guarded("CreatePet")
	post.RequestValidator = validator
	post.RequestModels = &map[string]awsapigateway.IModel{"application/json": newPet}
	create := pets.AddMethod(jsii.String("POST"), integration, post)
	pet := pets.AddResource(jsii.String("{petId}"), nil)
	get := guarded("GetPet")
	get.RequestParameters = &map[string]*bool{"method.request.path.petId": jsii.Bool(true)}
	read := pet.AddMethod(jsii.String("GET"), integration, get)
	guardedMethods := []awsapigateway.Method{list, create, read}
	if p.JWT != nil {
		p.JWT.attach(id, api, jwtAuthorizer, guardedMethods)
	}

	url := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("https://"), api.RestApiId(), jsii.String(".execute-api."), awscdk.Aws_REGION(),
		jsii.String("."), awscdk.Aws_URL_SUFFIX(), jsii.String("/"), api.DeploymentStage().StageName(),
	})
	return &RestAPI{Construct: c, Api: api, Authorizer: authorizer, JWTAuthorizer: jwtAuthorizer, Validator: validator, NewPet: newPet, URL: url,
		ExecutionLogs: execLogs, Landing: landing, Guarded: guardedMethods}
}
