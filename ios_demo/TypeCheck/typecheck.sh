#!/usr/bin/env bash
# Type-check the iOS app's non-UI Swift files (App/*.swift that do not import SwiftUI) on Linux, against
# QACore and the Core ML stand-in declarations in this folder; used by `make test-swift-app`.
# Needs only a Swift toolchain (swiftc on PATH, or /opt/swift/usr/bin); prints SKIP and exits 0 without one.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IOS="$(cd "$HERE/.." && pwd)"
REPO="$(cd "$IOS/.." && pwd)"
OUT="${SWIFT_TYPECHECK_DIR:-$REPO/build/swift-app-typecheck}"

SWIFTC="$(command -v swiftc || true)"
if [ -z "$SWIFTC" ] && [ -x /opt/swift/usr/bin/swiftc ]; then SWIFTC=/opt/swift/usr/bin/swiftc; fi
if [ -z "$SWIFTC" ]; then
  echo "SKIP Swift app type-check: no swiftc on PATH or in /opt/swift/usr/bin"
  exit 0
fi

mapfile -t APP < <(grep -L '^import SwiftUI' "$IOS"/App/*.swift | sort)
if [ "${#APP[@]}" -eq 0 ]; then
  echo "FAIL Swift app type-check: no non-UI Swift files under $IOS/App" >&2
  exit 1
fi
rm -rf "$OUT"
mkdir -p "$OUT"
# Swift 5 language mode and targeted concurrency checks, as project.yml builds the app.
FLAGS=(-swift-version 5 -strict-concurrency=targeted)
"$SWIFTC" "${FLAGS[@]}" -parse-as-library -emit-module -module-name QACore -emit-module-path "$OUT/QACore.swiftmodule" \
  "$IOS"/QACore/Sources/QACore/*.swift
"$SWIFTC" "${FLAGS[@]}" -parse-as-library -emit-module -module-name CoreML -emit-module-path "$OUT/CoreML.swiftmodule" \
  "$HERE/CoreML.swift"
"$SWIFTC" "${FLAGS[@]}" -typecheck -warnings-as-errors -I "$OUT" "${APP[@]}"
echo "swift app type-check: ${#APP[@]} files OK ($(cd "$IOS/App" && grep -L '^import SwiftUI' *.swift | tr '\n' ' '))"
