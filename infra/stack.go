package infra

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/constructs/golambda"
	"github.com/secure-api-go/apigw-jwt/constructs/httpapi"
	"github.com/secure-api-go/apigw-jwt/constructs/jwksseed"
	"github.com/secure-api-go/apigw-jwt/constructs/jwtauthorizer"
	"github.com/secure-api-go/apigw-jwt/constructs/monitoring"
	"github.com/secure-api-go/apigw-jwt/constructs/pettable"
	"github.com/secure-api-go/apigw-jwt/constructs/restapi"
	"github.com/secure-api-go/apigw-jwt/constructs/userpool"
	"github.com/secure-api-go/apigw-jwt/internal/cors"
	"github.com/secure-api-go/apigw-jwt/internal/metrics"
	"github.com/secure-api-go/apigw-jwt/internal/petdata"
	"github.com/secure-api-go/apigw-jwt/internal/scope"
)

// Stack exposes the parts, for tests and for extension.
type Stack struct {
	awscdk.Stack
	UserPool   *userpool.UserPool
	HTTP       *httpapi.HttpAPI
	REST       *restapi.RestAPI
	Table      *pettable.PetTable
	Functions  map[string]*golambda.GoLambda
	Monitoring *monitoring.Monitoring
	AdminScope string
	// Authorizer guards the REST PetStore; its Seed fills the keys (JWKS_JSON,
	// or ISSUERS with extraIssuers) at deploy time. Both nil with
	// restAuthorizer=jwt (API Gateway's native JWT authorizer, no Lambda).
	Authorizer *jwtauthorizer.Authorizer
	// Seed is Authorizer.Seed.
	Seed *jwksseed.Seed

	authIssuer string
}

// Output keys of the stack; `make smoke` and the README read them.
const (
	OutHTTPAPIURL       = "HttpApiUrl"
	OutRESTAPIURL       = "RestApiUrl"
	OutUserPoolID       = "UserPoolId"
	OutClientID         = "UserPoolClientId"
	OutIssuer           = "Issuer"
	OutJWKSURI          = "JwksUri"
	OutHostedUILogin    = "HostedUiLoginUrl"
	OutTokenEndpoint    = "TokenEndpoint"
	OutRegion           = "Region"
	OutTableName        = "PetTableName"
	OutAuthorizerIssuer = "AuthorizerIssuer"
	OutMachineClientID  = "MachineClientId"
	OutRESTAuthorizer   = "RestAuthorizer"
)

