#!/usr/bin/env bash
# The conformance tier: the storage and archive end-to-end tests, and the chaos suite at small scale,
# against Ceph's S3 gateway (RGW) instead of s3rver. Starts RGW with scripts/rgw.sh, runs the tier's
# files through scripts/run-tests.mjs with TEST_S3_* naming RGW (each startTestS3() then makes a
# bucket of its own there), and stops RGW whatever happened. Runs on a build (`npm run test:rgw`).
#   scripts/test-rgw.sh [filter ...]   only the tier's files whose path contains a filter
# Tests that need a test hook of s3rver are not run here; each is named with its reason at the end.
# Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

TIER=(
  test/storage/s3-object-store.test
  test/storage/s3-requests.test
  test/transfers/archive-pipeline.test
  test/transfers/archive-proof.test
  test/transfers/archive-workers.test
  test/transfers/hostile-platform-data.test
  test/chaos/chaos.test
)

files=()
for f in "${TIER[@]}"; do
  if [ $# -eq 0 ]; then
    files+=("$f")
  else
    for filter in "$@"; do
      case "$f" in *"$filter"*) files+=("$f"); break ;; esac
    done
  fi
done
if [ ${#files[@]} -eq 0 ]; then
  echo "no file of the RGW tier matches: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/archiver-rgw.XXXXXX")
log=$(mktemp)
trap 'scripts/rgw.sh stop "$dir" || true; rm -f "$log"' EXIT
trap 'exit 130' INT TERM

# The key pair of the embedded S3: services a test starts with the keys spelled out work on both.
export RGW_ACCESS_KEY=${RGW_ACCESS_KEY:-S3RVER}
export RGW_SECRET_KEY=${RGW_SECRET_KEY:-S3RVER}
endpoint=$(scripts/rgw.sh start "$dir")
status=$?
if [ $status -ne 0 ]; then
  [ $status -eq 3 ] && echo "the RGW tier needs Ceph's packages: run scripts/rgw.sh install as root" >&2
  echo "RGW did not start" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

version=$(radosgw --version 2>/dev/null | awk '{print $3}')
TEST_S3_ENDPOINT=$endpoint TEST_S3_ACCESS_KEY=$RGW_ACCESS_KEY TEST_S3_SECRET=$RGW_SECRET_KEY \
  TEST_S3_NAME="Ceph RGW${version:+ $version}" \
  node scripts/run-tests.mjs "${files[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# What was left out, and why, stays in sight; the last line stays the run's count.
if grep -q '^ *not run on ' "$log"; then
  echo
  echo "Not run on RGW (each needs a test hook of s3rver; they run in npm test):"
  grep -o 'not run on .*' "$log" | sort -u | sed 's/^/  /'
fi
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
echo "${summary:-0 passed, 1 failed}"
[ -n "$summary" ] || status=1
exit "$status"
