package jwtauthorizer

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// coverage is the synth-time check of the rules against the API (and, for
// an HTTP API, sets the authorizer's payload format to 2.0 once bound). As an
// aspect on the app it collects the REST methods or HTTP routes that use the
// authorizer, wherever they are; as the construct's validation, which the
// CDK runs after every aspect, it reports a method no rule could allow and a
// rule that names no such method. Either fails the synth.
type coverage struct {
	a    *Authorizer
	used []endpoint
	seen map[string]bool
}

// Visit records node when it is a method or route using the authorizer.
func (c *coverage) Visit(node constructs.IConstruct) {
	var e endpoint
	switch c.a.kind {
	case REST:
		m, ok := node.(awsapigateway.Method)
		if !ok {
			return
		}
		cfn, ok := m.Node().DefaultChild().(awsapigateway.CfnMethod)
		if !ok || cfn.AuthorizerId() == nil || *cfn.AuthorizerId() != *c.a.REST.AuthorizerId() {
			return
		}
		e = endpoint{method: *m.HttpMethod(), resource: *m.Resource().Path()}
	case HTTP:
		id := c.a.httpAuthorizerID()
		if auth, ok := node.(awsapigatewayv2.CfnAuthorizer); ok && id != "" && *auth.Ref() == id {
			// The CDK gives IAM-policy answers payload 1.0; the authorizer
			// takes 2.0, which answers with an IAM policy unless simple
			// responses are enabled:
			// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
			auth.SetAuthorizerPayloadFormatVersion(jsii.String("2.0"))
			return
		}
		r, ok := node.(awsapigatewayv2.CfnRoute)
		if !ok || r.AuthorizerId() == nil || id == "" || *r.AuthorizerId() != id {
			return
		}
		// A route key is "GET /items/{id}", "ANY /{proxy+}" or "$default".
		method, resource, found := strings.Cut(*r.RouteKey(), " ")
		if !found {
			method, resource = "ANY", "/{proxy+}"
		}
		e = endpoint{method: method, resource: resource}
	}
	e.path = *node.Node().Path()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if !c.seen[e.path] {
		c.seen[e.path] = true
		c.used = append(c.used, e)
	}
}

// Validate reports every mismatch between the rules and the API.
func (c *coverage) Validate() *[]*string {
	return jsii.Strings(check(c.a.Rules, c.used)...)
}