// NewStack composes identity, the HTTP API and the REST PetStore as one stack.
func NewStack(scopeC constructs.Construct, cfg *Config, props *awscdk.StackProps) *Stack {
	stack := awscdk.NewStack(scopeC, jsii.String(cfg.StackName), props)
	s := &Stack{Stack: stack, Functions: map[string]*golambda.GoLambda{}}
	applyTags(stack, cfg.StackName)
	retention := retentionDays(cfg.LogRetentionDays)
	fn := func(id, name, desc string, env map[string]*string, reserved float64) *golambda.GoLambda {
		f := golambda.New(stack, id, &golambda.Props{Name: name, Description: desc, Environment: env, LogRetention: retention, ReservedConcurrency: reserved})
		s.Functions[name] = f
		return f
	}

	// Users: the Cognito user pool.
	pretoken := fn("PreTokenFn", "pretoken", "Cognito pre token generation: groups to scopes <group>-<clientId>", nil, 0)
	domainPrefix := jsii.String(cfg.DomainPrefix)
	if cfg.DomainPrefix == "" {
		// Unique per account, valid for Cognito: <stack name, lower case>-<account id>.
		domainPrefix = awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String(strings.ToLower(cfg.StackName)), awscdk.Aws_ACCOUNT_ID()})
	}
	s.UserPool = userpool.New(stack, "UserPool", &userpool.Props{
		SelfSignUp:         cfg.SelfSignUp,
		MFA:                cfg.MFA,
		FeaturePlan:        cfg.FeaturePlan,
		ThreatProtection:   cfg.ThreatProtection,
		CallbackURLs:       cfg.CallbackURLs,
		LogoutURLs:         cfg.LogoutURLs,
		DomainPrefix:       *domainPrefix,
		Groups:             []userpool.Group{{Name: scope.AdminGroup, Precedence: 0, Description: "Administrators: scope admin-<clientId>"}, {Name: scope.RegularGroup, Precedence: 1, Description: "Regular users: scope regular-<clientId>"}},
		AccessTokenMinutes: cfg.AccessTokenMinutes,
		IDTokenMinutes:     cfg.IDTokenMinutes,
		RefreshTokenDays:   cfg.RefreshTokenDays,
		PreTokenGeneration: pretoken.Function,
		DeletionProtection: cfg.DeletionProtection,
		ResourceServerID:   cfg.ResourceServerID,
	})
	clientID := *s.UserPool.Client.UserPoolClientId()
	issuer := *s.UserPool.Pool.UserPoolProviderUrl()
	scopeClient := clientID
	if cfg.ScopeClientID != "" {
		scopeClient = cfg.ScopeClientID
	}
	s.AdminScope = scope.For(scope.AdminGroup, scopeClient)
	regularScope := scope.For(scope.RegularGroup, scopeClient)
	// Machine tokens are access tokens: no aud, their client_id is the machine client.
	machineClientID := *s.UserPool.MachineClient.UserPoolClientId()

	// HTTP API behind the JWT authorizer.
	httpIssuer, httpAudience := issuer, []string{clientID, machineClientID}
	if cfg.JWTIssuer != "" {
		httpIssuer, httpAudience = cfg.JWTIssuer, cfg.JWTAudience
	}
	s.HTTP = httpapi.New(stack, "HttpApi", &httpapi.Props{
		Name:     cfg.StackName + "-http",
		Issuer:   httpIssuer,
		Audience: httpAudience,
		Routes: []httpapi.Route{
			{ID: "AdminUser", Path: "/AdminUser", Scopes: []string{s.AdminScope},
				Handler: fn("AdminUserFn", "adminuser", "GET /AdminUser", nil, 0).Function},
			{ID: "RegularUser", Path: "/RegularUser", Scopes: []string{regularScope},
				Handler: fn("RegularUserFn", "regularuser", "GET /RegularUser", nil, 0).Function},
			{ID: "Claims", Path: "/claims",
				Handler: fn("ClaimsFn", "claims", "GET /claims: the caller's claims", nil, 0).Function},
		},
		ThrottleRate:  cfg.HTTPThrottleRate,
		ThrottleBurst: cfg.HTTPThrottleBurst,
		CorsOrigins:   cfg.CorsOrigins,
		AccessLogs:    awslogs.NewLogGroup(stack, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{Retention: retention}),
	})

	// REST PetStore behind the TOKEN authorizer.
	s.Table = pettable.New(stack, "PetTable", &pettable.Props{LogRetention: retention})
	petstore := fn("PetStoreFn", "petstore", "REST PetStore /pets", map[string]*string{
		"TABLE_NAME":  s.Table.Table.TableName(),
		"ADMIN_SCOPE": jsii.String(s.AdminScope),
		// RESOURCE_SERVER lets the PetStore name the machine scopes (createdBy visibility).
		"RESOURCE_SERVER": jsii.String(cfg.ResourceServerID),
		// EMF metrics go to a namespace named after the stack.
		metrics.EnvNamespace: jsii.String(cfg.StackName),
	}, 0)
	if len(cfg.CorsOrigins) > 0 {
		// The PetStore answers allowed origins itself (proxy integration).
		petstore.Function.AddEnvironment(jsii.String(cors.EnvOrigins), jsii.String(cors.Join(cfg.CorsOrigins)), nil)
	}
	// Exactly the calls the store makes: item calls on the table, queries on its two indexes.
	tableArn := *s.Table.Table.TableArn()
	petstore.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
		Resources: jsii.Strings(tableArn),
	}))
	petstore.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:Query"),
		Resources: jsii.Strings(tableArn+"/index/"+petdata.ByType, tableArn+"/index/"+petdata.ByKind),
	}))

	authorizer, native := s.petStoreAuthorizer(cfg, retention)
	s.REST = restapi.New(stack, "PetStoreApi", &restapi.Props{
		// REST API metrics are keyed by API name: one per stack, so two stacks in a
		// region do not share alarms.
		Name:                  cfg.StackName + "-rest",
		StageName:             cfg.RESTStageName,
		Handler:               petstore.Function,
		Authorizer:            authorizer,
		JWT:                   native,
		ThrottleRate:          cfg.RESTThrottleRate,
		ThrottleBurst:         cfg.RESTThrottleBurst,
		CorsOrigins:           cfg.CorsOrigins,
		AccessLogs:            awslogs.NewLogGroup(stack, jsii.String("RestApiAccessLogs"), &awslogs.LogGroupProps{Retention: retention}),
		ExecutionLogRetention: retention,

		// The account-wide API Gateway logging role: created and retained, or the account's own.
		ExistingCloudWatchRole: cfg.APIGatewayCloudWatchRole == "existing",
	})

	fns := map[string]awslambda.IFunction{}
	for name, f := range s.Functions {
		fns[name] = f.Function
	}
	s.Monitoring = monitoring.New(stack, "Monitoring", &monitoring.Props{
		// Dashboard names are account-wide, not per region: name it per region
		// too, or the same stack in a second region fails to deploy.
		DashboardName: *awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String(cfg.StackName), awscdk.Aws_REGION()}),
		HTTPAPI:       s.HTTP.Api,
		RESTAPI:       s.REST.Api,
		Authorizer:    s.authorizerFunction(), // nil with restAuthorizer=jwt: no authorizer alarms
		Functions:     fns,
		Table:         s.Table.Table,
		AlarmEmail:    cfg.AlarmEmail,

		// The functions' EMF metrics (their METRICS_NAMESPACE).
		MetricsNamespace: cfg.StackName,
	})

	// One place decides what survives `cdk destroy`.
	awscdk.Aspects_Of(stack).Add(NewRemovalPolicy(cfg.RemovalPolicy), nil)

	out := func(key, desc string, value *string) {
		awscdk.NewCfnOutput(stack, jsii.String(key), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(desc)})
	}
	out(OutHTTPAPIURL, "HTTP API base URL: GET /AdminUser, /RegularUser, /claims", s.HTTP.Api.ApiEndpoint())
	out(OutRESTAPIURL, "REST PetStore URL (with stage): GET /, GET|POST /pets, GET /pets/{petId}", s.REST.URL)
	out(OutUserPoolID, "Cognito user pool id", s.UserPool.Pool.UserPoolId())
	out(OutClientID, "App client id (public, no secret)", s.UserPool.Client.UserPoolClientId())
	out(OutIssuer, "Token issuer (iss)", jsii.String(issuer))
	out(OutJWKSURI, "JWKS URL of the issuer", jsii.String(issuer+"/.well-known/jwks.json"))
	out(OutAuthorizerIssuer, "Issuer the REST authorizer trusts", jsii.String(s.authIssuer))
	out(OutHostedUILogin, "Hosted UI sign-in (authorization code grant)", s.UserPool.Domain.SignInUrl(s.UserPool.Client, &awscognito.SignInUrlOptions{RedirectUri: jsii.String(cfg.CallbackURLs[0])}))
	out(OutRESTAuthorizer, "How the REST API checks tokens: lambda (our TOKEN authorizer) or jwt (API Gateway's native JWT authorizer)", jsii.String(cfg.RESTAuthorizer))
	out(OutMachineClientID, "Machine client id (client credentials; read its secret with describe-user-pool-client)", s.UserPool.MachineClient.UserPoolClientId())
	out(OutTokenEndpoint, "OAuth2 token endpoint", jsii.String(*s.UserPool.Domain.BaseUrl(nil)+"/oauth2/token"))
	out(OutRegion, "Region", awscdk.Aws_REGION())
	out(OutTableName, "PetStore DynamoDB table", s.Table.Table.TableName())
	s.ApplySuppressions(cfg)
	return s
}

