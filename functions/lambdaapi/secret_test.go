package lambdaapi_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/functions/lambdaapi"
)

type fakeSecrets struct {
	asked []string
	value string
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.asked = append(f.asked, aws.ToString(in.SecretId))
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}

func TestTheDBSecretFillsPGUserAndPassword(t *testing.T) {
	f := &fakeSecrets{value: `{"username":"numbers","password":"s3cr3t","engine":"postgres"}`}
	newAPI := func() (lambdaapi.SecretsAPI, error) { return f, nil }
	env, err := lambdaapi.WithDBSecret(context.Background(), map[string]string{"DB_SECRET_ARN": "arn:secret", "PGHOST": "db"}, newAPI)
	require.NoError(t, err)
	assert.Equal(t, "numbers", env["PGUSER"])
	assert.Equal(t, "s3cr3t", env["PGPASSWORD"])
	assert.Equal(t, "db", env["PGHOST"])
	assert.Equal(t, []string{"arn:secret"}, f.asked)

	for _, env := range []map[string]string{
		{},
		{"DB_SECRET_ARN": "arn:secret", "DATABASE_URL": "postgres://x"},
		{"DB_SECRET_ARN": "arn:secret", "PGPASSWORD": "given"},
	} {
		got, err := lambdaapi.WithDBSecret(context.Background(), env, func() (lambdaapi.SecretsAPI, error) {
			return nil, errors.New("must not be called")
		})
		require.NoError(t, err)
		assert.Equal(t, env, got, "nothing to read")
	}

	f.value = `{"username":"numbers"}`
	_, err = lambdaapi.WithDBSecret(context.Background(), map[string]string{"DB_SECRET_ARN": "arn:secret"}, newAPI)
	assert.ErrorContains(t, err, "no username or password")
}
