package imagetest

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheRDSCABundleHoldsOnlyRDSCertificateAuthorities checks the committed
// bundle that the images and the Lambda zips carry for PGSSLMODE=verify-full:
// every block parses as a CA certificate of Amazon RDS, and each region's
// current (G1) roots are there, so a server certificate issued by any of
// them verifies.
func TestTheRDSCABundleHoldsOnlyRDSCertificateAuthorities(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "rds-global-bundle.pem"))
	require.NoError(t, err)
	var certs []*x509.Certificate
	for rest := raw; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			require.Empty(t, strings.TrimSpace(string(rest)), "nothing but certificates in the bundle")
			break
		}
		require.Equal(t, "CERTIFICATE", b.Type)
		c, err := x509.ParseCertificate(b.Bytes)
		require.NoError(t, err)
		certs = append(certs, c)
	}
	require.NotEmpty(t, certs)
	g1 := 0
	for _, c := range certs {
		assert.True(t, c.IsCA, "%s is a CA", c.Subject.CommonName)
		assert.Contains(t, c.Subject.CommonName, "Amazon RDS", "only RDS authorities")
		if strings.Contains(c.Subject.CommonName, "us-east-1 Root CA RSA2048 G1") {
			g1++
		}
	}
	assert.Positive(t, g1, "the current root of us-east-1 (the rds-ca-rsa2048-g1 family) is there")
}
