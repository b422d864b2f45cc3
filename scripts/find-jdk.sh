# Sourced by install.sh and test.sh: points JAVA_HOME at a JDK 25 or newer. The machine's default
# java may be older (17 on our lab machines), so JAVA_HOME and /usr/lib/jvm are searched.

java_major() { # prints the feature version of the JDK at $1, or nothing
  [ -x "$1/bin/java" ] || return 0
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}

find_jdk() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/* "$HOME"/.sdkman/candidates/java/* /opt/*jdk*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/javac" ] || continue
    major=$(java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! JAVA_HOME=$(find_jdk); then
  echo "Kueue needs JDK 25 or newer: none found in JAVA_HOME or /usr/lib/jvm." >&2
  echo "Install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  exit 1
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
# Maven 3.8's bundled Guava touches sun.misc.Unsafe; JDK 25 warns about it on every run.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
