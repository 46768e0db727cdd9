#!/usr/bin/env bash
# deps.sh installs what foldboard's tests need on a Debian machine, and does
# nothing when it is already there: Chromium (apt), the Playwright driver that
# playwright-go expects (npm's playwright-core), DynamoDB Local (npm's
# amplify-dynamodb-simulator), a Java to run it, and Redis (apt's
# redis-server, which internal/redistest starts). Nothing is downloaded from
# outside Debian's archive and the npm registry (see the design notes e2e.md
# and dynamodb.md).
#
# Environment:
#   CHROMIUM                 a Chromium binary to use instead of /usr/bin/chromium
#   PLAYWRIGHT_DRIVER_PATH   driver directory (default ~/.cache/ms-playwright-go/1.52.0)
#   DYNAMODB_LOCAL_DIR       DynamoDB Local directory (default ~/.cache/foldboard/dynamodb-local)
#
# Usage: scripts/deps.sh [chromium|driver|dynamodb|java|redis]...   (default: all)
set -euo pipefail

# playwright-go v0.5200.1 drives exactly this driver version; bump them together.
readonly PLAYWRIGHT_VERSION=1.52.0
# Ships DynamoDB Local 1.25.1 in package/emulator/.
readonly DYNAMODB_SIMULATOR_VERSION=2.9.30
readonly JAVA_MIN_MAJOR=11

driver_dir=${PLAYWRIGHT_DRIVER_PATH:-$HOME/.cache/ms-playwright-go/$PLAYWRIGHT_VERSION}
dynamodb_dir=${DYNAMODB_LOCAL_DIR:-$HOME/.cache/foldboard/dynamodb-local}

say() { echo "deps: $*" >&2; }
die() {
	echo "deps: error: $*" >&2
	exit 1
}

tmpdirs=()
cleanup() { [ ${#tmpdirs[@]} -eq 0 ] || rm -rf "${tmpdirs[@]}"; }
trap cleanup EXIT

# scratch makes a temporary directory that is removed when the script exits;
# it sets the variable named by $1.
scratch() {
	local d
	d=$(mktemp -d)
	tmpdirs+=("$d")
	printf -v "$1" %s "$d"
}

# quietly runs a command, showing its output only if it fails.
quietly() {
	local log
	log=$(mktemp)
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
}

apt_updated=false
# apt_install installs Debian packages, refreshing the package lists only when
# apt does not know a package yet (a fresh image has none).
apt_install() {
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "installing $* needs root (or sudo); run: apt-get install -y $*"
		sudo=(sudo)
	fi
	command -v apt-get >/dev/null || die "no apt-get here; install $* with this system's package manager"
	local pkg
	for pkg in "$@"; do
		if ! $apt_updated && ! apt-cache show "$pkg" >/dev/null 2>&1; then
			apt_update "${sudo[@]}"
		fi
	done
	say "apt-get install $*"
	local install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade "$@")
	if ! quietly "${install[@]}"; then
		# Lists that know the package but are out of date fail with 404s.
		$apt_updated && die "apt-get install $* failed"
		apt_update "${sudo[@]}"
		quietly "${install[@]}" || die "apt-get install $* failed"
	fi
}

apt_update() {
	say "apt-get update"
	quietly "$@" apt-get update || die "apt-get update failed"
	apt_updated=true
}

# npm_fetch NAME@VERSION DIR: downloads the package's tarball into DIR and
# prints the tarball's path.
npm_fetch() {
	command -v npm >/dev/null || die "npm not found; install Node.js (18 or newer) and npm"
	local file
	# npm pack prints the tarball's name last on stdout; errors go to the log.
	file=$(cd "$2" && npm pack --loglevel=error "$1" 2>"$2/npm.log" | tail -n1) || {
		cat "$2/npm.log" >&2
		die "npm pack $1 failed"
	}
	[ -f "$2/$file" ] || {
		cat "$2/npm.log" >&2
		die "npm pack $1 produced no tarball"
	}
	echo "$2/$file"
}

has_chromium() {
	if [ -n "${CHROMIUM:-}" ]; then
		[ -x "$CHROMIUM" ] || die "CHROMIUM=$CHROMIUM is not an executable file"
		return 0
	fi
	[ -x /usr/bin/chromium ]
}

install_chromium() {
	apt_install chromium
	[ -x /usr/bin/chromium ] || die "apt installed chromium but /usr/bin/chromium is missing"
}

has_driver() {
	[ -f "$driver_dir/package/cli.js" ] && [ -x "$driver_dir/node" ] || return 1
	# playwright-go runs `node cli.js --version` and refuses any other version.
	local version
	version=$("$driver_dir/node" "$driver_dir/package/cli.js" --version 2>&1) ||
		die "the Playwright driver in $driver_dir does not run: $version"
	case $version in
	*"$PLAYWRIGHT_VERSION"*) return 0 ;;
	*) die "$driver_dir holds Playwright '$version', not $PLAYWRIGHT_VERSION; remove it and rerun" ;;
	esac
}

