#!/usr/bin/env bash
# make vulncheck: govulncheck on every package, offline. The public
# vulnerability database cannot be reached from here, so it is built locally
# from the golang.org/x/vulndb module (served by the Go module proxy: its
# data/osv holds every report as OSV JSON) with that module's cmd/indexdb,
# and govulncheck reads it with -db file://.
#
# Pinned: govulncheck (golang.org/x/vuln) and the vulndb snapshot. Move
# VULNDB_VERSION forward to learn of newer vulnerabilities:
#   GOTOOLCHAIN=go1.27.3 go list -m -versions golang.org/x/vulndb   (pseudo-versions: go list -m golang.org/x/vulndb@master)
# Cached under infra/.tools/vulncheck (git-ignored; INFRA_TOOLS_DIR moves
# infra/.tools): the tools and the database, one per vulndb version, so a
# second run only scans.
#
# Exit status: govulncheck's. Non-zero when code of this module calls a
# vulnerable function (reachable findings); vulnerabilities only in modules
# or packages that are required but not called are listed and do not fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export GOTOOLCHAIN=go1.27.3

GOVULNCHECK_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018

TOOLS=${INFRA_TOOLS_DIR:-$ROOT/infra/.tools}/vulncheck
BIN=$TOOLS/bin
DB=$TOOLS/db/$VULNDB_VERSION

step() { echo "==> vulncheck: $*"; }

# shellcheck source=SCRIPTDIR/gotool.sh
. "$ROOT/infra/scripts/gotool.sh" # install_tool
install_tool govulncheck golang.org/x/vuln/cmd/govulncheck "$GOVULNCHECK_VERSION"

if [ ! -f "$DB/index/db.json" ]; then
	install_tool indexdb golang.org/x/vulndb/cmd/indexdb "$VULNDB_VERSION"
	step "building the vulnerability database from golang.org/x/vulndb@$VULNDB_VERSION (once)"
	src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	[ -d "$src/data/osv" ] || { echo "vulncheck: golang.org/x/vulndb@$VULNDB_VERSION has no data/osv" >&2; exit 1; }
	rm -rf "$DB.new"
	mkdir -p "$(dirname "$DB")"
	"$BIN/indexdb" -vulns "$src/data/osv" -out "$DB.new"
	rm -rf "$DB"
	mv "$DB.new" "$DB"
fi
step "govulncheck $GOVULNCHECK_VERSION, database golang.org/x/vulndb@$VULNDB_VERSION, $(go env GOVERSION)"
exec "$BIN/govulncheck" -db "file://$DB" ./...
