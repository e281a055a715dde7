# Sourced by scripts/stream_bench.sh and scripts/plan_bench.sh: the checks both
# need and one cold `flashslim run` in its own cgroup v1 memory limit. The caller
# sets SCRIPT (its name, for messages and cgroup names), BIN and OUT.

# require_cgroup_root: root and a writable cgroup v1 memory controller; sets CG_PARENT.
require_cgroup_root() {
  [[ $(id -u) == 0 ]] || { echo "$SCRIPT: needs root (cgroup limits, drop_caches)" >&2; exit 1; }
  local rel
  rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
  CG_PARENT=/sys/fs/cgroup/memory${rel%/}
  [[ -w $CG_PARENT ]] || { echo "$SCRIPT: no writable cgroup v1 memory controller at $CG_PARENT" >&2; exit 1; }
}

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# cold_run NAME LIMIT_BYTES|none RUN_ARGS...: drops the page cache, then runs
# `$BIN run RUN_ARGS` in a new cgroup limited to LIMIT (stdout and stderr to
# $OUT/NAME.out and .err); prints "STATUS PEAK_BYTES", STATUS ok, exitN or oom.
cold_run() {
  local name=$1 limit=$2
  shift 2
  local cg=$CG_PARENT/$SCRIPT-$$-$name
  mkdir "$cg"
  if [[ $limit != none ]]; then
    echo "$limit" > "$cg/memory.limit_in_bytes"
    [[ -f $cg/memory.memsw.limit_in_bytes ]] && echo "$limit" > "$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true
  fi
  drop_caches
  local status=ok
  sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$cg" "$BIN" run "$@" \
    > "$OUT/$name.out" 2> "$OUT/$name.err" || status="exit$?"
  local oom
  oom=$(awk '/oom_kill / {print $2}' "$cg/memory.oom_control" 2>/dev/null || echo 0)
  [[ ${oom:-0} != 0 ]] && status=oom
  echo "$status $(cat "$cg/memory.max_usage_in_bytes")"
  rmdir "$cg"
}
