#!/bin/sh
# make run: start gentd (embedded PostgreSQL under ./var) in the background,
# wait until it is ready, run the TUI in the foreground, and stop gentd when
# the TUI exits.
set -e
cd "$(dirname "$0")/.."
mkdir -p var
HTTP_ADDR="${GENT_HTTP_ADDR:-127.0.0.1:8080}"
./bin/gentd >var/gentd.log 2>&1 &
GENTD=$!
trap 'kill -TERM $GENTD 2>/dev/null; wait $GENTD 2>/dev/null || true' EXIT INT TERM
echo "gentd starting (log: var/gentd.log)..."
i=0
until curl -fs "http://$HTTP_ADDR/readyz" >/dev/null 2>&1; do
  if ! kill -0 $GENTD 2>/dev/null; then
    echo "gentd failed to start:" >&2; tail -n 20 var/gentd.log >&2; exit 1
  fi
  i=$((i+1)); [ $i -gt 600 ] && { echo "gentd did not become ready" >&2; exit 1; }
  sleep 0.2
done
echo "gentd ready on http://$HTTP_ADDR"
if [ -f var/setup-code ]; then echo "setup code: $(cat var/setup-code)"; fi
./bin/genttui --server "http://$HTTP_ADDR" --data-dir ./var
