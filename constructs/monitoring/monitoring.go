// Package monitoring gives operators alarms and a dashboard on day one:
// 5xx rates of both APIs, authorizer faults, Lambda and DynamoDB throttles,
// and the functions' own EMF metrics: authorizer decisions (with an alarm on
// a spike of denials), token cache hits, JWKS fetches, pets created, PetStore
// client and server errors.
package monitoring

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/internal/metrics"
)

// Props say what to watch.
type Props struct {
	// DashboardName. Required.
	DashboardName string
	// HTTPAPI and RESTAPI to watch. Required.
	HTTPAPI awsapigatewayv2.IHttpApi
	RESTAPI awsapigateway.RestApi
	// Authorizer is the REST TOKEN authorizer, whose invocations and duration
	// are graphed. Its faults are its own EMF Fault metric, never Lambda's
	// Errors: it refuses every bad token with a function error
	// ("Unauthorized", a 401), which Lambda counts in Errors. Default: none -
	// the REST API uses API Gateway's native JWT authorizer, so there are no
	// authorizer alarms and widgets (its denials are the REST API's 4xx).
	Authorizer awslambda.IFunction
	// Functions whose throttles alarm, by name. Default: none.
	Functions map[string]awslambda.IFunction
	// Table whose throttled requests alarm. Required.
	Table awsdynamodb.ITable
	// ErrorRatePercent of 5xx responses that raises an API alarm. Default: 5.
	ErrorRatePercent float64
	// AlarmEmail gets the alarms by SNS email when set. Default: none (alarms show in the console).
	AlarmEmail string
	// MetricsNamespace holds the functions' EMF metrics (their METRICS_NAMESPACE). Required.
	MetricsNamespace string
	// DenialSpikeThreshold is the number of denied tokens (authorizer Deny,
	// any reason) within DenialSpikePeriod that raises the denial-spike alarm:
	// someone trying tokens. Default: 50.
	DenialSpikeThreshold float64
	// DenialSpikePeriod is the window the denials are summed over. Default: 5 minutes.
	DenialSpikePeriod awscdk.Duration
	// AlarmNamePrefix starts every alarm's name (<prefix><alarm id>); the
	// topic's publish grant to CloudWatch covers these alarms only. Default:
	// "<stack name>-<construct id>-", unique per construct in a region.
	AlarmNamePrefix string
}

// Monitoring exposes what New made.
type Monitoring struct {
	constructs.Construct
	Alarms    []awscloudwatch.Alarm
	Topic     awssns.Topic // nil without AlarmEmail
	Dashboard awscloudwatch.Dashboard
}

var fiveMinutes = awscdk.Duration_Minutes(jsii.Number(5))

