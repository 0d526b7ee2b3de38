# shellcheck shell=bash
# Sourced by infra/images/build.sh and infra/scripts/vulncheck.sh (not run on
# its own). install_tool installs a pinned Go tool into $BIN once: a stamp in
# $TOOLS records module@version, so a second run costs nothing. The caller
# sets TOOLS and BIN, and defines step (its progress line).

install_tool() { # name module version
	local stamp=$TOOLS/$1.stamp
	if [ -x "$BIN/$1" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$2@$3" ]; then return; fi
	step "installing $1 $3 (once; cached in $TOOLS)"
	mkdir -p "$BIN"
	GOBIN=$BIN go install "$2@$3"
	echo "$2@$3" >"$stamp"
}