install_driver() {
	local node
	node=$(command -v node) || die "node not found; install Node.js (18 or newer) and npm"
	# An earlier run may have unpacked the package but not linked node.
	if [ -f "$driver_dir/package/cli.js" ]; then
		ln -sfn "$node" "$driver_dir/node"
		has_driver && return 0
	fi
	# playwright-go creates the directory, empty, when it finds no driver.
	if [ -d "$driver_dir" ]; then
		rmdir "$driver_dir" 2>/dev/null ||
			die "$driver_dir is not empty but holds no Playwright driver; remove it and rerun"
	fi
	local tmp tgz
	scratch tmp
	tgz=$(npm_fetch "playwright-core@$PLAYWRIGHT_VERSION" "$tmp")
	mkdir -p "$tmp/driver"
	tar -xzf "$tgz" -C "$tmp/driver" || die "could not unpack $tgz"
	ln -s "$node" "$tmp/driver/node"
	# Move into place whole, so an interrupted run never leaves a half driver.
	mkdir -p "$(dirname "$driver_dir")" || die "cannot create $(dirname "$driver_dir")"
	mv "$tmp/driver" "$driver_dir"
	has_driver || die "installed the Playwright driver into $driver_dir but it does not answer"
}

has_dynamodb() {
	[ -f "$dynamodb_dir/DynamoDBLocal.jar" ] && [ -d "$dynamodb_dir/DynamoDBLocal_lib" ]
}

install_dynamodb() {
	mkdir -p "$dynamodb_dir" 2>/dev/null && [ -w "$dynamodb_dir" ] ||
		die "cannot write to $dynamodb_dir (set DYNAMODB_LOCAL_DIR elsewhere)"
	local tmp tgz
	scratch tmp
	tgz=$(npm_fetch "amplify-dynamodb-simulator@$DYNAMODB_SIMULATOR_VERSION" "$tmp")
	tar -xzf "$tgz" -C "$tmp" package/emulator || die "could not unpack package/emulator from $tgz"
	[ -f "$tmp/package/emulator/DynamoDBLocal.jar" ] || die "$tgz has no package/emulator/DynamoDBLocal.jar"
	# The jar is what marks an install complete, so it goes in last.
	mv "$tmp/package/emulator/DynamoDBLocal.jar" "$tmp/DynamoDBLocal.jar"
	cp -r "$tmp/package/emulator/." "$dynamodb_dir/"
	cp "$tmp/DynamoDBLocal.jar" "$dynamodb_dir/.DynamoDBLocal.jar.part"
	mv "$dynamodb_dir/.DynamoDBLocal.jar.part" "$dynamodb_dir/DynamoDBLocal.jar"
}

java_major() {
	# `java -version` prints e.g. openjdk version "17.0.15" (or "1.8.0_392").
	java -version 2>&1 | sed -n 's/.*version "\(1\.\)\{0,1\}\([0-9][0-9]*\).*/\2/p' | head -n1
}

has_java() {
	command -v java >/dev/null || return 1
	local major
	major=$(java_major)
	[ -n "$major" ] || die "could not read Java's version from: $(java -version 2>&1 | head -n1)"
	[ "$major" -ge "$JAVA_MIN_MAJOR" ] ||
		die "DynamoDB Local needs Java $JAVA_MIN_MAJOR or newer; found $major ($(command -v java))"
}

install_java() {
	apt_install openjdk-17-jre-headless
	has_java || die "installed openjdk-17-jre-headless but java still does not run"
}

has_redis() {
	command -v redis-server >/dev/null
}

install_redis() {
	apt_install redis-server
	has_redis || die "apt installed redis-server but it is not on the PATH"
}

# ensure PART: installs PART unless has_PART finds it, and says how long that took.
ensure() {
	has_"$1" && return 0
	local start
	start=$(date +%s%N)
	say "installing $1"
	install_"$1"
	say "installed $1 in $((($(date +%s%N) - start) / 1000000)) ms"
}

main() {
	local parts=("$@")
	[ ${#parts[@]} -gt 0 ] || parts=(chromium driver java dynamodb redis)
	local part
	for part in "${parts[@]}"; do
		case $part in
		chromium | driver | java | dynamodb | redis) ensure "$part" ;;
		*) die "unknown part '$part' (want chromium, driver, java, dynamodb or redis)" ;;
		esac
	done
}

main "$@"
