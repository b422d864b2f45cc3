# Sourced by the bench scripts: builds the benchmark jar if needed and runs a main class from it.
root=$(cd "$here/.." && pwd)
. "$root/scripts/find-jdk.sh"
jar="$root/bench/target/kueue-bench.jar"

run_bench() {
  if [ ! -f "$jar" ] || [ -n "$(find "$root" -name '*.java' -newer "$jar" -not -path '*/target/*' | head -1)" ]; then
    (cd "$root" && mvn -B -q -ntp -Dstyle.color=never -DskipTests -pl bench -am package) >&2
  fi
  local main=$1
  shift
  # shellcheck disable=SC2086 # bench_jvm_options: JVM options a script may set, split on spaces
  exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED ${bench_jvm_options:-} -cp "$jar" "$main" "$@"
}
