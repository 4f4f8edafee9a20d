#!/bin/sh
# Entrypoint of the Redis image, with the behaviour of the Docker library image's: arguments that are flags or a
# .conf file run redis-server; root drops to the redis user (owning /data first); protected mode is off unless the
# command line or a config file sets it, because clients come over the pod network: set --requirepass.
set -e
case "$1" in -*|*.conf) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ]; then
  off=yes
  case "$2" in *.conf) off= ;; esac
  for arg in "$@"; do [ "$arg" != --protected-mode ] || off=; done
  [ -z "$off" ] || set -- "$@" --protected-mode no
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
