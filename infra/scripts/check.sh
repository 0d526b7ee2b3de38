#!/usr/bin/env bash
# Offline checks of the Terraform/OpenTofu code in infra/ (make infra-check).
#
# Needs only Go (any; GOTOOLCHAIN=go1.27.3 is exported below), node and npm, and reaches only the Go module proxy
# and the npm registry, once: tools are cached under infra/.tools/ (git-ignored;
# INFRA_TOOLS_DIR moves it). Steps:
#   1. tools: OpenTofu, tfsec, tflint (Go module proxy, pinned), and a
#      schema-only stand-in hashicorp/aws provider whose schema comes from the
#      pinned npm package @cdktn/provider-aws (= aws provider 6.66.0);
#   2. tofu fmt -check;
#   3. tofu get (modules; providers come from dev_overrides) + validate, for every
#      root module and every module;
#   4. tofu test (mock_provider, plan-level assertions);
#   5. tflint (built-in terraform rules);
#   6. tfsec: no HIGH or CRITICAL finding unless an inline ignore says why;
#   7. guards: what the plan-level tests cannot see (artifact paths the build
#      really writes, no NAT, boundaries, managed policies, trust conditions,
#      lifecycle and depends_on, required_version, pinned actions, state key);
#   8. actionlint (with shellcheck) on .github/workflows; shellcheck on
#      infra/scripts.
# Any failure exits non-zero.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved toolchain; go fetches it

TOFU_VERSION=v1.12.6
TFSEC_VERSION=v1.26.0
TFLINT_VERSION=v0.64.0
ACTIONLINT_VERSION=v1.7.12
# With Go 1.27, golang.org/x/net/http2 drops its own server (net/http has
# it) unless built with this tag; the grpc inside tofu and tflint still needs
# it ("undefined: http2.TrailerPrefix").
LEGACY_HTTP2=http2legacy

INFRA=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(cd "$INFRA/.." && pwd)
TOOLS=${INFRA_TOOLS_DIR:-$INFRA/.tools}
BIN=$TOOLS/bin
LOGS=$TOOLS/logs
mkdir -p "$BIN" "$LOGS"

step() { printf '\n==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() {
	printf '    FAIL: %s\n' "$*" >&2
	exit 1
}

START=$(date +%s)

# ---------------------------------------------------------------- tools ----
# Each tool is rebuilt only when its stamp (name + version) is missing, so a
# second run costs nothing. Builds run in the background in parallel.

build_tofu() {
	local dir src
	dir=$(go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] || return 1
	# go install refuses modules with replace directives: build a copy.
	src=$TOOLS/src/opentofu
	rm -rf "$src"
	mkdir -p "$TOOLS/src"
	cp -r "$dir" "$src"
	chmod -R u+w "$src"
	(cd "$src" && go build -trimpath -tags "$LEGACY_HTTP2" -o "$BIN/tofu.new" ./cmd/tofu)
	mv "$BIN/tofu.new" "$BIN/tofu"
	rm -rf "$src" # 1.8 GB of sources is not worth keeping
}

build_go_install() { # name module version
	GOBIN=$BIN go install -tags "$LEGACY_HTTP2" "$2@$3"
}

stamp_ok() { [ -f "$TOOLS/$1.stamp" ] && [ "$(cat "$TOOLS/$1.stamp")" = "$2" ] && [ -x "$BIN/$1" ]; }

step "tools (cache: $TOOLS)"
declare -A pids=()
if stamp_ok tofu "$TOFU_VERSION"; then ok "tofu $TOFU_VERSION cached"; else
	echo "    building tofu $TOFU_VERSION from the Go module proxy (~5 min cold, log: $LOGS/tofu.log)"
	build_tofu >"$LOGS/tofu.log" 2>&1 &
	pids[tofu]=$!
fi
if stamp_ok tfsec "$TFSEC_VERSION"; then ok "tfsec $TFSEC_VERSION cached"; else
	echo "    building tfsec $TFSEC_VERSION (log: $LOGS/tfsec.log)"
	build_go_install tfsec github.com/aquasecurity/tfsec/cmd/tfsec "$TFSEC_VERSION" >"$LOGS/tfsec.log" 2>&1 &
	pids[tfsec]=$!
fi
if stamp_ok tflint "$TFLINT_VERSION"; then ok "tflint $TFLINT_VERSION cached"; else
	echo "    building tflint $TFLINT_VERSION (log: $LOGS/tflint.log)"
	build_go_install tflint github.com/terraform-linters/tflint "$TFLINT_VERSION" >"$LOGS/tflint.log" 2>&1 &
	pids[tflint]=$!
