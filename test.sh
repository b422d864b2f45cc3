#!/usr/bin/env bash
# Runs the whole test suite: unit tests of every module and the end-to-end tests in dist/.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/find-jdk.sh
exec mvn -B -Dstyle.color=never -ntp verify "$@"
