#!/usr/bin/env bash
# Runs a fuzz target once on every file of the given folders (missing or empty folders are
# skipped); fails if any input crashes it. Used by ctest (fuzz/CMakeLists.txt).
set -euo pipefail
target=$1
shift
files=()
for dir in "$@"; do
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -type f ! -name '*.md' -print0)
done
if [ ${#files[@]} -eq 0 ]; then
  echo "no inputs"
  exit 0
fi
"$target" -runs=1 -timeout=10 "${files[@]}" 2>&1 | tail -n 5
exit "${PIPESTATUS[0]}"
