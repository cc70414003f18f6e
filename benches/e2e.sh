#!/usr/bin/env bash
# End-to-end benchmark runs as the README reports them: starts a release `tessera serve` on a fresh database,
# runs `tessera bench` against it RUNS times and prints one summary line per run (and the JSON reports to
# $OUT_DIR when set). Loopback only.
#
#   benches/e2e.sh [--runs N] [--postgres URL] [--seed CREDENTIALS] [--users N] [--duration S]
#                  [-- extra bench arguments]
#
# Build first: cargo build --release (or set BENCH_BIN to another build). Defaults: 3 runs of 2,000 users at
# concurrency 64 for 10 s, SQLite. --seed fills a tenant with that many users and passkeys (`tessera seed`)
# before the server starts, and the bench runs in that tenant. The PostgreSQL database should be empty.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3 pg="" seed=0 users=2000 duration=10 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --postgres) pg=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
bin=${BENCH_BIN:-target/release/tessera}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
export TESSERA_ADMIN_API_KEY=$(openssl rand -hex 32) TESSERA_SECRET_KEY=$(openssl rand -hex 32)
export TESSERA_PUBLIC_ADDR=127.0.0.1:18400 TESSERA_ADMIN_ADDR=127.0.0.1:18401 TESSERA_RATE_LIMIT=off TESSERA_LOG_LEVEL=warn
export TESSERA_DATABASE_URL=${pg:-"sqlite://$dir/bench.db?mode=rwc"}
tenant=()
if [ "$seed" -gt 0 ]; then
  "$bin" migrate up >/dev/null
  "$bin" --json seed --credentials "$seed" > "$dir/seed.json"
  read -r tid key < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["tenant_id"], d["api_key"])' "$dir/seed.json")
  echo "seeded $seed credentials into tenant $tid"
  tenant=(--tenant "$tid" --api-key "$key")
fi
"$bin" serve &
pid=$!
started=$(date +%s%N)
for _ in $(seq 1 1000); do curl -sf http://127.0.0.1:18400/readyz >/dev/null && break; sleep 0.01; done
echo "start to ready: $(( ($(date +%s%N) - started) / 1000000 )) ms (polled every 10 ms)"
for run in $(seq 1 "$runs"); do
  report="$dir/run-$run.json"
  "$bin" --json bench --public-url http://127.0.0.1:18400 --admin-url http://127.0.0.1:18401 \
    --users "$users" --concurrency 64 --duration "$duration" --server-pid "$pid" "${tenant[@]}" "${extra[@]}" > "$report"
  [ -n "${OUT_DIR:-}" ] && cp "$report" "$OUT_DIR/"
  python3 - "$report" "$run" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = lambda v: "-" if v is None else f"{v:,.0f}"
print(f"run {sys.argv[2]}: {f(r['logins_per_sec'])} logins/s at {f(r['server_cpu_us_per_ceremony'])} µs CPU each, "
      f"finalize p50/p99 {r['login_finalize']['p50_us']/1000:.1f}/{r['login_finalize']['p99_us']/1000:.1f} ms; "
      f"{f(r['registrations_per_sec'])} registrations/s at {f(r.get('server_cpu_us_per_registration'))} µs CPU each; "
      f"{r['error_count']} errors")
PY
done
echo "server resident memory: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
