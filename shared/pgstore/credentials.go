package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Credential is what a new connection authenticates with.
type Credential struct {
	// User overrides the URL's user when not empty.
	User     string
	Password string
}

// Credentials is the source of the credential for every NEW connection
// (connections already open are not affected by a rotation). Without one, a
// Store uses the URL's user and password.
type Credentials interface {
	// Credential returns the credential to connect with now.
	Credential(ctx context.Context) (Credential, error)
	// Refresh is called when the server refused used (SQLSTATE 28P01 or
	// 28000). It returns the credential to try next and whether it differs
	// from used; a source bounds how often it re-reads its origin.
	Refresh(ctx context.Context, used Credential) (Credential, bool, error)
}

// StaticCredentials are fixed: a refused one stays refused.
type StaticCredentials Credential

// Credential returns c.
func (c StaticCredentials) Credential(context.Context) (Credential, error) { return Credential(c), nil }

// Refresh has nothing new.
func (c StaticCredentials) Refresh(context.Context, Credential) (Credential, bool, error) {
	return Credential(c), false, nil
}

// SecretValueAPI is the part of the Secrets Manager client SecretCredentials
// uses (a fake in tests).
type SecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// DefaultSecretMinRefresh is SecretCredentials.MinRefresh's default.
const DefaultSecretMinRefresh = 5 * time.Second

// SecretCredentials reads the credential from a Secrets Manager secret in
// the form RDS manages ({"username": ..., "password": ...}), caches it, and
// re-reads it when the database refuses it: after RDS rotates the managed
// master secret (every 7 days by default), new connections pick up the new
// password without a restart.
type SecretCredentials struct {
	API SecretValueAPI
	// SecretID is the secret's ARN or name.
	SecretID string
	// MinRefresh is the least time between two reads of the secret, however
	// many connections are refused (a wrong password must not turn into a
	// storm of API calls). Defaults to DefaultSecretMinRefresh.
	MinRefresh time.Duration
	// Now defaults to time.Now.
	Now func() time.Time

	mu     sync.Mutex
	cur    Credential
	have   bool
	readAt time.Time
}

var (
	_ Credentials = (*SecretCredentials)(nil)
	_ Credentials = StaticCredentials{}
)

// NewSecretCredentials reads the secret secretID with a Secrets Manager
// client built from the process's AWS role (ECS task role, Lambda
// execution role) in region.
func NewSecretCredentials(ctx context.Context, region, secretID string) (*SecretCredentials, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return &SecretCredentials{API: secretsmanager.NewFromConfig(cfg), SecretID: secretID}, nil
}

func (s *SecretCredentials) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Credential returns the cached credential, reading the secret the first time.
func (s *SecretCredentials) Credential(ctx context.Context) (Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.have {
		return s.cur, nil
	}
	if err := s.read(ctx); err != nil {
		return Credential{}, err
	}
	return s.cur, nil
}

// Refresh re-reads the secret unless another connection already got a newer
// credential, or it was read less than MinRefresh ago. When the current
// version is still the refused one, it offers the pending version of a
// rotation in progress (AWSPENDING), if there is one.
func (s *SecretCredentials) Refresh(ctx context.Context, used Credential) (Credential, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.have && s.cur != used {
		return s.cur, true, nil
	}
	minRefresh := s.MinRefresh
	if minRefresh == 0 {
		minRefresh = DefaultSecretMinRefresh
	}
	if s.have && s.now().Sub(s.readAt) < minRefresh {
		return s.cur, false, nil
	}
	if err := s.read(ctx); err != nil {
		return used, false, err
	}
	if s.cur != used {
		return s.cur, true, nil
	}
	// Unchanged: a rotation may be between setting the new password in the
	// database and making it current (RDS's rotation steps setSecret and
	// finishSecret): offer the pending version. It is cached as current
	// until the next read, which finishSecret makes agree (and if it was a
	// stale one, the next refusal reads AWSCURRENT again).
	pending, err := s.fetch(ctx, "AWSPENDING")
	if err != nil || pending == used {
		return s.cur, false, nil // no pending version (the usual case), or the same
	}
	s.cur = pending
	return pending, true, nil
}

// read reads the current secret into the cache; the caller holds mu.
func (s *SecretCredentials) read(ctx context.Context) error {
	s.readAt = s.now()
	cred, err := s.fetch(ctx, "")
	if err != nil {
		return err
	}
	s.cur, s.have = cred, true
	return nil
}

// fetch reads one version of the secret (stage "": AWSCURRENT).
func (s *SecretCredentials) fetch(ctx context.Context, stage string) (Credential, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.SecretID)}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := s.API.GetSecretValue(ctx, in)
	if err != nil {
		return Credential{}, fmt.Errorf("read database secret: %w", err)
	}
	var secret struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &secret); err != nil {
		return Credential{}, fmt.Errorf("database secret is not JSON with username and password: %w", err)
	}
	if secret.Password == "" {
		return Credential{}, errors.New("database secret has no password")
	}
	return Credential{User: secret.Username, Password: secret.Password}, nil
}
