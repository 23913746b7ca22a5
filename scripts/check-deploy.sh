#!/usr/bin/env bash
# The deployable artifacts of deploy/: `promtool check rules` and `promtool test rules` on the alert
# rules, `promtool check config` on the example Prometheus configuration, then Tests/deploy (pytest,
# pinned in Tests/deploy/requirements.txt, in the repository's .venv): the Kubernetes manifests against
# the schemas of a pinned Kubernetes version (offline), the dashboard's panels and PromQL, the compose
# file, the Dockerfile, the env example, `matchmaker --version`, and every metric an alert or a panel
# uses against the /metrics of running `serve` (embedded and postgres backends) and `bots` processes.
# Runs inside a throwaway PostgreSQL (scripts/with-postgres.sh), never a DATABASE_URL set outside.
# Needs promtool (Debian: apt-get install prometheus; the daemon is never started).
# Usage: scripts/check-deploy.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${MATCHMAKER_PG_THROWAWAY:-}" != 1 ]]; then
    exec env MATCHMAKER_PG_THROWAWAY=1 scripts/with-postgres.sh "$0" "$@"
fi

if ! command -v promtool > /dev/null; then
    echo "check-deploy: no promtool (apt-get install prometheus)" >&2
    exit 2
fi

printf '\n==> promtool check rules, test rules and check config (deploy/observability)\n'
promtool check rules deploy/observability/alerts.yml
(cd deploy/observability && promtool test rules alerts_test.yml)
# prometheus-kubernetes.yml is left to Tests/deploy: Debian's promtool is built without Kubernetes discovery.
promtool check config deploy/observability/prometheus.yml

printf '\n==> Tests/deploy\n'
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r Tests/deploy/requirements.txt
swift build --product matchmaker

status=0
PATH="$PWD/.venv/bin:$PATH" MATCHMAKER_BIN="$PWD/.build/debug/matchmaker" \
    .venv/bin/python -m pytest -q -c Tests/deploy/pytest.ini Tests/deploy "$@" || status=$?
if [[ $status -eq 5 ]]; then
    echo "check-deploy: no test ran" >&2
    exit 1
fi
exit "$status"