fi

if stamp_ok actionlint "$ACTIONLINT_VERSION"; then ok "actionlint $ACTIONLINT_VERSION cached"; else
	echo "    building actionlint $ACTIONLINT_VERSION (log: $LOGS/actionlint.log)"
	build_go_install actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION" >"$LOGS/actionlint.log" 2>&1 &
	pids[actionlint]=$!
fi

# Meanwhile (in the foreground): the npm package with the provider schema and
# the stand-in provider.
NPM_DIR=$TOOLS/npm
LOCK_SUM=$(cat "$INFRA/tools/package.json" "$INFRA/tools/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ -f "$NPM_DIR/stamp" ] && [ "$(cat "$NPM_DIR/stamp")" = "$LOCK_SUM" ]; then
	ok "@cdktn/provider-aws cached"
else
	echo "    npm ci @cdktn/provider-aws (pinned in infra/tools/package-lock.json)"
	rm -rf "$NPM_DIR"
	mkdir -p "$NPM_DIR"
	cp "$INFRA/tools/package.json" "$INFRA/tools/package-lock.json" "$NPM_DIR/"
	# --legacy-peer-deps: the bindings' peer deps (cdktn runtime) are not needed
	# to read them; the engines warning (node >= 22) does not matter either.
	(cd "$NPM_DIR" && npm ci --legacy-peer-deps --ignore-scripts --no-audit --no-fund --loglevel=error) >"$LOGS/npm.log" 2>&1 ||
		{ cat "$LOGS/npm.log"; die "npm ci"; }
	echo "$LOCK_SUM" >"$NPM_DIR/stamp"
fi

PROVIDER_DIR=$TOOLS/provider
mkdir -p "$PROVIDER_DIR"
echo "    extracting the aws schema for the types used in infra/"
node "$INFRA/tools/awsschema/extract.js" "$NPM_DIR/node_modules/@cdktn/provider-aws/lib" "$PROVIDER_DIR/schema.json" "$INFRA" |
	sed 's/^/    /' || die "schema extraction"
echo "    building the stand-in provider (infra/tools/awsschema)"
(cd "$INFRA/tools/awsschema" && go build -trimpath -o "$PROVIDER_DIR/terraform-provider-aws" .) >"$LOGS/awsschema.log" 2>&1 ||
	{ cat "$LOGS/awsschema.log"; die "stand-in provider build"; }
ok "stand-in hashicorp/aws provider ready"

for t in "${!pids[@]}"; do
	if wait "${pids[$t]}"; then
		case $t in
		tofu) echo "$TOFU_VERSION" >"$TOOLS/tofu.stamp" ;;
		tfsec) echo "$TFSEC_VERSION" >"$TOOLS/tfsec.stamp" ;;
		tflint) echo "$TFLINT_VERSION" >"$TOOLS/tflint.stamp" ;;
		actionlint) echo "$ACTIONLINT_VERSION" >"$TOOLS/actionlint.stamp" ;;
		esac
		ok "$t built"
	else
		tail -n 30 "$LOGS/$t.log" >&2
		die "building $t (log: $LOGS/$t.log)"
	fi
done
echo "    tools ready after $(($(date +%s) - START)) s"

TOFU=$BIN/tofu
export TF_CLI_CONFIG_FILE=$TOOLS/tofu.rc
cat >"$TF_CLI_CONFIG_FILE" <<EOF
provider_installation {
  dev_overrides {
    "registry.opentofu.org/hashicorp/aws" = "$PROVIDER_DIR"
  }
  direct {}
}
EOF
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
# Keep .terraform/ dirs out of the source tree.
export TF_DATA_DIR_ROOT=$TOOLS/data

# ------------------------------------------------------------------ fmt ----
step "tofu fmt -check -recursive infra/"
if ! "$TOFU" fmt -check -recursive -diff "$INFRA"; then
	die "files above are not formatted: run $TOFU fmt -recursive infra"
fi
ok "all .tf and .tftest.hcl files formatted"

# ------------------------------------------------------------- validate ----
# Every directory with .tf files is validated on its own: the two root modules
# (infra/, infra/bootstrap) and each module.
mapfile -t DIRS < <(find "$INFRA" -name '*.tf' -not -path '*/.tools/*' -not -path '*/.terraform/*' -printf '%h\n' | sort -u)

