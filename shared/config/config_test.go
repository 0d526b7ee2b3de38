package config

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThePostgresURLCarriesTheCABundleForVerifyFull(t *testing.T) {
	c := Common{PGHost: "db.example", PGPort: "5432", PGUser: "numbers_proxy_login", PGDatabase: "numbers",
		PGSSLMode: "verify-full", PGSSLRootCert: "/etc/ssl/certs/rds-global-bundle.pem"}
	raw, err := c.PostgresURL()
	require.NoError(t, err)
	u, err := url.Parse(raw)
	require.NoError(t, err)
	assert.Equal(t, "verify-full", u.Query().Get("sslmode"))
	assert.Equal(t, "/etc/ssl/certs/rds-global-bundle.pem", u.Query().Get("sslrootcert"),
		"without it verify-full checks the system CAs, which do not include RDS's")

	c.PGSSLRootCert = ""
	raw, err = c.PostgresURL()
	require.NoError(t, err)
	u, err = url.Parse(raw)
	require.NoError(t, err)
	assert.False(t, u.Query().Has("sslrootcert"), "no bundle named: the system's CAs")
}
