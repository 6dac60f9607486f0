#!/usr/bin/env bash
# A real S3 on loopback for the conformance tier: Ceph's S3 gateway (RGW) on a single-node cluster of
# one monitor and one in-memory OSD, without authentication between the daemons, from Debian's packages.
#
#   scripts/rgw.sh install              installs radosgw, ceph-mon, ceph-osd, ceph-common when missing
#                                       (needs root and apt-get); exit 3 when they cannot be installed
#   scripts/rgw.sh start DIR [PORT]     installs when missing, starts the cluster under DIR (empty or
#                                       new) with S3 on PORT and the monitor on PORT+1 (both free ones
#                                       when PORT is not given), prints the S3 endpoint on stdout
#   scripts/rgw.sh stop DIR             stops the daemons started under DIR and removes DIR
#
# The S3 user's keys are RGW_ACCESS_KEY and RGW_SECRET_KEY (default "rgw-test" for both). Data lives
# in memory and is gone after stop. Progress and the boot time go to stderr; a failed start prints the
# end of each daemon's log and stops whatever it had started.
set -euo pipefail

PACKAGES=(radosgw ceph-mon ceph-osd ceph-common)
cmd=${1:-}
dir=${2:-}
port=${3:-}
access_key=${RGW_ACCESS_KEY:-rgw-test}
secret_key=${RGW_SECRET_KEY:-rgw-test}

say() { echo "rgw: $*" >&2; }
usage() {
  sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

have_ceph() {
  command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null &&
    command -v ceph >/dev/null && command -v radosgw-admin >/dev/null
}

install() {
  have_ceph && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    say "Ceph is not installed and cannot be installed here (needs root and apt-get): ${PACKAGES[*]}"
    return 3
  fi
  say "installing ${PACKAGES[*]}"
  local log
  log=$(mktemp)
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"; } \
    >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    say "apt-get could not install ${PACKAGES[*]}"
    return 3
  fi
  rm -f "$log"
  have_ceph || { say "installed, but the Ceph commands are still missing"; return 3; }
}

pids_of() {
  local f
  for f in "$1"/run/*.pid; do [ -f "$f" ] && cat "$f"; done
  return 0
}

stop() {
  local d=$1 pids p alive
  [ -d "$d" ] || return 0
  # Only a directory this script made (or an empty one) is removed.
  if [ ! -f "$d/ceph.conf" ]; then
    rmdir "$d" 2>/dev/null && return 0
    say "$d holds no cluster of this script; left as it is"
    return 1
  fi
  pids=$(pids_of "$d")
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 40); do
    alive=
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.25
  done
  for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$d"
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# A port whose next one is free too, from a range the kernel does not hand out on its own.
free_port_pair() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 10000))
    port_free "$p" && port_free "$((p + 1))" && { echo "$p"; return 0; }
  done
  say "found no two free neighbouring ports"
  return 1
}

start() {
  [ -n "$dir" ] || usage
  install || exit $?
  [ -n "$port" ] || port=$(free_port_pair) || exit 1
  local monport=$((port + 1))
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    say "$dir is not empty; stop what runs there first (scripts/rgw.sh stop $dir)"
    exit 1
  fi
  for p in "$port" "$monport"; do
    port_free "$p" || { say "port $p on 127.0.0.1 is taken"; exit 1; }
  done
  mkdir -p "$dir"/run "$dir"/log "$dir"/mon "$dir"/osd "$dir"/rgw
  dir=$(cd "$dir" && pwd)
  local conf="$dir/ceph.conf" fsid began=$SECONDS
  local cc=(--conf "$conf")
  local ceph=(ceph "${cc[@]}" --connect-timeout 20)
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$monport
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms bind ipv6 = false
run dir = $dir/run
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
osd objectstore = memstore
# Memory is taken as objects arrive; this is a ceiling (tests upload a few hundred MiB at a time).
memstore device bytes = 8589934592
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
# The OSD is placed by this script; left to itself at start it sometimes asks the monitor with an
# empty cluster id and gives up ("wrong fsid").
osd crush update on start = false
osd class update on start = false
mon allow pool size one = true
mon warn on pool no redundancy = false
[mon.a]
mon data = $dir/mon
[osd.0]
osd data = $dir/osd
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw
# Deleted objects and aborted uploads give their memory back within a minute, not after two hours.
rgw gc obj min wait = 30
rgw gc processor period = 30
CONF

  # On any failure from here: show why, and leave nothing running.
  trap 'status=$?; trap - EXIT; if [ $status -ne 0 ]; then fail_report "$dir"; stop "$dir" || true; fi; exit $status' EXIT

  say "starting a monitor on 127.0.0.1:$monport"
  ceph-mon "${cc[@]}" -i a --mkfs --fsid "$fsid" >"$dir/log/mkfs-mon.out" 2>&1
  ceph-mon "${cc[@]}" -i a
  wait_for 30 "${ceph[@]}" mon stat || { say "the monitor did not answer"; exit 1; }

  say "starting an in-memory OSD"
  local osd_id
  osd_id=$("${ceph[@]}" osd create)
  [ "$osd_id" = 0 ] || { say "expected osd 0, the monitor gave $osd_id"; exit 1; }
  ceph-osd "${cc[@]}" -i 0 --mkfs >"$dir/log/mkfs-osd.out" 2>&1
  ceph-osd "${cc[@]}" -i 0 >"$dir/log/osd.0.out" 2>&1
  "${ceph[@]}" osd crush add osd.0 1.0 host=localhost root=default >/dev/null 2>&1
  wait_for 60 osd_up "${ceph[@]}" || { say "the OSD did not come up"; exit 1; }

  say "starting the S3 gateway on 127.0.0.1:$port"
  radosgw "${cc[@]}" -n client.rgw
  wait_for 90 http_ok "$port" || { say "the gateway did not answer"; exit 1; }
  radosgw-admin "${cc[@]}" user create --uid=conformance --display-name=conformance \
    --access-key="$access_key" --secret-key="$secret_key" >/dev/null
  trap - EXIT
  say "up in $((SECONDS - began)) s (logs in $dir/log)"
  echo "http://127.0.0.1:$port"
}

# Whether an HTTP server on the port answers 200 to GET / (RGW lists no buckets for anonymous).
http_ok() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t 5 line <&3 && [[ $line == "HTTP/1."?" 200"* ]]
  ) 2>/dev/null
}

osd_up() {
  "$@" osd dump 2>/dev/null | grep -qE '^osd\.0 up +in'
}

fail_report() {
  local f
  for f in "$1"/log/*; do
    [ -s "$f" ] || continue
    echo "---- $(basename "$f") (last lines)" >&2
    tail -n 15 "$f" >&2
  done
}

case "$cmd" in
  install) install ;;
  start) start ;;
  stop)
    [ -n "$dir" ] || usage
    stop "$dir"
    ;;
  *) usage ;;
esac
