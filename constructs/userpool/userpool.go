// Package userpool is the identity part of the stack: a Cognito user pool
// with a public app client, a hosted-UI domain, groups and a pre token
// generation trigger.
package userpool

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/internal/scope"
)

// Group is a user pool group.
type Group struct {
	// Name of the group; also the construct id of its resource.
	Name string
	// Precedence: lower wins when a user is in several groups.
	Precedence float64
	// Description shown in the console. Default: none.
	Description string
}

// Props configure the user pool.
type Props struct {
	// SelfSignUp lets anyone register through the hosted UI. Default: false.
	SelfSignUp bool
	// MFA is "off", "optional" or "required"; the second factor is TOTP only. Default: "optional".
	MFA string
	// FeaturePlan is "lite", "essentials" or "plus". Default: "essentials".
	FeaturePlan string
	// ThreatProtection is "off", "audit" or "enforced"; "audit" and "enforced" need the plus plan. Default: "off".
	ThreatProtection string
	// CallbackURLs of the authorization-code grant. Default: http://localhost:3000/callback.
	CallbackURLs []string
	// LogoutURLs. Default: http://localhost:3000/.
	LogoutURLs []string
	// DomainPrefix of the hosted UI (https://<prefix>.auth.<region>.amazoncognito.com). Required.
	DomainPrefix string
	// Groups to create. Default: none.
	Groups []Group
	// AccessTokenMinutes, IDTokenMinutes: token lifetimes. Default: 60 each.
	AccessTokenMinutes, IDTokenMinutes float64
	// RefreshTokenDays. Default: 30.
	RefreshTokenDays float64
	// PreTokenGeneration is the trigger that shapes tokens. Default: none.
	PreTokenGeneration awslambda.IFunction
	// DeletionProtection refuses deletion of the pool. Default: false, so `cdk destroy` cleans up.
	DeletionProtection bool
	// RemovalPolicy of the pool. Default: DESTROY.
	RemovalPolicy awscdk.RemovalPolicy
	// ResourceServerID identifies the resource server whose scopes machine
	// clients get ("<id>/pets.read"). Default: scope.DefaultResourceServer.
	ResourceServerID string
	// MachineAccessTokenMinutes is the lifetime of the machine client's access
	// tokens; client credentials issue no ID or refresh tokens. Default: 60.
	MachineAccessTokenMinutes float64
}

// UserPool exposes what New made.
type UserPool struct {
	constructs.Construct
	Pool   awscognito.UserPool
	Client awscognito.UserPoolClient
	Domain awscognito.UserPoolDomain
	Groups map[string]awscognito.UserPoolGroup
	// ResourceServer declares the scopes machine clients may be granted.
	ResourceServer awscognito.UserPoolResourceServer
	// MachineClient is the confidential client of service callers: client
	// credentials only, with a generated secret that never leaves Cognito.
	MachineClient awscognito.UserPoolClient
	// MachineScopes are the full scopes MachineClient may request, e.g. "petstore/pets.read".
	MachineScopes []string
}

var prefixRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate reports the first prop that cannot work, saying what was expected.
func (p *Props) Validate() error {
	switch p.MFA {
	case "", "off", "optional", "required":
	default:
		return fmt.Errorf("userpool: MFA %q: want off, optional or required", p.MFA)
	}
	switch p.FeaturePlan {
	case "", "lite", "essentials", "plus":
	default:
		return fmt.Errorf("userpool: FeaturePlan %q: want lite, essentials or plus", p.FeaturePlan)
	}
	switch p.ThreatProtection {
	case "", "off":
	case "audit", "enforced":
		if p.FeaturePlan != "plus" {
			return fmt.Errorf("userpool: ThreatProtection %q needs the plus feature plan, not %q", p.ThreatProtection, plan(p.FeaturePlan))
		}
	default:
		return fmt.Errorf("userpool: ThreatProtection %q: want off, audit or enforced", p.ThreatProtection)
	}
	if !*awscdk.Token_IsUnresolved(jsii.String(p.DomainPrefix)) {
		if !prefixRE.MatchString(p.DomainPrefix) {
			return fmt.Errorf("userpool: DomainPrefix %q: want 1-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen", p.DomainPrefix)
		}
		for _, bad := range []string{"aws", "amazon", "cognito"} {
			if strings.Contains(p.DomainPrefix, bad) {
				return fmt.Errorf("userpool: DomainPrefix %q: Cognito refuses prefixes containing %q", p.DomainPrefix, bad)
			}
		}
	}
	if p.ResourceServerID != "" && !resourceServerRE.MatchString(p.ResourceServerID) {
		return fmt.Errorf("userpool: ResourceServerID %q: want 1-256 printable ASCII characters without space, '\"' or '\\' (Cognito's rule)", p.ResourceServerID)
	}
	if p.MachineAccessTokenMinutes != 0 && (p.MachineAccessTokenMinutes < 5 || p.MachineAccessTokenMinutes > 1440) {
		return fmt.Errorf("userpool: MachineAccessTokenMinutes %v: want 5 to 1440 (Cognito's limits)", p.MachineAccessTokenMinutes)
	}
	return nil
}