// New makes the alarms, the optional email topic and the dashboard.
func New(scope constructs.Construct, id string, props *Props) *Monitoring {
	p := *props
	if p.HTTPAPI == nil || p.RESTAPI == nil || p.Table == nil || p.DashboardName == "" || p.MetricsNamespace == "" {
		panic(fmt.Sprintf("monitoring %s: DashboardName, HTTPAPI, RESTAPI, Table and MetricsNamespace are required", id))
	}
	if p.ErrorRatePercent == 0 {
		p.ErrorRatePercent = 5
	}
	if p.DenialSpikeThreshold == 0 {
		p.DenialSpikeThreshold = 50
	}
	if p.DenialSpikeThreshold < 1 {
		panic(fmt.Sprintf("monitoring %s: DenialSpikeThreshold %v: want at least 1 denial", id, p.DenialSpikeThreshold))
	}
	if p.DenialSpikePeriod == nil {
		p.DenialSpikePeriod = fiveMinutes
	}
	if p.AlarmNamePrefix == "" {
		p.AlarmNamePrefix = *awscdk.Stack_Of(scope).StackName() + "-" + id + "-"
	}
	c := constructs.NewConstruct(scope, &id)
	m := &Monitoring{Construct: c}

	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes}
	// prefix keeps metric ids apart when both rates share a graph.
	rate := func(prefix string, errors, requests awscloudwatch.IMetric, label string) awscloudwatch.MathExpression {
		e, r := prefix+"errors", prefix+"requests"
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String(fmt.Sprintf("IF(%[2]s > 0, 100 * %[1]s / %[2]s, 0)", e, r)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{e: errors, r: requests},
			Label:        jsii.String(label),
			Period:       fiveMinutes,
		})
	}
	httpRate := rate("http", p.HTTPAPI.MetricServerError(sum), p.HTTPAPI.MetricCount(sum), "HTTP API 5xx %")
	restRate := rate("rest", p.RESTAPI.MetricServerError(sum), p.RESTAPI.MetricCount(sum), "REST API 5xx %")
	dynamoThrottles := p.Table.MetricThrottledRequestsForOperations(&awsdynamodb.OperationsMetricOptions{
		Operations: &[]awsdynamodb.Operation{awsdynamodb.Operation_GET_ITEM, awsdynamodb.Operation_PUT_ITEM,
			awsdynamodb.Operation_UPDATE_ITEM, awsdynamodb.Operation_DELETE_ITEM, awsdynamodb.Operation_QUERY},
		Period: fiveMinutes,
	})

	alarm := func(alarmID, desc string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(c, jsii.String(alarmID), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(p.AlarmNamePrefix + alarmID),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			AlarmDescription:   jsii.String(desc),
		})
		m.Alarms = append(m.Alarms, a)
	}
	alarm("HttpApi5xxRate", fmt.Sprintf("HTTP API: %.0f%% or more of requests answered 5xx over 5 minutes", p.ErrorRatePercent), httpRate, p.ErrorRatePercent)
	alarm("RestApi5xxRate", fmt.Sprintf("REST PetStore: %.0f%% or more of requests answered 5xx over 5 minutes", p.ErrorRatePercent), restRate, p.ErrorRatePercent)
	emfSum := func(name string, period awscdk.Duration) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(p.MetricsNamespace), MetricName: jsii.String(name),
			Statistic: jsii.String("Sum"), Period: period,
		})
	}
	if p.Authorizer != nil {
		// Not AWS/Lambda Errors: Lambda counts every function error there, and
		// the authorizer answers each bad or expired token with one
		// ("Unauthorized"), so Errors rises with normal clients. A crash or a
		// timeout shows in the REST 5xx rate (API Gateway answers 500).
		// https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
		alarm("AuthorizerFaults", "TOKEN authorizer faults (JWKS unreachable or bad configuration), from its Fault metric: callers get 500; see Faults by reason on the dashboard",
			emfSum(metrics.Fault, fiveMinutes), 1)
		alarm("AuthorizerDenialSpike", fmt.Sprintf("TOKEN authorizer denied %.0f or more tokens in %s (someone trying tokens?): see Deny by Reason on the dashboard",
			p.DenialSpikeThreshold, *p.DenialSpikePeriod.ToHumanString()), emfSum(metrics.Deny, p.DenialSpikePeriod), p.DenialSpikeThreshold)
	}
	alarm("DynamoDBThrottles", "PetStore table throttled requests: callers get 503", dynamoThrottles, 1)
	names := make([]string, 0, len(p.Functions))
	for name := range p.Functions {
		names = append(names, name)
	}
	sort.Strings(names)
	throttleMetrics := []awscloudwatch.IMetric{}
	for _, name := range names {
		throttleMetrics = append(throttleMetrics, p.Functions[name].MetricThrottles(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes, Label: jsii.String(name)}))
	}
	if len(throttleMetrics) > 0 {
		using := map[string]awscloudwatch.IMetric{}
		expr := ""
		for i, mt := range throttleMetrics {
			key := fmt.Sprintf("t%d", i)
			using[key] = mt
			if expr != "" {
				expr += " + "
			}
			expr += key
		}
		alarm("LambdaThrottles", "Lambda throttles in the stack's functions (concurrency exhausted)", awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(expr), UsingMetrics: &using, Label: jsii.String("Lambda throttles"), Period: fiveMinutes,
		}), 1)
	}

	if p.AlarmEmail != "" {
		m.Topic = awssns.NewTopic(c, jsii.String("AlarmTopic"), &awssns.TopicProps{EnforceSSL: jsii.Bool(true)})
		// The TLS-only policy becomes the topic's access policy and replaces
		// SNS's default one, so CloudWatch may publish only if allowed here:
		// this stack's alarms, in this account.
		// https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
		stack := awscdk.Stack_Of(c)
		m.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowThisStacksAlarmsToPublish"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
			Actions:    jsii.Strings("sns:Publish"),
			Resources:  &[]*string{m.Topic.TopicArn()},
			Conditions: &map[string]any{
				"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
					Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
					ResourceName: jsii.String(p.AlarmNamePrefix + "*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
				})},
				"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
			},
		}))
		m.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(p.AlarmEmail), nil))
		for _, a := range m.Alarms {
			a.AddAlarmAction(awscloudwatchactions.NewSnsAction(m.Topic))
			a.AddOkAction(awscloudwatchactions.NewSnsAction(m.Topic))
		}
	}

	alarms := make([]interfacesawscloudwatch.IAlarmRef, len(m.Alarms))
	for i, a := range m.Alarms {
		alarms[i] = a
	}
	// byReason draws one line per reason code: a search over the Reason dimension.
	byReason := func(name string) awscloudwatch.IMetric {
		return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', 'Sum', 300)`, p.MetricsNamespace, metrics.Reason, name)),
			Label:      jsii.String(name), Period: fiveMinutes, UsingMetrics: &map[string]awscloudwatch.IMetric{},
		})
	}
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &metrics, Width: jsii.Number(12)})
	}
	latency := graph("Latency p90 (ms)", p.HTTPAPI.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p90")}), p.RESTAPI.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p90")}))
	throttles := graph("Throttles", append(throttleMetrics, dynamoThrottles)...)
	rows := []*[]awscloudwatch.IWidget{
		{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{Alarms: &alarms, Title: jsii.String("Alarms"), Width: jsii.Number(24)})},
		{graph("Requests", p.HTTPAPI.MetricCount(sum), p.RESTAPI.MetricCount(sum)), graph("5xx rate (%)", httpRate, restRate)},
	}
	if p.Authorizer != nil {
		rows = append(rows,
			&[]awscloudwatch.IWidget{latency,
				graph("Authorizer", p.Authorizer.MetricInvocations(sum), emfSum(metrics.Fault, fiveMinutes), p.Authorizer.MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p90")}))},
			&[]awscloudwatch.IWidget{throttles,
				graph("Authorizer decisions", emfSum(metrics.Allow, fiveMinutes), emfSum(metrics.Deny, fiveMinutes), emfSum(metrics.Fault, fiveMinutes))},
			&[]awscloudwatch.IWidget{graph("Denials and faults by reason", byReason(metrics.Deny), byReason(metrics.Fault)),
				graph("Token cache hits and JWKS fetches", emfSum(metrics.CacheHits, fiveMinutes), emfSum(metrics.JWKSFetches, fiveMinutes))})
	} else {
		// The native JWT authorizer's 401s and 403s are the REST API's 4xx.
		rows = append(rows, &[]awscloudwatch.IWidget{latency, graph("REST 4xx (JWT authorizer denials among them)", p.RESTAPI.MetricClientError(sum))},
			&[]awscloudwatch.IWidget{throttles})
	}
	rows = append(rows, &[]awscloudwatch.IWidget{graph("PetStore", emfSum(metrics.PetsCreated, fiveMinutes), emfSum(metrics.ClientErrors, fiveMinutes), emfSum(metrics.ServerErrors, fiveMinutes))})
	m.Dashboard = awscloudwatch.NewDashboard(c, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(p.DashboardName),
		Widgets:       &rows,
	})
	return m
}