// petStoreAuthorizer makes the REST PetStore's authorizer: the one place
// that chooses how /pets is protected - our Lambda authorizer (the
// jwtauthorizer construct) or, with restAuthorizer=jwt, API Gateway's
// native JWT authorizer from the same issuers and rules. The pool's app
// client (and the machine client) are trusted, or the authIssuer of the
// context; then the extraIssuers.
func (s *Stack) petStoreAuthorizer(cfg *Config, retention awslogs.RetentionDays) (awsapigateway.IAuthorizer, *restapi.JWTAuthorizer) {
	pool := s.UserPool
	clientID, machineClientID := *pool.Client.UserPoolClientId(), *pool.MachineClient.UserPoolClientId()
	own, userAudiences := restIssuer(cfg, *pool.Pool.UserPoolProviderUrl(), clientID, machineClientID)
	s.authIssuer = own.Issuer
	rules := AuthorizerRules(s.AdminScope, userAudiences, cfg.ResourceServerID)
	if cfg.RESTAuthorizer == RESTAuthorizerJWT {
		return nil, mustNativeJWT(cfg, rules, own, machineClientID, pool.MachineScopes)
	}

	issuer := jwtauthorizer.Issuer{UserPool: pool.Pool, Clients: []awscognito.IUserPoolClient{pool.Client, pool.MachineClient}, TokenUse: cfg.AuthTokenUse}
	if cfg.AuthIssuer != "" {
		issuer = jwtauthorizer.Issuer{URL: cfg.AuthIssuer, JWKSURI: cfg.AuthJWKSURI, Audiences: cfg.AuthAudience, TokenUse: cfg.AuthTokenUse}
	}
	issuers := []jwtauthorizer.Issuer{issuer}
	for _, is := range cfg.ExtraIssuers {
		issuers = append(issuers, jwtauthorizer.Issuer{URL: is.Issuer, JWKSURI: is.JWKSURI, Audiences: is.Audiences, TokenUse: is.TokenUse, Algorithms: is.Algorithms})
	}
	ttl := cfg.RESTAuthorizerTTL
	s.Authorizer = jwtauthorizer.New(s.Stack, "Authorizer", &jwtauthorizer.Props{
		Issuers:             issuers,
		Rules:               rules,
		ResultTTLSeconds:    &ttl,
		ReservedConcurrency: cfg.AuthorizerReservedConcurrency,
		LogRetention:        retention,
		// EMF metrics go to a namespace named after the stack.
		MetricsNamespace: cfg.StackName,
	})
	s.Functions["authorizer"] = s.Authorizer.Lambda
	s.Seed = s.Authorizer.Seed
	s.Functions["jwksseed"] = s.Seed.Lambda
	return s.Authorizer.REST, nil
}