// resourceServerRE is the identifier pattern of CreateResourceServer.
var resourceServerRE = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,256}$`)

func plan(s string) string {
	if s == "" {
		return "essentials"
	}
	return s
}

// IssuerType is the pool's issuer configuration: the iss of its tokens is
// its ProviderURL, https://cognito-idp.<region>.amazonaws.com/<poolId>.
const IssuerType = "ORIGINAL"

// TriggerVersion is the pre token generation event version a plan supports:
// V2_0 (access and ID token) on essentials and plus, V1_0 (ID token only) on lite.
func TriggerVersion(featurePlan string) awscognito.LambdaVersion {
	if featurePlan == "lite" {
		return awscognito.LambdaVersion_V1_0
	}
	return awscognito.LambdaVersion_V2_0
}

// New makes the pool, client, domain and groups.
func New(scope constructs.Construct, id string, props *Props) *UserPool {
	p := *props
	if err := p.Validate(); err != nil {
		panic(err.Error())
	}
	if len(p.CallbackURLs) == 0 {
		p.CallbackURLs = []string{"http://localhost:3000/callback"}
	}
	if len(p.LogoutURLs) == 0 {
		p.LogoutURLs = []string{"http://localhost:3000/"}
	}
	if p.AccessTokenMinutes == 0 {
		p.AccessTokenMinutes = 60
	}
	if p.IDTokenMinutes == 0 {
		p.IDTokenMinutes = 60
	}
	if p.RefreshTokenDays == 0 {
		p.RefreshTokenDays = 30
	}
	if p.RemovalPolicy == "" {
		p.RemovalPolicy = awscdk.RemovalPolicy_DESTROY
	}

	c := constructs.NewConstruct(scope, &id)
	poolProps := &awscognito.UserPoolProps{
		SignInAliases:       &awscognito.SignInAliases{Username: jsii.Bool(true), Email: jsii.Bool(true)},
		SignInCaseSensitive: jsii.Bool(false),
		SelfSignUpEnabled:   jsii.Bool(p.SelfSignUp),
		AutoVerify:          &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		// A changed email takes effect only once the code sent to it is
		// confirmed: until then tokens and sign-in keep the verified one.
		KeepOriginal: &awscognito.KeepOriginalAttrs{Email: jsii.Bool(true)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		Mfa:                mfa(p.MFA),
		MfaSecondFactor:    &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery:    awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:        featurePlan(p.FeaturePlan),
		DeletionProtection: jsii.Bool(p.DeletionProtection),
		RemovalPolicy:      p.RemovalPolicy,
	}
	switch p.ThreatProtection {
	case "audit":
		poolProps.StandardThreatProtectionMode = awscognito.StandardThreatProtectionMode_AUDIT_ONLY
	case "enforced":
		poolProps.StandardThreatProtectionMode = awscognito.StandardThreatProtectionMode_FULL_FUNCTION
	}
	pool := awscognito.NewUserPool(c, jsii.String("Pool"), poolProps)
	// Pin the issuer form the tokens carry, rather than take the service's
	// default: ORIGINAL issues iss https://cognito-idp.<region>.amazonaws.com/<poolId>,
	// the pool's ProviderURL attribute (Issuer), which both authorizers
	// trust; UPDATED would issue https://issuer-cognito-idp.<region>.amazonaws.com/<poolId>
	// and every token would fail their exact iss match.
	// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_IssuerConfigurationType.html
	// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cognito-userpool-issuerconfiguration.html
	cfnPool := pool.Node().DefaultChild().(awscognito.CfnUserPool)
	cfnPool.SetIssuerConfiguration(&awscognito.CfnUserPool_IssuerConfigurationProperty{Type: jsii.String(IssuerType)})
	// cfn-lint's pinned resource schema predates the property (E3002,
	// "additional property"): silenced on this resource only.
	cfnPool.AddMetadata(jsii.String("cfn-lint"), map[string]any{"config": map[string]any{"ignore_checks": []string{"E3002"}}})
	if p.PreTokenGeneration != nil {
		pool.AddTrigger(awscognito.UserPoolOperation_PRE_TOKEN_GENERATION_CONFIG(), p.PreTokenGeneration, TriggerVersion(p.FeaturePlan))
	}

	client := pool.AddClient(jsii.String("Client"), &awscognito.UserPoolClientOptions{
		GenerateSecret: jsii.Bool(false),
		AuthFlows: &awscognito.AuthFlow{
			UserPassword: jsii.Bool(true),
			UserSrp:      jsii.Bool(true),
		},
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PHONE(), awscognito.OAuthScope_PROFILE()},
			CallbackUrls: jsii.Strings(p.CallbackURLs...),
			LogoutUrls:   jsii.Strings(p.LogoutURLs...),
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Minutes(&p.AccessTokenMinutes),
		IdTokenValidity:            awscdk.Duration_Minutes(&p.IDTokenMinutes),
		RefreshTokenValidity:       awscdk.Duration_Days(&p.RefreshTokenDays),
		AuthSessionValidity:        awscdk.Duration_Minutes(jsii.Number(3)),
		// Explicit lists, not Cognito's "all attributes": the app reads the
		// email and whether it is verified, and a user may change only the
		// email (never email_verified, which Cognito sets on confirmation).
		ReadAttributes:  awscognito.NewClientAttributes().WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true), EmailVerified: jsii.Bool(true)}),
		WriteAttributes: awscognito.NewClientAttributes().WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true)}),
	})

	domain := pool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: jsii.String(p.DomainPrefix)},
	})

	groups := map[string]awscognito.UserPoolGroup{}
	for _, g := range p.Groups {
		gp := &awscognito.UserPoolGroupProps{
			UserPool:   pool,
			GroupName:  jsii.String(g.Name),
			Precedence: jsii.Number(g.Precedence),
		}
		if g.Description != "" {
			gp.Description = jsii.String(g.Description)
		}
		groups[g.Name] = awscognito.NewUserPoolGroup(c, jsii.String(g.Name), gp)
	}
	rs, machine, machineScopes := addMachineClient(pool, &p)
	return &UserPool{Construct: c, Pool: pool, Client: client, Domain: domain, Groups: groups,
		ResourceServer: rs, MachineClient: machine, MachineScopes: machineScopes}
}

// addMachineClient makes the resource server and the client-credentials
// client. The allowed scopes are written out literally (not as a Ref of the
// resource server) so the template, its tests and the local run read them as
// they are; an explicit dependency orders the creation instead.
func addMachineClient(pool awscognito.UserPool, p *Props) (awscognito.UserPoolResourceServer, awscognito.UserPoolClient, []string) {
	if p.ResourceServerID == "" {
		p.ResourceServerID = scope.DefaultResourceServer
	}
	if p.MachineAccessTokenMinutes == 0 {
		p.MachineAccessTokenMinutes = 60
	}
	rs := pool.AddResourceServer(jsii.String("ResourceServer"), &awscognito.UserPoolResourceServerOptions{
		Identifier:                 jsii.String(p.ResourceServerID),
		UserPoolResourceServerName: jsii.String("PetStore"),
		Scopes: &[]awscognito.ResourceServerScope{
			awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{ScopeName: jsii.String(scope.PetsRead), ScopeDescription: jsii.String("Read pets")}),
			awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{ScopeName: jsii.String(scope.PetsWrite), ScopeDescription: jsii.String("Read and create pets")}),
		},
	})
	scopes := MachineScopesOf(p.ResourceServerID)
	oauthScopes := make([]awscognito.OAuthScope, len(scopes))
	for i, s := range scopes {
		oauthScopes[i] = awscognito.OAuthScope_Custom(jsii.String(s))
	}
	machine := pool.AddClient(jsii.String("MachineClient"), &awscognito.UserPoolClientOptions{
		GenerateSecret: jsii.Bool(true),
		// Set explicitly: without ExplicitAuthFlows Cognito enables SRP and
		// custom auth. CDK always adds ALLOW_REFRESH_TOKEN_AUTH, the one flow
		// that is no sign-in, so the list is refresh only.
		AuthFlows: &awscognito.AuthFlow{UserPassword: jsii.Bool(false), UserSrp: jsii.Bool(false), Custom: jsii.Bool(false), AdminUserPassword: jsii.Bool(false)},
		OAuth: &awscognito.OAuthSettings{
			Flows:  &awscognito.OAuthFlows{ClientCredentials: jsii.Bool(true)},
			Scopes: &oauthScopes,
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Minutes(&p.MachineAccessTokenMinutes),
	})
	machine.Node().AddDependency(rs)
	return rs, machine, scopes
}

func mfa(s string) awscognito.Mfa {
	switch s {
	case "off":
		return awscognito.Mfa_OFF
	case "required":
		return awscognito.Mfa_REQUIRED
	}
	return awscognito.Mfa_OPTIONAL
}

func featurePlan(s string) awscognito.FeaturePlan {
	switch s {
	case "lite":
		return awscognito.FeaturePlan_LITE
	case "plus":
		return awscognito.FeaturePlan_PLUS
	}
	return awscognito.FeaturePlan_ESSENTIALS
}

// MachineScopesOf are the scopes the machine client may request, and so the
// only ones its tokens can carry: the resource server's pets.read and pets.write.
func MachineScopesOf(resourceServer string) []string {
	return []string{scope.Resource(resourceServer, scope.PetsRead), scope.Resource(resourceServer, scope.PetsWrite)}
}
