package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/pgstore"
)

func TestTheSecretIsReReadAtMostEveryMinRefresh(t *testing.T) {
	t.Parallel()
	secret := &fakeSecret{}
	secret.set("app", "one")
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	creds := &pgstore.SecretCredentials{API: secret, SecretID: "arn", MinRefresh: 10 * time.Second, Now: func() time.Time { return now }}
	ctx := context.Background()

	first, err := creds.Credential(ctx)
	require.NoError(t, err)
	assert.Equal(t, pgstore.Credential{User: "app", Password: "one"}, first)
	_, err = creds.Credential(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, secret.readCount(), "the secret is cached")

	// Refused right after the first read: within MinRefresh nothing is read.
	got, changed, err := creds.Refresh(ctx, first)
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Equal(t, first, got)
	assert.Equal(t, 1, secret.readCount(), "no read within MinRefresh, however many refusals")

	now = now.Add(11 * time.Second)
	secret.set("app", "two")
	got, changed, err = creds.Refresh(ctx, first)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "two", got.Password)
	reads := secret.readCount()

	// Another connection refused with the old one gets the new one unread.
	got, changed, err = creds.Refresh(ctx, first)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "two", got.Password)
	assert.Equal(t, reads, secret.readCount())

	secret.set("app", "")
	now = now.Add(11 * time.Second)
	_, _, err = creds.Refresh(ctx, got)
	assert.ErrorContains(t, err, "no password", "a secret without a password is reported")
}

func TestIAMAuthenticationSignsAFreshTokenPerConnection(t *testing.T) {
	t.Parallel()
	creds := &pgstore.IAMCredentials{Endpoint: "db.example.internal:5432", Region: "eu-west-1", User: "app",
		AWS: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	ctx := context.Background()
	first, err := creds.Credential(ctx)
	require.NoError(t, err)
	assert.Equal(t, "app", first.User)
	for _, part := range []string{"db.example.internal:5432?", "Action=connect", "DBUser=app", "X-Amz-Signature=", "eu-west-1"} {
		assert.Contains(t, first.Password, part)
	}
	time.Sleep(1100 * time.Millisecond) // tokens are signed to the second
	next, changed, err := creds.Refresh(ctx, first)
	require.NoError(t, err)
	assert.True(t, changed, "a refused token is replaced by a fresh one")
	assert.NotEqual(t, first.Password, next.Password)
}
