#!/bin/sh
# Makes sure HAProxy is present for the load-balancer end-to-end test
# (cmd/gentd TestHAProxy, docs/cluster.md). Installs the Debian package
# when run as root, otherwise prints the command to run.
set -e
command -v haproxy >/dev/null 2>&1 && exit 0
[ -x /usr/sbin/haproxy ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "haproxy not found: installing the Debian haproxy package..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq haproxy >/dev/null
  { command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; } && exit 0
  echo "installed haproxy, but the haproxy binary is still not found" >&2
  exit 1
fi
echo "HAProxy is required for the load-balancer test. Install it with:" >&2
echo "    sudo apt-get install -y haproxy" >&2
exit 1
