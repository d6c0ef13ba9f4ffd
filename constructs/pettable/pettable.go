// Package pettable is the PetStore's DynamoDB table, laid out as package
// petdata says, with the example pets seeded once by a custom resource.
package pettable

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/secure-api-go/apigw-jwt/internal/petdata"
)

// Props configure the table.
type Props struct {
	// RemovalPolicy of the table and the seed's log group. Default: DESTROY.
	RemovalPolicy awscdk.RemovalPolicy
	// LogRetention of the seed function's logs. Default: one month.
	LogRetention awslogs.RetentionDays
	// SkipSeed leaves the table empty. Default: false (the example pets are written on create).
	SkipSeed bool
}

// PetTable exposes what New made.
type PetTable struct {
	constructs.Construct
	Table awsdynamodb.Table
	// Seed is nil when SkipSeed is set.
	Seed customresources.AwsCustomResource
}

// New makes the table: on-demand, point-in-time recovery, KMS encryption,
// a TTL for idempotency records and the ByType and ByKind indexes.
func New(scope constructs.Construct, id string, props *Props) *PetTable {
	p := Props{}
	if props != nil {
		p = *props
	}
	if p.RemovalPolicy == "" {
		p.RemovalPolicy = awscdk.RemovalPolicy_DESTROY
	}
	if p.LogRetention == "" {
		p.LogRetention = awslogs.RetentionDays_ONE_MONTH
	}
	c := constructs.NewConstruct(scope, &id)
	table := awsdynamodb.NewTable(c, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(petdata.PK), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		Encryption:                       awsdynamodb.TableEncryption_AWS_MANAGED,
		TimeToLiveAttribute:              jsii.String(petdata.ExpiresAt),
		RemovalPolicy:                    p.RemovalPolicy,
	})
	for _, ix := range []struct{ name, part string }{{petdata.ByType, petdata.Type}, {petdata.ByKind, petdata.Kind}} {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.name),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(ix.part), Type: awsdynamodb.AttributeType_STRING},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(petdata.ID), Type: awsdynamodb.AttributeType_NUMBER},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	out := &PetTable{Construct: c, Table: table}
	if p.SkipSeed {
		return out
	}

	var writes []any
	for _, item := range petdata.SeedItems() {
		writes = append(writes, map[string]any{"PutRequest": map[string]any{"Item": item}})
	}
	logs := awslogs.NewLogGroup(c, jsii.String("SeedLogs"), &awslogs.LogGroupProps{Retention: p.LogRetention, RemovalPolicy: p.RemovalPolicy})
	// The seed function's role: its own logs and one BatchWriteItem on this table, nothing managed.
	role := awsiam.NewRole(c, jsii.String("SeedRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Writes the example pets once"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	// Only on create: a stack update never rewrites the pets or resets the id counter.
	out.Seed = customresources.NewAwsCustomResource(c, jsii.String("Seed"), &customresources.AwsCustomResourceProps{
		OnCreate: &customresources.AwsSdkCall{
			Service:            jsii.String("DynamoDB"),
			Action:             jsii.String("BatchWriteItem"),
			Parameters:         map[string]any{"RequestItems": map[string]any{*table.TableName(): writes}},
			PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("petstore-seed")),
		},
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("dynamodb:BatchWriteItem"),
				Resources: jsii.Strings(*table.TableArn()),
			}),
		}),
		InstallLatestAwsSdk: jsii.Bool(false),
		Role:                role,
		LogGroup:            logs,
		Timeout:             awscdk.Duration_Minutes(jsii.Number(2)),
	})
	return out
}
