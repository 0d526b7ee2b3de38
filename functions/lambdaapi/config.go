package lambdaapi

import (
	"strconv"

	"github.com/numbers-app/numbers/shared/config"
)

// DefaultDBMaxConns is DB_MAX_CONNS in the functions when it is not set
// (the proxy and worker default to 10). An execution environment runs one
// invocation at a time, which needs one connection; the second lets MIGRATE
// hold its advisory lock while it migrates. Postgres sees up to
// DB_MAX_CONNS × the function's reserved concurrency connections.
const DefaultDBMaxConns = 2

// DefaultMigrate is MIGRATE in the functions when it is not set (the proxy
// and worker default to true): on AWS the ECS worker or the deploy
// migrates, and INIT is limited to 10s.
const DefaultMigrate = false

// Config is what both functions read from the environment: the same
// variables as the proxy and the worker (README), plus MIGRATE.
type Config struct {
	config.Common
	// Migrate applies schema migrations during INIT. Defaults to
	// DefaultMigrate (set by WithDefaults).
	Migrate bool `env:"MIGRATE"`
}

// WithDefaults returns environ with the functions' own defaults for the
// variables it does not set: DB_MAX_CONNS (DefaultDBMaxConns) and MIGRATE
// (DefaultMigrate), where the ECS binaries default to 10 and true.
func WithDefaults(environ map[string]string) map[string]string {
	out := make(map[string]string, len(environ)+2)
	for k, v := range environ {
		out[k] = v
	}
	if _, set := out["DB_MAX_CONNS"]; !set {
		out["DB_MAX_CONNS"] = strconv.Itoa(DefaultDBMaxConns)
	}
	if _, set := out["MIGRATE"]; !set {
		out["MIGRATE"] = strconv.FormatBool(DefaultMigrate)
	}
	return out
}

// ParseConfig reads and validates the configuration.
func ParseConfig(environ map[string]string) (Config, error) {
	var cfg Config
	if err := config.Parse(&cfg, WithDefaults(environ)); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
