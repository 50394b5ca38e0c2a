#!/usr/bin/env bash
# Compile qa-core (main + test sources) with javac and run every JUnit 4 test class; used by `make test-java`.
# Needs only a JDK 17 and Debian's junit4 package (/usr/share/java/junit4.jar); skips with a message without them.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="$HERE/build/plain-javac"
JUNIT_JAR="${JUNIT_JAR:-/usr/share/java/junit4.jar}"
HAMCREST_JAR="${HAMCREST_JAR:-/usr/share/java/hamcrest-core.jar}"
GOLDEN_DIR="${POCKETBERT_GOLDEN_DIR:-$REPO/tests/golden}"

if ! command -v javac >/dev/null 2>&1; then
  echo "SKIP Java qa-core tests: no javac on PATH (install a JDK 17)"
  exit 0
fi
if [ ! -f "$JUNIT_JAR" ]; then
  echo "SKIP Java qa-core tests: $JUNIT_JAR is missing (apt-get install junit4, or set JUNIT_JAR)"
  exit 0
fi
CP_LIBS="$JUNIT_JAR"
if [ -f "$HAMCREST_JAR" ]; then CP_LIBS="$CP_LIBS:$HAMCREST_JAR"; fi

rm -rf "$BUILD"
mkdir -p "$BUILD/main" "$BUILD/test"

mapfile -t MAIN_SRC < <(find "$HERE/src/main/java" -name '*.java' | sort)
mapfile -t TEST_SRC < <(find "$HERE/src/test/java" -name '*.java' | sort)
if [ "${#TEST_SRC[@]}" -eq 0 ]; then
  echo "FAIL Java qa-core tests: no test sources under $HERE/src/test/java" >&2
  exit 1
fi

javac --release 17 -Xlint:all -Werror -encoding UTF-8 -d "$BUILD/main" "${MAIN_SRC[@]}"
javac --release 17 -encoding UTF-8 -cp "$BUILD/main:$CP_LIBS" -d "$BUILD/test" "${TEST_SRC[@]}"

# Every compiled top-level class named *Test is a test class (nested classes carry a '$').
mapfile -t CLASSES < <(cd "$BUILD/test" && find . -name '*Test.class' ! -name '*$*' | sed -e 's|^\./||' -e 's|\.class$||' -e 's|/|.|g' | sort)
echo "Java qa-core: running ${#CLASSES[@]} test classes (golden vectors: $GOLDEN_DIR)"
status=0
java -Dpocketbert.golden.dir="$GOLDEN_DIR" -Dpocketbert.swift.tables="$REPO/ios_demo/QACore/Sources/QACore/UnicodeTables.swift" -cp "$BUILD/main:$BUILD/test:$CP_LIBS" \
  org.junit.runner.JUnitCore "${CLASSES[@]}" | tee "$BUILD/junit.log" || status=$?
# JUnit 4 closes with "OK (N tests)" or "Tests run: N,  Failures: F"; restate it as the plain closing line CI reads.
if ok=$(grep -oE '^OK \(([0-9]+) tests?\)' "$BUILD/junit.log"); then
  echo "java qa-core: $(grep -oE '[0-9]+' <<<"$ok") passed, 0 failed"
elif run=$(grep -oE 'Tests run: [0-9]+, +Failures: [0-9]+' "$BUILD/junit.log"); then
  read -r total failed < <(grep -oE '[0-9]+' <<<"$run" | xargs)
  echo "java qa-core: $((total - failed)) passed, $failed failed"
fi
exit "$status"
