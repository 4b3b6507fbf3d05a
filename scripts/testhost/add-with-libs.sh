#!/usr/bin/env bash
# Copies a program and the shared libraries it loads into a test-host payload:
#   PAYLOAD/bin/NAME and PAYLOAD/sysroot/<library paths> (run.sh copies sysroot/ to /).
# Usage: add-with-libs.sh PROGRAM PAYLOAD_DIR
set -euo pipefail
program=$(command -v "$1") || { echo "add-with-libs.sh: no program $1" >&2; exit 1; }
payload=$2
mkdir -p "$payload/bin"
cp -L "$program" "$payload/bin/"
for library in $(ldd "$program" 2>/dev/null | grep -o '/[^ ]*'); do
  mkdir -p "$payload/sysroot$(dirname "$library")"
  cp -L "$library" "$payload/sysroot$library"
done
