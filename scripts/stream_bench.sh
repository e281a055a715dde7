#!/usr/bin/env bash
# Streaming benchmark: for each budget, runs `flashslim run` in each mode inside
# a cgroup v1 memory limit equal to the budget, on a cold page cache, and
# prints tokens/s, the bound, % of bound and peak memory as a table.
#
# The bound is min(1 / T_compute, disk GB/s / streamed bytes per token), from
# two measurements made here, outside the streamed runs (whose own compute and
# read rates are slowed by each other): T_compute from a resident run without a
# limit, disk GB/s from cold sequential O_DIRECT io_uring reads of the model
# file by fio into huge pages like the runtime's (the best of 1 MiB and 2 MiB
# at depth 8, over at most 1 GiB; without hugetlb pages 1 MiB at depth 16 and
# 32 into 4 KiB pages; dd with 4 MiB blocks without fio) taken right before and right after each run
# and averaged, since this disk's rate moves 1.5x within minutes; streamed
# bytes per token from the stream run's --stats-json. The run's own
# `bound_tps` (from its in-run figures) is shown beside it as "in-run bound".
#
# Usage: scripts/stream_bench.sh [MODEL]   (root: cgroups and drop_caches)
# Environment: FLASHSLIM_BIN (default build/flashslim), BUDGETS ("75% 50% 25%";
# bytes with K/M/G also work), MODES ("mmap stream sync"), TOKENS (16),
# THREADS (2), POLICY (balanced), OUT (results directory, default a temp dir).
set -euo pipefail

MODEL=${1:-/work/models/tinyllama-Q4_0.gguf}
BIN=${FLASHSLIM_BIN:-build/flashslim}
BUDGETS=${BUDGETS:-"75% 50% 25%"}
MODES=${MODES:-"mmap stream sync"}
TOKENS=${TOKENS:-16}
THREADS=${THREADS:-2}
POLICY=${POLICY:-balanced}
OUT=${OUT:-$(mktemp -d /tmp/stream_bench.XXXXXX)}
PROMPT="Once upon a time, in a small village by the sea, there lived"
mkdir -p "$OUT"

[[ -f $MODEL ]] || { echo "stream_bench: $MODEL not found (make it with: $BIN gen-model --preset tinyllama-1.1b --type Q4_0 -o $MODEL)" >&2; exit 1; }
[[ -x $BIN ]] || { echo "stream_bench: $BIN not found or not executable (set FLASHSLIM_BIN)" >&2; exit 1; }
SCRIPT=stream_bench
source "$(dirname "$0")/bench_common.sh"
require_cgroup_root

file_bytes=$(stat -c %s "$MODEL")
budget_bytes() {  # "50%" of the file, or a size with K/M/G
  python3 - "$1" "$file_bytes" <<'PY'
import re, sys
t, base = sys.argv[1], int(sys.argv[2])
if t.endswith('%'): print(int(base * float(t[:-1]) / 100)); sys.exit()
m = re.fullmatch(r'([\d.]+)([KMGT]?)(i?B)?', t, re.I)
print(int(float(m.group(1)) * 1024 ** ' KMGT'.index((m.group(2) or ' ').upper())))
PY
}

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d$2)" "$1" 2>/dev/null || echo nan; }

# run NAME LIMIT_BYTES|none ARGS...: one cold run in its own cgroup; prints "status peak"
run() {
  local name=$1 limit=$2
  shift 2
  cold_run "$name" "$limit" -m "$MODEL" -p "$PROMPT" -n "$TOKENS" -t "$THREADS" -c 256 --temp 0 \
    --ignore-eos --stats-json "$OUT/$name.json" --token-log "$OUT/$name.jsonl" "$@"
}

echo "model $MODEL ($file_bytes bytes), $TOKENS tokens, $THREADS threads, policy $POLICY; results in $OUT"

# T_compute: everything resident, no limit (warm the file first so the load is quick).
cat "$MODEL" > /dev/null
"$BIN" run -m "$MODEL" -p "$PROMPT" -n "$TOKENS" -t "$THREADS" -c 256 --temp 0 --ignore-eos \
  --mode resident --stats-json "$OUT/resident.json" > /dev/null 2>&1
resident_tps=$(json "$OUT/resident.json" "['decode_tps']")
# Disk: cold sequential O_DIRECT reads of the model file, the best setting (GB/s).
fio_size=$((file_bytes > 1 << 30 ? 1 << 30 : file_bytes / 1048576 * 1048576))
# fio reads into huge pages, as the runtime does (AlignedBuffer::huge_paged):
# this virtio disk reads about twice as fast into huge pages (fio 1 MiB at
# depth 16: 2.0-2.2 GB/s with --mem=shmhuge, 1.0 with its default buffers, in
# the same minutes), and there depth 8 beats 16/32 (medians of 4 rounds: 1 MiB
# d8 2.13, 2 MiB d8 2.28, 1 MiB d16 1.76, d32 1.83); into 4 KiB pages depth
# 16/32 were best. shmhuge needs hugetlb pages: 20 more are reserved and the
# old count is put back on exit.
fio_mem="" fio_pages="4 KiB pages (no hugetlb pages: understates the disk ~2x)" fio_settings="1M:16 1M:32"
if command -v fio > /dev/null; then
  huge_before=$(cat /proc/sys/vm/nr_hugepages)
  trap 'echo "$huge_before" > /proc/sys/vm/nr_hugepages' EXIT
  echo $((huge_before + 20)) > /proc/sys/vm/nr_hugepages 2> /dev/null || true
  if (($(awk '/HugePages_Free/ {print $2}' /proc/meminfo) >= 20)); then
    fio_mem=--mem=shmhuge fio_pages="huge pages" fio_settings="1M:8 2M:8"
  fi
