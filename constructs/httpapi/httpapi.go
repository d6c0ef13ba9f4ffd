// Package httpapi is an API Gateway HTTP API whose routes are guarded by a
// JWT authorizer with per-route scopes.
package httpapi

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Route is one GET route behind the JWT authorizer.
type Route struct {
	// ID is the construct id of the route's integration; short and fixed, e.g. "AdminUser".
	ID string
	// Path, e.g. "/AdminUser".
	Path string
	// Handler serves the route.
	Handler awslambda.IFunction
	// Scopes: the token needs at least one. Default: none (any valid token).
	Scopes []string
}

// Props configure the API.
type Props struct {
	// Name of the API. Default: the construct path.
	Name string
	// Issuer the JWT authorizer trusts (iss). Required.
	Issuer string
	// Audience accepted in aud or client_id. Required: give the app client id, never the pool id.
	Audience []string
	// Routes. Required.
	Routes []Route
	// ThrottleRate (requests per second) and ThrottleBurst of the $default stage. Default: 100 and 50.
	ThrottleRate, ThrottleBurst float64
	// CorsOrigins allowed; empty means CORS stays closed. Default: none.
	CorsOrigins []string
	// AccessLogs receives JSON access logs. Required.
	AccessLogs awslogs.ILogGroup
}

// HttpAPI exposes what New made.
type HttpAPI struct {
	constructs.Construct
	Api        awsapigatewayv2.HttpApi
	Stage      awsapigatewayv2.HttpStage
	Authorizer awsapigatewayv2authorizers.HttpJwtAuthorizer
	Routes     map[string][]awsapigatewayv2.HttpRoute
}

// AccessLogFormat is the JSON line API Gateway writes per request.
const AccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","userAgent":"$context.identity.userAgent",` +
	`"requestTime":"$context.requestTime","routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol",` +
	`"responseLength":"$context.responseLength","latency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",` +
	`"authorizerError":"$context.authorizer.error","integrationError":"$context.integrationErrorMessage"}`

// New makes the API, its $default stage, the JWT authorizer and the routes.
func New(scope constructs.Construct, id string, props *Props) *HttpAPI {
	p := *props
	if p.Issuer == "" || len(p.Audience) == 0 || len(p.Routes) == 0 || p.AccessLogs == nil {
		panic(fmt.Sprintf("httpapi %s: Issuer, Audience, Routes and AccessLogs are required", id))
	}
	if p.ThrottleRate == 0 {
		p.ThrottleRate = 100
	}
	if p.ThrottleBurst == 0 {
		p.ThrottleBurst = 50
	}
	c := constructs.NewConstruct(scope, &id)
	apiProps := &awsapigatewayv2.HttpApiProps{CreateDefaultStage: jsii.Bool(false)}
	if p.Name != "" {
		apiProps.ApiName = jsii.String(p.Name)
	}
	if len(p.CorsOrigins) > 0 {
		apiProps.CorsPreflight = &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings(p.CorsOrigins...),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{awsapigatewayv2.CorsHttpMethod_GET},
			AllowHeaders: jsii.Strings("Authorization", "Content-Type"),
			MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
		}
	}
	api := awsapigatewayv2.NewHttpApi(c, jsii.String("Api"), apiProps)
	stage := awsapigatewayv2.NewHttpStage(c, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle:   &awsapigatewayv2.ThrottleSettings{RateLimit: &p.ThrottleRate, BurstLimit: &p.ThrottleBurst},
	})
	cfnStage := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: p.AccessLogs.LogGroupArn(),
		Format:         jsii.String(AccessLogFormat),
	})

	authorizer := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("JwtAuthorizer"), jsii.String(p.Issuer), &awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
		AuthorizerName: jsii.String("JwtAuthorizer"),
		JwtAudience:    jsii.Strings(p.Audience...),
		IdentitySource: jsii.Strings("$request.header.Authorization"),
	})

	routes := map[string][]awsapigatewayv2.HttpRoute{}
	for _, r := range p.Routes {
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
			Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(r.ID), r.Handler, nil),
			Authorizer:  authorizer,
		}
		if len(r.Scopes) > 0 {
			opts.AuthorizationScopes = jsii.Strings(r.Scopes...)
		}
		routes[r.Path] = *api.AddRoutes(opts)
	}
	return &HttpAPI{Construct: c, Api: api, Stage: stage, Authorizer: authorizer, Routes: routes}
}
