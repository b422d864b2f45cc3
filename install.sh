#!/usr/bin/env bash
# Builds Kueue, installs the four programs for the current user (no root), and starts a local
# server and worker so that `kueue cmd echo hello` works right away.
#
#   ./install.sh              build, install, (re)start the local server and worker
#   ./install.sh --no-start   build and install only (e.g. on a shared home, once for all machines)
#
# Installs into $KUEUE_PREFIX (default ~/.local): programs in bin/, the jar and a Java runtime of
# its own in share/kueue/, so worker machines need no system-wide Java 25.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
start=yes
for arg in "$@"; do
  case $arg in
    --no-start) start=no ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

. "$here/scripts/find-jdk.sh"
prefix=${KUEUE_PREFIX:-$HOME/.local}
share=$prefix/share/kueue
bindir=$prefix/bin
state=${XDG_STATE_HOME:-$HOME/.local/state}/kueue

echo "==> building with $JAVA_HOME"
# Maven 3.8 writes colour resets (ESC [0m) even with -B and style.color=never, on both streams;
# with -q only errors are left to print, and they read better without them.
(cd "$here" && mvn -B -q -ntp -Dstyle.color=never -DskipTests package) 2>&1 | sed 's/\x1b\[0m//g'

echo "==> installing into $share"
mkdir -p "$share/lib" "$bindir" "$state"
cp "$here/dist/target/kueue.jar" "$share/lib/kueue.jar.new"
mv "$share/lib/kueue.jar.new" "$share/lib/kueue.jar"
cp "$here"/client/target/kueue-client-*-relay.jar "$share/lib/kueue-relay.jar.new"
mv "$share/lib/kueue-relay.jar.new" "$share/lib/kueue-relay.jar"
# What jdeps finds in kueue.jar (LauncherScriptTest checks it for our own code), plus modules that
# libraries load only by name, e.g. java.security.jgss for JSch's gssapi-with-mic.
modules=java.base,java.sql,java.desktop,java.management,java.naming,java.logging,java.xml,java.security.jgss,jdk.unsupported,jdk.crypto.ec,jdk.management,jdk.net,jdk.zipfs,jdk.httpserver
if [ ! -f "$share/runtime/release" ] || [ "$(cat "$share/runtime/.modules" 2>/dev/null)" != "$JAVA_HOME $modules" ]; then
  rm -rf "$share/runtime.new"
  "$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --generate-cds-archive --output "$share/runtime.new" >/dev/null
  echo "$JAVA_HOME $modules" > "$share/runtime.new/.modules"
  rm -rf "$share/runtime"
  mv "$share/runtime.new" "$share/runtime"
fi

write_launcher() { # directory name main-class jvm-options [shell lines run first] [class path]
  local target=$1/$2
  local hint=""
  if [ "$2" = kueue ]; then
    hint="; kueue cmd runs a job in the directory it is submitted from"
  fi
  cat > "$target.new" <<LAUNCHER
#!/bin/sh
# $2 launcher, written by Kueue's install.sh
# The JVM cannot start in a deleted directory and would print a stack trace. \$PWD is checked
# first because it costs nothing; /bin/pwd asks the kernel only when that check fails.
if [ ! -d "\${PWD:-/-}" ] && ! /bin/pwd >/dev/null 2>&1; then
  echo "$2: the current directory no longer exists (deleted or moved away): cd to an existing one$hint" >&2
  exit 2
fi
${5:-}
exec "$share/runtime/bin/java" $4 --enable-native-access=ALL-UNNAMED \${KUEUE_JAVA_OPTIONS:-} -cp "${6:-$share/lib/kueue.jar}" $3 "\$@"
LAUNCHER
  chmod 755 "$target.new"
  mv "$target.new" "$target"
}
# The CLI starts a JVM for every command. Usually that JVM only relays the command to the user's
# CLI daemon (kueue.client.daemon), which keeps the parser, JSON, TLS and the server connection
# warm; the first command, or every one with KUEUE_CLI_DAEMON=off, runs in-process. Each way has
# its own ahead-of-time cache (trained below): the relay's holds the few classes it needs, since
# a cache holding all the CLI's classes made the relay start slower than no cache at all.
# C1 only and the serial GC start fastest, the cache loads classes pre-linked, and without the perf-data file
# (which only jps and jstat read) there is one file less to create per run. A command runs for a
# fraction of a second, so compiling all but its hottest methods costs more than it saves:
# CompileThresholdScaling=10 compiles 615 methods instead of 1,488 for `kueue cmd true`, which on
# a busy 2-core machine made it 15 to 25 % faster (bench/README.md). -Xlog:disable keeps the
# JVM from printing about a missing or stale cache on stdout, where scripts read job ids. Some of
# these options must be the same in training and use, or the JVM silently ignores the cache.
client_opts="-XX:TieredStopAtLevel=1 -XX:CompileThresholdScaling=10 -XX:+UseSerialGC -XX:-UsePerfData -Xmx256m -Xss512k -Xlog:disable -Xlog:all=error:stderr"
# Each launcher passes its ahead-of-time cache (trained below) only when it exists: a missing one
# would make the JVM print errors on every start.
use_cache() { # cache file name: the launcher lines that set $cache to the JVM option or nothing
  echo "if [ -f \"$share/$1\" ]; then cache=-XX:AOTCache=\"$share/$1\"; else cache=; fi"
}
# The relay's JVM gets only kueue-relay.jar on its class path, so that it never opens the big jar.
choose_cli="if [ \"\${KUEUE_CLI_DAEMON:-}\" = off ]; then main=kueue.client.KueueCli; class_path=\"$share/lib/kueue.jar\"; $(use_cache kueue-in-process.aot)
else main=kueue.client.daemon.CliRelay; class_path=\"$share/lib/kueue-relay.jar\"; $(use_cache kueue-relay.aot); fi"
# The worker compiles with C2 like the server: once warm it used 0.31 to 0.37 ms of CPU per short
# job against 0.45 to 0.47 ms with C1 only. C2 compiles only what runs thousands of times, so a
# worker that runs a few long jobs never pays for it; one that runs thousands of short ones pays
# about 3 s of CPU over its first 2,500 jobs and has it back after about 20,000 (bench/README.md).
# BenchFleet uses these options.
worker_opts="-XX:+UseSerialGC -Xmx256m"
server_opts="-Xmx2g"
for dir in "$bindir" "$here/bin"; do
  mkdir -p "$dir"
  write_launcher "$dir" kueue '$main' "$client_opts \$cache -Dkueue.cli.classpath=$share/lib/kueue.jar -Dkueue.cli.daemon.aotcache=$share/kueue-in-process.aot" "$choose_cli" '$class_path'
  write_launcher "$dir" kueue_server kueue.server.ServerMain "$server_opts \$cache" "$(use_cache kueue-server.aot)"
  write_launcher "$dir" kueue_worker kueue.worker.WorkerMain "$worker_opts \$cache" "$(use_cache kueue-worker.aot)"
  write_launcher "$dir" kueue_restart_workers kueue.worker.RestartWorkersMain "$client_opts"
