#!/bin/sh
# Makes sure the PostgreSQL server binaries (initdb, pg_ctl, postgres) are
# present; gentd runs its own cluster from them. Installs the Debian
# package when run as root, otherwise prints the command to run.
set -e
have() {
  for d in "${GENT_PG_BINDIR:-}" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && return 0
  done
  command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1 && return 0
  return 1
}
have && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL server binaries not found: installing the Debian postgresql package..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  have && exit 0
  echo "installed postgresql, but its server binaries are still not found" >&2
  exit 1
fi
echo "PostgreSQL server binaries (initdb, pg_ctl, postgres) are required. Install them with:" >&2
echo "    sudo apt-get install -y postgresql" >&2
exit 1
