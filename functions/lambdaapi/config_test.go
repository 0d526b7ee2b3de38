package lambdaapi_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/functions/lambdaapi"
)

func TestConfigSizesThePostgresPoolForOneInvocationAtATime(t *testing.T) {
	t.Parallel()
	base := map[string]string{"DATABASE_URL": "postgres://u@db:5432/numbers", "SQS_QUEUE_URL": "https://sqs/q"}
	cfg, err := lambdaapi.ParseConfig(base)
	require.NoError(t, err)
	assert.Equal(t, lambdaapi.DefaultDBMaxConns, cfg.DBMaxConns)
	assert.False(t, cfg.Migrate, "functions do not migrate unless told")

	base["DB_MAX_CONNS"] = "5"
	cfg, err = lambdaapi.ParseConfig(base)
	require.NoError(t, err)
	assert.Equal(t, 5, cfg.DBMaxConns, "an explicit DB_MAX_CONNS wins")

	base["DB_MAX_CONNS"] = "0"
	_, err = lambdaapi.ParseConfig(base)
	assert.ErrorContains(t, err, "DB_MAX_CONNS")
}

func TestTheDatabaseSecretStandsInForUserAndPassword(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PGHOST": "db.internal", "DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:rds", "SQS_QUEUE_URL": "https://sqs/q"}
	cfg, err := lambdaapi.ParseConfig(env)
	require.NoError(t, err, "PGHOST and DB_SECRET_ARN are enough: the secret has the user and password")
	assert.Equal(t, "arn:aws:secretsmanager:eu-west-1:1:secret:rds", cfg.DBSecretARN)
	u, err := cfg.PostgresURL()
	require.NoError(t, err)
	assert.Equal(t, "postgres://db.internal:5432/numbers?sslmode=require", u, "no password in the URL")

	delete(env, "DB_SECRET_ARN")
	_, err = lambdaapi.ParseConfig(env)
	assert.ErrorContains(t, err, "DB_SECRET_ARN", "without the secret a user is needed")
}