done
echo "    programs: $bindir/{kueue,kueue_server,kueue_worker,kueue_restart_workers} (also in $here/bin)"

echo "==> training the start-up caches of kueue, kueue_server and kueue_worker (a private server and worker on 127.0.0.1)"
rm -f "$share/kueue.aot" # the single cache of earlier versions
# The fleet that trains them is in kueue-training.jar, used from the build and not installed.
"$share/runtime/bin/java" --enable-native-access=ALL-UNNAMED \
  -cp "$share/lib/kueue.jar:$here/training/target/kueue-training.jar" kueue.training.LauncherTraining \
  "$share" "$server_opts" "$worker_opts" "$client_opts" "$share/lib/kueue.jar" "$share/lib/kueue-relay.jar" \
  || echo "    (training failed: the programs run without start-up caches, only slower)"

# The first start of any program writes the config template with a fresh secret.
KUEUE_CLI_DAEMON=off "$bindir/kueue" list-resources >/dev/null 2>&1 || true

if [ "$start" = no ]; then
  exit 0
fi

stop_pid() { # pidfile
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null && grep -q kueue "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$1"
}
stop_pid "$state/worker.pid"
stop_pid "$state/server.pid"


config=${XDG_CONFIG_HOME:-$HOME/.config}/kueue/config.toml
port=$(sed -n 's/^[[:space:]]*server_port[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$config" 2>/dev/null | head -1)
echo "==> starting server and worker (logs in $state)"
nohup "$bindir/kueue_server" >>"$state/server.log" 2>&1 </dev/null &
echo $! > "$state/server.pid"
# The worker starts once the server answers, so that its log does not begin with refused
# connections.
for _ in $(seq 150); do
  "$bindir/kueue" list-workers >/dev/null 2>&1 && break
  kill -0 "$(cat "$state/server.pid")" 2>/dev/null || break
  sleep 0.2
done
nohup "$bindir/kueue_worker" >>"$state/worker.log" 2>&1 </dev/null &
echo $! > "$state/worker.pid"

for _ in $(seq 150); do
  if "$bindir/kueue" list-workers --json 2>/dev/null | grep -q '"name"'; then
    cat <<DONE
==> Kueue is running: server on port ${port:-11236}, one worker on this machine.
    Config: $config (server_port, worker slots, the shared secret);
            after changing it, run ./install.sh again to restart both.
    Try:    kueue cmd echo hello        (prints the job's id)
            kueue list-jobs             (what is pending, running, done)
            kueue show-job 1            (everything about job 1, its output too)
    Stop:   kill "\$(cat $state/worker.pid)" "\$(cat $state/server.pid)"
DONE
    case ":$PATH:" in *":$bindir:"*) ;; *) echo "    (add $bindir to your PATH)";; esac
    exit 0
  fi
  sleep 0.2
done
echo "install.sh: the local server or worker did not come up; see $state/server.log and $state/worker.log" >&2
exit 1
