// Package config reads the settings every binary shares (database, queue,
// logging) from environment variables, with documented defaults.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Common is the configuration the proxy, the worker and the functions share.
type Common struct {
	// PprofAddr serves net/http/pprof on this loopback address (debug and
	// benchmarks only; "": off, the default). See shared/profiling.
	PprofAddr string `env:"PPROF_ADDR"`
	// DatabaseURL is the Postgres URL. When empty it is built from the PG*
	// variables (as RDS secrets are usually injected).
	DatabaseURL string `env:"DATABASE_URL"`
	PGHost      string `env:"PGHOST"`
	PGPort      string `env:"PGPORT" envDefault:"5432"`
	PGUser      string `env:"PGUSER"`
	PGPassword  string `env:"PGPASSWORD"`
	PGDatabase  string `env:"PGDATABASE" envDefault:"numbers"`
	PGSSLMode   string `env:"PGSSLMODE" envDefault:"require"`
	// PGSSLRootCert is a PEM file of the CAs the server's certificate must
	// chain to (with PGSSLMODE=verify-full: the RDS CA bundle, which the
	// system's CAs do not include). "": the system's CAs.
	PGSSLRootCert string `env:"PGSSLROOTCERT"`
	// DBSecretARN names the Secrets Manager secret (RDS-managed JSON with
	// username and password) every new Postgres connection takes its
	// credentials from, re-read when Postgres refuses them (a rotation).
	// It overrides the URL's password, and its user when PGUSER is unset.
	DBSecretARN string `env:"DB_SECRET_ARN"`
	// DBIAMAuth connects with RDS IAM database authentication: a fresh
	// token per connection for PGUSER (or the URL's user), no password.
	DBIAMAuth bool `env:"DB_IAM_AUTH" envDefault:"false"`
	// DBMaxConns caps this process's Postgres connections.
	DBMaxConns int `env:"DB_MAX_CONNS" envDefault:"10"`

	AWSRegion string `env:"AWS_REGION" envDefault:"us-east-1"`
	// SQSEndpoint points at a local SQS server; empty on AWS.
	SQSEndpoint string `env:"SQS_ENDPOINT"`
	QueueURL    string `env:"SQS_QUEUE_URL"`
	DLQURL      string `env:"SQS_DLQ_URL"`

	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"auto"`
}

// EMF is the metrics-to-log setting of the long-running processes (the
// proxy and the ECS worker; see shared/metrics StartEMF).
type EMF struct {
	// EMFInterval is how often metrics go to the JSON log as CloudWatch
	// Embedded Metric Format (0: never; only when the log is JSON).
	EMFInterval  time.Duration `env:"METRICS_EMF_INTERVAL" envDefault:"60s"`
	EMFNamespace string        `env:"METRICS_NAMESPACE" envDefault:"numbers"`
}

// Parse fills cfg (a struct embedding Common or not) from environ, a map of
// variable names to values, applying envDefault tags.
func Parse(cfg any, environ map[string]string) error {
	if err := env.ParseWithOptions(cfg, env.Options{Environment: environ}); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}

// FormatDefault writes a default as the README and `worker help` show it:
// durations without zero units (24h, 1m, 10ms), anything else as fmt does.
func FormatDefault(v any) string {
	if d, ok := v.(time.Duration); ok {
		s := d.String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	}
	return fmt.Sprint(v)
}

// Environ turns os.Environ()-style "K=V" entries into a map.
func Environ(kv []string) map[string]string {
	m := make(map[string]string, len(kv))
	for _, e := range kv {
		if k, v, ok := strings.Cut(e, "="); ok {
			m[k] = v
		}
	}
	return m
}

// PostgresURL returns DatabaseURL or one built from the PG* fields.
func (c Common) PostgresURL() (string, error) {
	if c.DatabaseURL != "" {
		return c.DatabaseURL, nil
	}
	if c.PGHost == "" || (c.PGUser == "" && c.DBSecretARN == "") {
		return "", errors.New("configuration: set DATABASE_URL, or PGHOST and PGUSER (with PGPASSWORD, PGPORT, PGDATABASE) " +
			"or PGHOST and DB_SECRET_ARN")
	}
	u := url.URL{
		Scheme: "postgres",
		Host:   c.PGHost + ":" + c.PGPort,
		Path:   "/" + c.PGDatabase,
	}
	q := url.Values{"sslmode": {c.PGSSLMode}}
	if c.PGSSLRootCert != "" {
		q.Set("sslrootcert", c.PGSSLRootCert)
	}
	u.RawQuery = q.Encode()
	switch {
	case c.PGUser != "" && c.PGPassword != "":
		u.User = url.UserPassword(c.PGUser, c.PGPassword)
	case c.PGUser != "":
		u.User = url.User(c.PGUser)
	}
	return u.String(), nil
}

// PostgresURLForLog is PostgresURL with its password masked, for the line a
// process logs when it starts; "" when none is configured (Validate reports
// that).
func (c Common) PostgresURLForLog() string {
	u, err := c.PostgresURL()
	if err != nil {
		return ""
	}
	return MaskURL(u)
}

// Validate names the first missing or bad field.
func (c Common) Validate() error {
	if _, err := c.PostgresURL(); err != nil {
		return err
	}
	if c.QueueURL == "" {
		return errors.New("configuration: SQS_QUEUE_URL is required")
	}
	if c.DBMaxConns < 1 {
		return errors.New("configuration: DB_MAX_CONNS must be at least 1")
	}
	return nil
}

// MaskURL hides the password in a URL for logging.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
