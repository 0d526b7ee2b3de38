#!/usr/bin/env bash
# Guards over the text of infra/ and .github/ for what the plan-level tests
# (tofu test) cannot see: lifecycle and depends_on settings, resources that
# must not exist, files the build must produce. Part of `make infra-check`
# (scripts/check.sh); each guard names the defect it keeps out.
set -euo pipefail
INFRA=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(cd "$INFRA/.." && pwd)
WF=$REPO/.github/workflows
fails=0
fail() {
	printf '    FAIL: %s\n' "$*" >&2
	fails=$((fails + 1))
}
# Each numbered guard starts a section; "ok" only when it added no failure.
sec_start=0
section() { sec_start=$fails; }
pass() { if [ "$fails" = "$sec_start" ]; then printf '    ok: %s\n' "$*"; fi; }

mapfile -t TF < <(find "$INFRA" -name '*.tf' -not -path '*/.tools/*' -not -path '*/.terraform/*' | sort)
mapfile -t WORKFLOWS < <(find "$WF" -name '*.yml' | sort)

# blocks FILE HEADER-REGEX: every top-level block whose first line matches.
blocks() {
	awk -v re="$2" '$0 ~ "^" re { inb = 1 } inb { print } inb && /^}/ { inb = 0; print "--" }' "$1"
}

section
# 1. One source of truth for the Lambda artifacts: every zip path that infra/
#    and the workflows name is one that `make lambda` writes.
mapfile -t BUILT < <(make -s -C "$REPO" lambda-zips)
[ "${#BUILT[@]}" -gt 0 ] || fail "make lambda-zips lists nothing"
named=$(grep -rhoE 'build/lambda/[A-Za-z0-9_./-]*\.zip' "$INFRA" "$WF" --include='*.tf' --include='*.tfvars' --include='*.hcl' --include='*.yml' --exclude-dir=.tools | sort -u)
for p in $named; do
	found=0
	for b in "${BUILT[@]}"; do [ "$p" = "$b" ] && found=1; done
	[ $found = 1 ] || fail "$p is named in infra/ or .github/ but \`make lambda\` writes: ${BUILT[*]}"
done
[ -n "$named" ] && pass "Lambda zip paths named in infra/ and workflows are what make lambda writes (${BUILT[*]})"

section
# Files the workflows build from or run must exist.
for p in $(grep -hoE '[A-Za-z0-9_./-]*Dockerfile[A-Za-z0-9_.-]*' "${WORKFLOWS[@]}" | sort -u) \
	$(grep -hoE 'infra/scripts/[A-Za-z0-9_.-]+\.sh' "${WORKFLOWS[@]}" | sort -u); do
	[ -e "$REPO/$p" ] || fail "a workflow names $p, which does not exist"
done
pass "files named by the workflows exist"

section
# 2. No NAT gateway, no default route out of the private subnets: they reach
#    AWS through the VPC endpoints.
if grep -n 'resource "aws_nat_gateway"\|nat_gateway_id' "${TF[@]}"; then fail "NAT gateway is back (the private subnets need none)"; else pass "no NAT gateway"; fi

