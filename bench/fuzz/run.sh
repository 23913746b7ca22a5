#!/usr/bin/env bash
# The long fuzz run (issue 16): every target of Tests/FuzzTests for FUZZ_SECONDS each (default 60; 7 targets,
# so 7 minutes of fuzzing), seed FUZZ_SEED (default 2026), in release with testability so that the
# PostgREST parser (internal) can be reached. Each target prints its inputs, time and inputs/s; a failure
# prints the input and exits non-zero. Usage: bench/fuzz/run.sh [debug]   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
configuration=${1:-release}
export FUZZ_SECONDS=${FUZZ_SECONDS:-60} FUZZ_SEED=${FUZZ_SEED:-2026}
if [ "$configuration" = release ]; then
    swift build -c release -Xswiftc -enable-testing --build-tests
else
    swift build --build-tests
fi
# One suite at a time: the synchronous fuzz loops would otherwise hold the cooperative threads the
# fixture runner (async) needs, and it would get a fraction of its time.
status=0
for suite in JSONFuzzTests PhoenixFuzzTests PostgRESTFuzzTests FixtureFuzzTests CrasherTests FixtureCrasherTests; do
    "$(swift build -c "$configuration" --show-bin-path)/matchmakerPackageTests.xctest" --testing-library swift-testing \
        --filter "FuzzTests.$suite" 2>&1 | grep -E '^fuzz |✘|Test run' || status=1
done
exit $status
