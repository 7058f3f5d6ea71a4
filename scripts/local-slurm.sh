#!/usr/bin/env bash
# A real single-node SLURM on this machine, from Debian's packages, without systemd: for testing the SLURM
# profile (tests/test_slurm.py) and trying it out.
#
#   scripts/local-slurm.sh up       install slurm-wlm and munge if missing (apt-get), write a one-node
#                                   slurm.conf (partition "debug"), start munged, slurmctld and slurmd;
#                                   idempotent: what already runs is left as it is
#   scripts/local-slurm.sh status   what runs, and sinfo
#   scripts/local-slurm.sh down     stop the daemons this script started (and only those)
#
# Needs root (packages, daemons, /etc/slurm). Exit status 77 where it cannot run here (not root, no apt-get,
# packages not installable), so a test can skip with the reason printed.
# State (the pids it started) is kept in $LOCAL_SLURM_STATE (default /run/weightspace-local-slurm).
set -euo pipefail

STATE=${LOCAL_SLURM_STATE:-/run/weightspace-local-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by weightspace scripts/local-slurm.sh"
HOST=$(hostname -s)

say() { echo "local-slurm: $*" >&2; }
cannot() { say "cannot run here: $*"; exit 77; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# the pid of a running daemon (by its pid file, checked against its command name), or nothing
daemon_pid() {  # name pidfile
    local pid
    pid=$(cat "$2" 2>/dev/null || true)
    if alive "$pid" && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$1" ]; then echo "$pid"; fi
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && command -v sbatch >/dev/null; then
        return
    fi
    command -v apt-get >/dev/null || cannot "slurm-wlm/munge are not installed and there is no apt-get"
    say "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq slurm-wlm munge; } >"$STATE/apt.log" 2>&1; then
        tail -5 "$STATE/apt.log" >&2
        cannot "apt-get install slurm-wlm munge failed (log: $STATE/apt.log)"
    fi
}

write_conf() {
    if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        say "$CONF exists and was not written by this script: using it as it is"
        return
    fi
    local cpus mem
    cpus=$(nproc)
    mem=$(free -m | awk '/^Mem:/ {print int($2 * 0.9)}')
    mkdir -p /etc/slurm
    cat >"$CONF.tmp" <<EOF
$MARK
ClusterName=local
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
MinJobAge=600
NodeName=$HOST CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
    if ! cmp -s "$CONF.tmp" "$CONF" 2>/dev/null; then mv "$CONF.tmp" "$CONF"; else rm -f "$CONF.tmp"; fi
}

start_munge() {
    local pid
    pid=$(daemon_pid munged /run/munge/munged.pid)
    if [ -n "$pid" ]; then say "munged runs (pid $pid)"; return; fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
        chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    fi
    su -s /bin/sh munge -c /usr/sbin/munged
    for _ in $(seq 50); do pid=$(daemon_pid munged /run/munge/munged.pid); [ -n "$pid" ] && break; sleep 0.1; done
    [ -n "$pid" ] || { say "munged did not start (see /var/log/munge/munged.log)"; exit 1; }
    echo "$pid" >"$STATE/munged.pid"
    say "started munged (pid $pid)"
}

start_daemon() {  # name pidfile
    local pid
    pid=$(daemon_pid "$1" "$2")
    if [ -n "$pid" ]; then say "$1 runs (pid $pid)"; return; fi
    mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    "/usr/sbin/$1"
    for _ in $(seq 100); do pid=$(daemon_pid "$1" "$2"); [ -n "$pid" ] && break; sleep 0.1; done
    [ -n "$pid" ] || { say "$1 did not start (see /var/log/slurm/$1.log)"; exit 1; }
    echo "$pid" >"$STATE/$1.pid"
    say "started $1 (pid $pid)"
}

up() {
    [ "$(id -u)" = 0 ] || cannot "needs root (packages, daemons, /etc/slurm); run it as root"
    mkdir -p "$STATE"
    install_packages
    write_conf
    start_munge
    munge -n | unmunge >/dev/null || { say "munge does not work (munge -n | unmunge)"; exit 1; }
    start_daemon slurmctld /run/slurmctld.pid
    start_daemon slurmd /run/slurmd.pid
    local state=""
    for _ in $(seq 60); do
        state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -1 || true)
        case "$state" in idle* | mixed* | allocated*) break ;; down* | drain*)
            scontrol update nodename="$HOST" state=resume 2>/dev/null || true ;; esac
        sleep 1
    done
    case "$state" in
        idle* | mixed* | allocated*) say "up: node $HOST is $state (partition debug)" ;;
        *) say "the node did not come up (state '${state:-none}'; see /var/log/slurm/)"; exit 1 ;;
    esac
}

stop_ours() {  # name
    local f="$STATE/$1.pid" pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if alive "$pid" && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$1" ]; then
        kill "$pid"
        for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" && kill -9 "$pid"
        say "stopped $1 (pid $pid)"
    fi
    rm -f "$f"
}

down() {
    if [ -d "$STATE" ]; then
        stop_ours slurmd
        stop_ours slurmctld
        stop_ours munged
    else
        say "no daemon started by this script"
    fi
    # A slurm.conf naming a controller that no longer runs makes every SLURM client wait for it: scontrol takes
    # ~2 s per call to give up, and Snakemake's SLURM plugin calls it 4 times when it is imported, i.e. in every
    # snakemake run, local ones too (9 s each). Ours goes with the daemons (`up` writes it again).
    if [ -f "$CONF" ] && grep -qF "$MARK" "$CONF" && ! pgrep -x slurmctld >/dev/null; then
        rm -f "$CONF"
        say "removed $CONF (written by this script)"
    fi
}

status() {
    local name pid
    for name in munged slurmctld slurmd; do
        case $name in munged) pid=$(daemon_pid munged /run/munge/munged.pid) ;; *) pid=$(daemon_pid $name /run/$name.pid) ;; esac
        if [ -n "$pid" ]; then
            if [ "$(cat "$STATE/$name.pid" 2>/dev/null)" = "$pid" ]; then echo "$name: running (pid $pid, started by this script)"
            else echo "$name: running (pid $pid, not started by this script)"; fi
        else
            echo "$name: not running"
        fi
    done
    command -v sinfo >/dev/null && sinfo 2>/dev/null || true
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
