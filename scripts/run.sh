#!/bin/sh
# make run: start gentd (embedded PostgreSQL under the data directory) in
# the background, wait until it is ready, run the TUI in the foreground,
# and stop gentd when the TUI exits.
#
# Without a terminal (CI, ssh without -t, a process manager) there is no
# TUI to run: gentd runs in the foreground instead (exec'd, so signals
# reach it and its exit status is ours), after a hint on how to start the
# TUI from a terminal.
#
# GENT_DATA_DIR (default ./var) and GENT_HTTP_ADDR (default 127.0.0.1:8080)
# are honoured and passed to both, so gentd and the TUI agree on where the
# setup code is and where the API listens; every other GENT_* variable
# reaches gentd as usual (GENT_SMTP_ADDR, GENT_CONFIG, ...).
set -e
cd "$(dirname "$0")/.."
if [ -z "$GENT_DATA_DIR" ]; then
  GENT_DATA_DIR=./var
  # As root, the embedded PostgreSQL runs as the postgres user, which must
  # be able to reach the data directory; a checkout under a private home
  # (/root is 0700) cannot hold it, so the data goes to /var/lib/gent.
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 &&
     ! su -s /bin/sh postgres -c "cd '$PWD'" >/dev/null 2>&1; then
    GENT_DATA_DIR=/var/lib/gent
    echo "The postgres user cannot enter $PWD: keeping the data in $GENT_DATA_DIR (set GENT_DATA_DIR to choose)."
  fi
fi
GENT_HTTP_ADDR="${GENT_HTTP_ADDR:-127.0.0.1:8080}"
export GENT_DATA_DIR GENT_HTTP_ADDR
mkdir -p "$GENT_DATA_DIR"
LOG="$GENT_DATA_DIR/gentd.log"

# The TUI connects over loopback even when gentd listens on every address.
case "$GENT_HTTP_ADDR" in
  0.0.0.0:*|:*) CONNECT="127.0.0.1:${GENT_HTTP_ADDR##*:}" ;;
  "[::]:"*) CONNECT="[::1]:${GENT_HTTP_ADDR##*:}" ;;
  *) CONNECT="$GENT_HTTP_ADDR" ;;
esac
URL="http://$CONNECT"

if curl -fs "$URL/readyz" >/dev/null 2>&1; then
  echo "Something already answers on $URL (another gentd?)." >&2
  echo "Stop it, or choose another address: GENT_HTTP_ADDR=127.0.0.1:8081 make run" >&2
  exit 1
fi

if ! { [ -t 0 ] && [ -t 1 ]; }; then
  echo "No terminal: running gentd in the foreground (stop it with Ctrl-C or SIGTERM)."
  echo "To use the TUI, run this from a terminal:"
  echo "  ./bin/genttui --server $URL --data-dir $GENT_DATA_DIR"
  exec ./bin/gentd
fi

./bin/gentd >"$LOG" 2>&1 &
GENTD=$!

# stop_gentd asks gentd to shut down (it stops its PostgreSQL too) and
# waits for it; after 60 s it is killed.
stop_gentd() {
  kill -0 "$GENTD" 2>/dev/null || return 0
  kill -TERM "$GENTD" 2>/dev/null || true
  # The terminal may be gone (a hangup): a failed echo must not end the
  # script before gentd has stopped.
  echo "stopping gentd..." 2>/dev/null || true
  i=0
  while kill -0 "$GENTD" 2>/dev/null; do
    i=$((i+1))
    if [ $i -gt 600 ]; then
      kill -KILL "$GENTD" 2>/dev/null || true
      echo "gentd did not stop within 60 s; killed it (see $LOG)" >&2 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  wait "$GENTD" 2>/dev/null || true
}
trap stop_gentd EXIT
trap 'exit 130' INT TERM

echo "gentd starting (log: $LOG)..."
i=0
until curl -fs "$URL/readyz" >/dev/null 2>&1; do
  if ! kill -0 "$GENTD" 2>/dev/null; then
    echo "gentd failed to start:" >&2; tail -n 20 "$LOG" >&2; exit 1
  fi
  i=$((i+1)); [ $i -gt 600 ] && { echo "gentd did not become ready within 2 minutes (see $LOG)" >&2; exit 1; }
  sleep 0.2
done
echo "gentd ready on $URL"
if [ -f "$GENT_DATA_DIR/setup-code" ]; then echo "setup code: $(cat "$GENT_DATA_DIR/setup-code")"; fi
# First run: the three commands that get an agent going on the sandbox
# domain (docs/quickstart.md has the whole walk; cmd/gentd/quickstart_test.go
# runs these three too).
if [ -f "$GENT_DATA_DIR/setup-code" ]; then
  sed "s#@URL@#$URL#g" <<'EOF'

After setup (in the TUI), three commands in another terminal get an agent going
on your sandbox domain (needs curl and jq; docs/quickstart.md has the rest):

  S=$(curl -s @URL@/v1/auth/login -d '{"email":"YOUR EMAIL","password":"YOUR PASSWORD"}' | jq -r .token)
  INBOX=$(curl -s @URL@/v1/inboxes -H "Authorization: Bearer $S" -d '{"address":"my-agent@'"$(curl -s @URL@/v1/domains -H "Authorization: Bearer $S" | jq -r '.data[] | select(.sandbox) | .name')"'"}' | jq -r .id)
  curl -s @URL@/v1/tokens -H "Authorization: Bearer $S" -d '{"inbox_id":"'"$INBOX"'","label":"my-agent","scopes":["email:read","email:send"],"requires_approval":["email:send"]}' | jq -r .token

EOF
fi
# The TUI runs as a child the script waits for (its input is the
# terminal's, named explicitly: an asynchronous command's would be
# /dev/null), so that a hangup — the terminal window closed — is handled
# at once: the TUI is stopped, then gentd (the EXIT trap). gentd itself
# ignores SIGHUP (it reloads certificates on it), and a TUI whose terminal
# has gone away may never notice; waited for in the foreground, the trap
# would run only after it exits.
exec 3<&0
./bin/genttui --server "$URL" --data-dir "$GENT_DATA_DIR" <&3 &
TUI=$!
trap 'kill -TERM "$TUI" 2>/dev/null; exit 129' HUP
status=0
wait "$TUI" || status=$?
exit $status
