#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for auscult's sweep tests (and for trying
# `auscult sweep --slurm` without a cluster).
#
#   scripts/slurm-local.sh start    install Debian's slurm-wlm + munge when missing, write a
#                                   one-node slurm.conf, start munged, slurmctld and slurmd, wait
#                                   for the node to be idle (exit 0), or say why not (exit 1)
#   scripts/slurm-local.sh stop     stop only the daemons this script started (by pid file)
#   scripts/slurm-local.sh status   `sinfo` and `squeue`
#
# Needs root (package installation and the daemons). No cgroups: proctrack/linuxproc and
# task/none, so it also runs in containers. Everything it writes outside /etc/slurm and
# /etc/munge lives in $AUSCULT_SLURM_STATE (default /var/tmp/auscult-slurm). A slurm.conf it did
# not write is never replaced: when one exists without our marker line, `start` only checks that
# `sinfo` answers.
set -euo pipefail

STATE="${AUSCULT_SLURM_STATE:-/var/tmp/auscult-slurm}"
CONF=/etc/slurm/slurm.conf
MARK="# written by auscult scripts/slurm-local.sh"

say() { echo "slurm-local: $*" >&2; }

node_idle() {
  sinfo -h -N -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'
}

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
    && command -v munged >/dev/null && command -v sbatch >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    say "slurm-wlm is not installed and this is not root: cannot install it"
    return 1
  fi
  say "installing slurm-wlm and munge (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || { say "apt-get update failed (no network?)"; return 1; }
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null \
      || { say "apt-get install slurm-wlm munge failed"; return 1; }
  fi
}

write_conf() {
  local host cpus mem
  host="$(hostname -s)"
  cpus="$(nproc)"
  # Slurm wants RealMemory in MiB; leave a quarter to the system.
  mem="$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 3 / 4 }' /proc/meminfo)"
  mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d" "$STATE/log"
  cat >"$CONF.tmp" <<EOF
$MARK
ClusterName=auscult-local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobRequeue=1
# Seconds between a job's SIGTERM (scancel, time limit) and its SIGKILL.
KillWait=30
MinJobAge=300
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start_munge() {
  if [ -f "$STATE/munged.pid" ] && kill -0 "$(cat "$STATE/munged.pid")" 2>/dev/null; then
    return 0
  fi
  if pgrep -x munged >/dev/null; then
    return 0
  fi
  mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  chmod 0400 /etc/munge/munge.key
  chmod 0700 /etc/munge
  # munged runs as the munge user; its pid file lands where it may write.
  if id munge >/dev/null 2>&1; then
    su -s /bin/sh munge -c "munged --pid-file=/run/munge/munged.pid" \
      || runuser -u munge -- munged --pid-file=/run/munge/munged.pid
  else
    munged --force --pid-file=/run/munge/munged.pid
  fi
  cp /run/munge/munged.pid "$STATE/munged.pid"
}

start() {
  if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    say "$CONF was not written by this script: leaving it; checking that sinfo answers"
    node_idle && { say "Slurm answers"; return 0; }
    say "sinfo does not show an idle node"
    return 1
  fi
  install || return 1
  mkdir -p "$STATE"
  write_conf
  start_munge || { say "munged did not start"; return 1; }
  if ! { [ -f "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null; }; then
    slurmctld -c 2>>"$STATE/log/start.log" \
      || { say "slurmctld did not start (see $STATE/log)"; return 1; }
  fi
  if ! { [ -f "$STATE/slurmd.pid" ] && kill -0 "$(cat "$STATE/slurmd.pid")" 2>/dev/null; }; then
    slurmd 2>>"$STATE/log/start.log" \
      || { say "slurmd did not start (see $STATE/log)"; return 1; }
  fi
  for _ in $(seq 1 60); do
    if node_idle; then
      say "one-node cluster up: $(sinfo -h -o '%P %D %T' | head -1)"
      return 0
    fi
    # A node left down by an earlier run comes back when told.
    scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    sleep 1
  done
  say "the node did not become idle in 60 s (see $STATE/log)"
  sinfo -N -l >&2 || true
  return 1
}

stop() {
  local name
  for name in slurmd slurmctld munged; do
    local pid="$STATE/$name.pid"
    if [ -f "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null; then
      kill "$(cat "$pid")" || true
      say "stopped $name"
    fi
    rm -f "$pid"
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) sinfo && squeue ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