section
# 3. Every role created by infra/ (not the bootstrap's CI roles) carries the
#    permissions boundary.
for f in "${TF[@]}"; do
	case $f in "$INFRA"/bootstrap/*) continue ;; esac
	while IFS= read -r name; do
		fail "${f#"$REPO"/}: aws_iam_role.$name has no permissions_boundary"
	done < <(awk '/^resource "aws_iam_role" / { name = $3; gsub(/"/, "", name); ok = 0; inb = 1 }
		inb && /permissions_boundary *= *var.permissions_boundary_arn/ { ok = 1 }
		inb && /^}/ { if (!ok) print name; inb = 0 }' "$f")
done
pass "every aws_iam_role in infra/ carries the permissions boundary"

section
# 4. Managed policies: only these, whose wildcards are reviewed (README).
allowed='arn:aws:iam::aws:policy/(AmazonSSMManagedInstanceCore|ReadOnlyAccess|PowerUserAccess)"'
if grep -nE 'policy_arn *= *"arn:aws:iam::aws:policy/' "${TF[@]}" | grep -vE "$allowed"; then
	fail "an AWS managed policy other than AmazonSSMManagedInstanceCore (bastion), ReadOnlyAccess (plan) and PowerUserAccess (apply) is attached (e.g. AWSLambdaVPCAccessExecutionRole: network interfaces on *)"
else pass "managed policies: only the reviewed three"; fi

section
# 5. Service principals carry aws:SourceAccount (or say why not).
for f in "${TF[@]}"; do
	while IFS=: read -r n _; do
		if ! sed -n "${n},$((n + 6))p" "$f" | grep -q 'aws:SourceAccount\|no-source-account:'; then
			fail "${f#"$REPO"/}:$n: a Service principal without aws:SourceAccount (add it, or a no-source-account: reason)"
		fi
	done < <(grep -n 'Principal *= *{ *Service *=' "$f")
done
pass "service principals are bound to the account"

section
# 6. S3-native locking (use_lockfile) needs OpenTofu >= 1.10: every
#    required_version says so.
if grep -q 'use_lockfile *= *true' "$INFRA/versions.tf"; then
	for f in "${TF[@]}"; do
		v=$(sed -n 's/^ *required_version *= *">= *\([0-9.]*\)".*/\1/p' "$f")
		[ -z "$v" ] && continue
		if [ "$(printf '%s\n%s\n' "$v" 1.10 | sort -V | head -n1)" != 1.10 ]; then fail "${f#"$REPO"/}: required_version >= $v, but use_lockfile needs >= 1.10"; fi
	done
	pass "required_version >= 1.10 everywhere (use_lockfile)"
fi

section
# 7. Changes roll out: Terraform owns the task definitions and the Lambda
#    code (no ignore_changes on them), and apply waits for the services.
if grep -nE 'ignore_changes *= *\[[^]]*(task_definition|filename|source_code_hash|image_uri)' "${TF[@]}"; then
	fail "ignore_changes hides task definition or code changes: they would never reach running tasks"
else pass "task definitions and Lambda code are not ignored"; fi

section
# 8. IAM propagation: the functions and the event source mapping wait for
#    their role policy, the functions for their log groups.
lf=$INFRA/modules/lambda/main.tf
fn=$(blocks "$lf" 'resource "aws_lambda_function" "this"')
esm=$(blocks "$lf" 'resource "aws_lambda_event_source_mapping" "sqs"')
if ! grep -q 'depends_on *= *\[.*aws_iam_role_policy.function.*\]' <<<"$fn" || ! grep -q 'depends_on *= *\[.*aws_cloudwatch_log_group.function.*\]' <<<"$fn"; then
	fail "aws_lambda_function.this must depends_on its role policy and log group"
fi
grep -q 'depends_on *= *\[.*aws_iam_role_policy.function.*\]' <<<"$esm" || fail "the event source mapping must depends_on the function's role policy"
db=$(blocks "$INFRA/modules/database/main.tf" 'resource "aws_db_instance" "this"')
grep -q 'depends_on *= *\[aws_cloudwatch_log_group.exports\]' <<<"$db" || fail "the RDS instance must depends_on its log groups (else RDS creates them without retention)"
pass "depends_on for IAM propagation and log groups"

section
# 9. Workflows: actions pinned to commit SHAs; the state key at every init;
#    deploys not skipping infra/ changes; no pull_request job gets a role
#    other than the plan role.
if grep -nE '^\s*(- )?uses: ' "${WORKFLOWS[@]}" | grep -vE 'uses: (\./|[^@ ]+@[0-9a-f]{40}( |$))'; then
	fail "actions above are not pinned to a commit SHA"
else pass "actions pinned to commit SHAs"; fi
for f in "${WORKFLOWS[@]}"; do
	if grep -q 'backend-config="bucket' "$f" && ! grep -q 'backend-config="kms_key_id=' "$f"; then fail "${f#"$REPO"/}: tofu init without kms_key_id (the state would be SSE-S3, refused)"; fi
	if grep -qE 'AWS_(INFRA|APPLY|DEPLOY)_ROLE_ARN' "$f" && grep -qE '^\s*pull_request' "$f"; then
		# a pull_request-triggered workflow may name only the plan role
		fail "${f#"$REPO"/}: runs on pull_request and names an apply/deploy role"
	fi
done
if grep -nE 'paths-ignore:.*infra' "$WF/deploy.yml"; then fail "deploy.yml skips infra/ changes: they would never roll out"; fi
pass "workflows: state key at init, pull requests only plan, deploys include infra/"

[ $fails = 0 ] || exit 1