// authorizerFunction is the REST authorizer's function, nil without one.
func (s *Stack) authorizerFunction() awslambda.IFunction {
	if s.Authorizer == nil {
		return nil
	}
	return s.Authorizer.Lambda.Function
}

// Rule is one allow-list entry (the jwtauthorizer construct's rule).
type Rule = jwtauthorizer.Rule

// AuthorizerRules is the REST authorizer's allow-list: reading pets is for
// the user-facing audiences (the app client, or an external authIssuer's
// authAudience values) and for machine tokens with the resource server's
// pets.read or pets.write; creating one needs the admin group's scope or
// pets.write. Nothing else is granted.
func AuthorizerRules(adminScope string, userAudiences []string, resourceServer string) []Rule {
	read := []string{scope.Resource(resourceServer, scope.PetsRead), scope.Resource(resourceServer, scope.PetsWrite)}
	return []Rule{
		{Method: "GET", Resource: "/pets", Clients: userAudiences, Scopes: read},
		{Method: "GET", Resource: "/pets/{petId}", Clients: userAudiences, Scopes: read},
		{Method: "POST", Resource: "/pets", Scopes: []string{adminScope, scope.Resource(resourceServer, scope.PetsWrite)}},
	}
}

func retentionDays(days int) awslogs.RetentionDays {
	m := map[int]awslogs.RetentionDays{
		1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
		7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
		60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
		150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
		400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
		1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
		2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
		3653: awslogs.RetentionDays_TEN_YEARS,
	}
	if r, ok := m[days]; ok {
		return r
	}
	return awslogs.RetentionDays_ONE_MONTH
}
