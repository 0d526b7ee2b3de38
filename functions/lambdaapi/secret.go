package lambdaapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsAPI is the part of the Secrets Manager client the functions use.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// NewSecretsAPI builds a Secrets Manager client from the function's role.
func NewSecretsAPI(ctx context.Context, region string) (SecretsAPI, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return secretsmanager.NewFromConfig(cfg), nil
}

// WithDBSecret returns environ with PGUSER and PGPASSWORD read from the
// secret DB_SECRET_ARN names (the RDS-managed master secret, JSON with
// "username" and "password"). ECS injects these from the secret itself;
// Lambda cannot, so the function reads it once, during INIT. Nothing is
// read when DB_SECRET_ARN is unset or DATABASE_URL or PGPASSWORD is set.
func WithDBSecret(ctx context.Context, environ map[string]string, newAPI func() (SecretsAPI, error)) (map[string]string, error) {
	arn := environ["DB_SECRET_ARN"]
	if arn == "" || environ["DATABASE_URL"] != "" || environ["PGPASSWORD"] != "" {
		return environ, nil
	}
	api, err := newAPI()
	if err != nil {
		return nil, err
	}
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read DB_SECRET_ARN: %w", err)
	}
	var secret struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &secret); err != nil {
		return nil, fmt.Errorf("DB_SECRET_ARN is not JSON with username and password: %w", err)
	}
	if secret.Username == "" || secret.Password == "" {
		return nil, errors.New("DB_SECRET_ARN has no username or password")
	}
	withSecret := make(map[string]string, len(environ)+2)
	for k, v := range environ {
		withSecret[k] = v
	}
	withSecret["PGUSER"], withSecret["PGPASSWORD"] = secret.Username, secret.Password
	return withSecret, nil
}
