package pgstore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
)

// IAMCredentials authenticate with RDS IAM database authentication: every
// new connection gets a fresh token (valid 15 minutes) signed with the
// process's AWS role, so there is no password to rotate. The database user
// needs `GRANT rds_iam TO user`, the role `rds-db:connect` on it, and the
// connection TLS (sslmode=require).
type IAMCredentials struct {
	// Endpoint is the database's host:port; Region its region; User the
	// database user.
	Endpoint, Region, User string
	// AWS signs the tokens.
	AWS aws.CredentialsProvider
}

var _ Credentials = (*IAMCredentials)(nil)

// NewIAMCredentials signs with the process's role (ECS task role, Lambda
// execution role).
func NewIAMCredentials(ctx context.Context, region, endpoint, user string) (*IAMCredentials, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return &IAMCredentials{Endpoint: endpoint, Region: region, User: user, AWS: cfg.Credentials}, nil
}

// Credential builds a fresh token.
func (c *IAMCredentials) Credential(ctx context.Context) (Credential, error) {
	token, err := auth.BuildAuthToken(ctx, c.Endpoint, c.Region, c.User, c.AWS)
	if err != nil {
		return Credential{}, fmt.Errorf("build RDS IAM token: %w", err)
	}
	return Credential{User: c.User, Password: token}, nil
}

// Refresh builds another token (a refused one may have expired on a slow
// start); the connector dials once more with it, no more.
func (c *IAMCredentials) Refresh(ctx context.Context, used Credential) (Credential, bool, error) {
	cred, err := c.Credential(ctx)
	if err != nil {
		return used, false, err
	}
	return cred, cred != used, nil
}