tofu_in() { # dir args...
	local dir=$1
	shift
	local rel=${dir#"$INFRA"}
	TF_DATA_DIR="$TF_DATA_DIR_ROOT/${rel:-/root}" "$TOFU" -chdir="$dir" "$@"
}

step "tofu get + validate (${#DIRS[@]} directories)"
for d in "${DIRS[@]}"; do
	rel=infra${d#"$INFRA"}
	# `tofu get` installs the (local) modules; no `tofu init`: providers come
	# from dev_overrides (init would ask the registry), and no state is touched.
	if ! out=$(tofu_in "$d" get -no-color 2>&1); then
		echo "$out" >&2
		die "tofu get $rel"
	fi
	if ! out=$(tofu_in "$d" validate -no-color 2>&1); then
		# Drop the dev_overrides warning, keep the errors.
		if grep -q '^Error' <<<"$out"; then sed -n '/^Error/,$p' <<<"$out" >&2; else echo "$out" >&2; fi
		die "validate $rel"
	fi
	ok "$rel"
done

# ----------------------------------------------------------------- test ----
step "tofu test (mock_provider, plan-level assertions)"
mapfile -t TESTDIRS < <(find "$INFRA" -name '*.tftest.hcl' -not -path '*/.tools/*' -printf '%h\n' | sed 's#/tests$##' | sort -u)
run_tests() { # dir label args...
	local d=$1 label=$2 out
	shift 2
	if ! out=$(tofu_in "$d" test -no-color "$@" 2>&1); then
		grep -v -e 'Provider development overrides' -e 'The following provider development' -e 'hashicorp/aws in ' -e 'behavior may therefore' -e 'applying changes may cause' -e 'releases\.$' -e 'configuration:$' <<<"$out" | cat -s >&2
		die "tofu test in $label"
	fi
	echo "$out" | grep -E '^(tests/.*\.tftest\.hcl|  run ")|passed|failed' | sed 's/^/    /'
	ok "$label"
}
for d in "${TESTDIRS[@]}"; do
	if [ "$d" = "$INFRA" ]; then
		# The root module is planned once per environment's variables.
		for f in "$INFRA"/env/*.tfvars; do
			run_tests "$d" "infra with env/$(basename "$f")" -var-file="$f"
		done
	else
		run_tests "$d" "infra${d#"$INFRA"}"
	fi
done

# --------------------------------------------------------------- tflint ----
step "tflint $TFLINT_VERSION (built-in terraform ruleset, all rules)"
if ! "$BIN/tflint" --chdir="$INFRA" --config="$INFRA/.tflint.hcl" --recursive --no-color --format=compact; then
	die "tflint findings above"
fi
ok "no tflint findings"

# ---------------------------------------------------------------- tfsec ----
step "tfsec $TFSEC_VERSION (fail on HIGH and CRITICAL)"
if ! "$BIN/tfsec" "$INFRA" --exclude-path .tools --minimum-severity HIGH --no-color --concise-output --exclude-downloaded-modules; then
	die "tfsec HIGH/CRITICAL findings above (fix them, or add #tfsec:ignore:<rule> with the reason)"
fi
ok "no HIGH or CRITICAL tfsec finding (lower ones are reported by: $BIN/tfsec infra)"

# --------------------------------------------------------------- guards ----
step "guards (scripts/guards.sh)"
bash "$INFRA/scripts/guards.sh" || die "guards above"

# ----------------------------------------------------------- actionlint ----
step "actionlint $ACTIONLINT_VERSION on .github/workflows (with shellcheck)"
if ! command -v shellcheck >/dev/null; then
	# Debian's shellcheck (not on the Go module proxy); as root, install it.
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "    installing shellcheck (apt-get)"
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck; } >"$LOGS/shellcheck.log" 2>&1 ||
			{ tail -n 20 "$LOGS/shellcheck.log" >&2; die "apt-get install shellcheck"; }
	else
		die "shellcheck is needed for the run: scripts (sudo apt-get install -y shellcheck)"
	fi
fi
if ! (cd "$REPO" && "$BIN/actionlint" -no-color); then
	die "actionlint findings above"
fi
ok "workflows clean"
if ! shellcheck "$INFRA"/scripts/*.sh; then
	die "shellcheck findings in infra/scripts above"
fi
ok "infra/scripts/*.sh clean (shellcheck)"

printf '\ninfra check passed in %d s\n' "$(($(date +%s) - START))"
