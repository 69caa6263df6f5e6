#!/usr/bin/env bash
# check-sanitizer-reports.sh DIR: fails, printing each report, when DIR holds any sanitizer
# report. The end-to-end tests point the programs they start at DIR (ASAN_OPTIONS and
# UBSAN_OPTIONS log_path, see tests/support/sanitizer_reports.h) and fail the test that saw a
# report; this catches what a process wrote after its test had ended.
set -euo pipefail

dir="${1:?usage: check-sanitizer-reports.sh DIR}"
reports=()
while IFS= read -r -d '' file; do
  reports+=("$file")
done < <(find "$dir" -type f -print0 2>/dev/null)

if [ "${#reports[@]}" -eq 0 ]; then
  echo "sanitizer reports: none"
  exit 0
fi
for file in "${reports[@]}"; do
  echo "==== sanitizer report $file"
  cat "$file"
done
echo "sanitizer reports: ${#reports[@]} (see above)" >&2
exit 1
