#!/usr/bin/env bash
# The test command (README, .ci/run): builds the solution and runs every test project, unit,
# conformance (real libiscsi/qemu initiators), interop (python3-grpcio) and simulation suites.
# Prints one closing line "tests: N passed, N failed, N skipped". Exit status is dotnet test's.
set -uo pipefail
cd "$(dirname "$0")"
config=${CONFIGURATION:-Release}
log=$(mktemp)
dotnet build SdsTarget.sln -c "$config" --nologo -v q || exit 1
dotnet test SdsTarget.sln -c "$config" --no-build --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
python3 - "$log" <<'PY'
import re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"(Passed|Failed)!\s+-\s+Failed:\s+(\d+),\s+Passed:\s+(\d+),\s+Skipped:\s+(\d+)", line)
    if m:
        failed += int(m.group(2)); passed += int(m.group(3)); skipped += int(m.group(4))
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
rm -f "$log"
exit "$status"
