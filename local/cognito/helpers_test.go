package cognito

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/secure-api-go/apigw-jwt/internal/gobuild"
)

// startWithPool starts the real cognito-local with its state in dir and
// creates a pool named name (l.PoolID); it is stopped when the test ends.
func startWithPool(t *testing.T, dir, name string) *Local {
	t.Helper()
	root, err := gobuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := Start(ctx, Options{ModuleRoot: root, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Stop(3 * time.Second) })
	pool, err := l.API.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	l.PoolID = *pool.UserPool.Id
	return l
}

// login creates a USER_PASSWORD_AUTH client and the user in l's pool and
// logs the user in, as the local stack's users do.
func login(t *testing.T, l *Local, username string) *types.AuthenticationResultType {
	t.Helper()
	ctx := context.Background()
	client, err := l.API.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &l.PoolID, ClientName: aws.String(username),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil {
		t.Fatal(err)
	}
	password := Password()
	if err := l.CreateUser(ctx, username, password, nil); err != nil {
		t.Fatal(err)
	}
	auth, err := l.API.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: client.UserPoolClient.ClientId,
		AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": password}})
	if err != nil || auth.AuthenticationResult == nil {
		t.Fatalf("login %s: %v", username, err)
	}
	return auth.AuthenticationResult
}