fi
read_gbps() {  # fio: a cold sequential read of $1-byte blocks (K/M suffix) at queue depth $2
  fio --name=disk --filename="$MODEL" --readonly --rw=read --bs="$1" --iodepth="$2" --size="$fio_size" \
    --ioengine=io_uring --direct=1 $fio_mem --output-format=json 2>/dev/null |
    python3 -c "import json,sys; print(json.load(sys.stdin)['jobs'][0]['read']['bw_bytes']/1e9)"
}
if command -v fio > /dev/null; then
  disk_how="fio io_uring into $fio_pages, best of ${fio_settings// /, } (block:depth), before and after each run"
  disk_now() { for setting in $fio_settings; do read_gbps "${setting%:*}" "${setting#*:}"; done | sort -g | tail -1; }
else
  disk_how="dd 4 MiB, before and after each run"
  disk_now() {
    drop_caches
    dd if="$MODEL" of=/dev/null bs=4M count=256 iflag=direct 2>&1 | awk '/copied/ {print $(NF-1) * ($NF ~ /^GB/ ? 1 : $NF ~ /^MB/ ? 0.001 : 1)}'
  }
fi
echo "resident (no limit): $resident_tps t/s; disk O_DIRECT sequential: $disk_how; load: $(cut -d' ' -f1-3 /proc/loadavg)"

# llama.cpp's mmap t/s under the same limits (docs/machine.md): the 637 MB
# TinyLlama-1.1B Q4_0 and the 3.8 GB Llama-2-7B Q4_0.
if ((file_bytes < 1000000000)); then
  declare -A llama_ref=(["75%"]=2.25 ["50%"]=1.94 ["25%"]=1.81)
else
  declare -A llama_ref=(["2G"]=0.286 ["1G"]=0.255)
fi
printf '\n| budget | mode | t/s | disk GB/s | bound t/s | %% of bound | in-run bound t/s | vs llama.cpp mmap | cgroup peak MiB | VmHWM MiB | stall s | read GB/s | overlap | load | status |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for budget in $BUDGETS; do
  bytes=$(budget_bytes "$budget")
  declare -A status_of=() peak_of=() disk_of=() load_of=()
  for mode in $MODES; do
    name="${budget%\%}pct-$mode"; [[ $budget == *%* ]] || name="$budget-$mode"
    before=$(disk_now)
    read -r status_of[$mode] peak_of[$mode] < <(run "$name" "$bytes" --mode "$mode" --budget "$bytes" --policy "$POLICY" --no-mlock)
    load_of[$mode]=$(cut -d' ' -f1 /proc/loadavg)
    disk_of[$mode]=$(python3 -c "import sys; print((float(sys.argv[1]) + float(sys.argv[2])) / 2)" "$before" "$(disk_now)")
  done
  # The bound of a budget: what the stream plan must read per token (else the mode's own reads).
  stream_json="${budget%\%}pct-stream.json"; [[ $budget == *%* ]] || stream_json="$budget-stream.json"
  streamed=$(json "$OUT/$stream_json" "['bytes_read_per_token']")
  for mode in $MODES; do
    name="${budget%\%}pct-$mode"; [[ $budget == *%* ]] || name="$budget-$mode"
    f=$OUT/$name.json
    tps=$(json "$f" "['decode_tps']")
    per_token=$streamed; [[ $per_token == nan ]] && per_token=$(json "$f" "['bytes_read_per_token']")
    bound=$(python3 -c "import sys; r,d,b=map(float,sys.argv[1:]); print(f'{min(r, d*1e9/b) if b>0 else r:.2f}')" "$resident_tps" "${disk_of[$mode]}" "$per_token" 2>/dev/null || echo nan)
    pct=$(python3 -c "import sys; t,b=map(float,sys.argv[1:]); print(f'{100*t/b:.0f}')" "$tps" "$bound" 2>/dev/null || echo nan)
    ref=${llama_ref[$budget]:-}
    vs=$([[ -n $ref ]] && python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}x')" "$tps" "$ref" 2>/dev/null || echo "")
    printf '| %s (%d MiB) | %s | %.2f | %.2f | %s | %s | %.2f | %s | %.1f | %.1f | %.2f | %.2f | %.0f%% | %s | %s |\n' \
      "$budget" $((bytes >> 20)) "$mode" "$tps" "${disk_of[$mode]}" "$bound" "$pct" "$(json "$f" "['bound_tps']")" "$vs" \
      "$(python3 -c "print(${peak_of[$mode]}/1048576)")" "$(python3 -c "print($(json "$f" "['peak_rss_bytes']")/1048576)" 2>/dev/null || echo nan)" \
      "$(json "$f" "['stall_s']")" "$(json "$f" "['read_gbps']")" \
      "$(python3 -c "print(100*$(json "$f" "['overlap_ratio']"))" 2>/dev/null || echo nan)" "${load_of[$mode]}" "${status_of[$mode]}"
  done
  unset status_of peak_of disk_of load_of
done
