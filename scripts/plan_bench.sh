#!/usr/bin/env bash
# Planner benchmark: for each budget and residency policy, `flashslim plan`
# (from one profile) against the runtime's automatic plan (`run --mode stream`),
# each run inside a cgroup v1 memory limit equal to the budget, on a cold page
# cache, the configurations alternated run by run (the machine is shared:
# repeats are interleaved, not back to back). Prints per configuration the
# median decode tokens/s over the repeats, every repeat, and the plan's
# predicted decode tokens/s with its error, also at the rate each run read at.
#
# Usage: scripts/plan_bench.sh [MODEL]   (root: cgroups and drop_caches)
# Environment: FLASHSLIM_BIN (default build/flashslim), BUDGETS ("25% 50% 75%"),
# POLICIES ("balanced layers flexible"; also ffn-first and attention-first:
# flexible with that order fixed), KINDS ("planned auto"), REPEATS (3),
# TOKENS (24), THREADS (2), PROFILE (profile.json to use; default: made here
# with `flashslim profile`), OUT (results directory, default a temp dir),
# DISK_LOCK (/tmp/disk.lock: held with flock around the profile and each run,
# so that benchmarks of others sharing the disk never read at the same time).
set -euo pipefail

MODEL=${1:-/work/models/tinyllama-Q4_0.gguf}
BIN=${FLASHSLIM_BIN:-build/flashslim}
BUDGETS=${BUDGETS:-"25% 50% 75%"}
POLICIES=${POLICIES:-"balanced layers flexible"}
KINDS=${KINDS:-"planned auto"}
REPEATS=${REPEATS:-3}
TOKENS=${TOKENS:-24}
THREADS=${THREADS:-2}
OUT=${OUT:-$(mktemp -d /tmp/plan_bench.XXXXXX)}
DISK_LOCK=${DISK_LOCK:-/tmp/disk.lock}
PROFILE=${PROFILE:-$OUT/profile.json}
PROMPT="Once upon a time, in a small village by the sea, there lived"
CTX=256
mkdir -p "$OUT"

[[ -f $MODEL ]] || { echo "plan_bench: $MODEL not found (make it with: $BIN gen-model --preset tinyllama-1.1b --type Q4_0 -o $MODEL)" >&2; exit 1; }
# Plans are made for the batch the runs use, the prompt's length (`run` caps -b
# at it): the forward pass's buffers grow with the batch, and a plan for a larger
# one keeps less resident than the automatic plan at the same budget (TinyLlama,
# 22 tokens: 1.0 MiB less for a plan made for 32).
BATCH=$("$BIN" tokenize -m "$MODEL" -p "$PROMPT" --ids | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
SCRIPT=plan_bench
source "$(dirname "$0")/bench_common.sh"
require_cgroup_root

if [[ ! -f $PROFILE ]]; then
  echo "plan_bench: profiling $MODEL into $PROFILE" >&2
  flock "$DISK_LOCK" "$BIN" profile -m "$MODEL" -t "$THREADS" -o "$PROFILE" 2> "$OUT/profile.err"
fi

# policy_flags NAME: the plan flags of a POLICIES entry.
policy_flags() {
  case $1 in
    ffn-first | attention-first) echo "--policy flexible --flexible-order $1" ;;
    *) echo "--policy $1" ;;
  esac
}

# The same budget strings go to plan and run (percentages of the model file).
for budget in $BUDGETS; do
  for policy in $POLICIES; do
    "$BIN" plan -m "$MODEL" --budget "$budget" --profile "$PROFILE" $(policy_flags "$policy") \
      -t "$THREADS" -c $CTX -b $BATCH -o "$OUT/plan-${budget%\%}-$policy.json" 2>> "$OUT/plan.err"
  done
done

# run NAME PLAN ARGS...: one cold run in its own cgroup limited to the plan's budget.
run() {
  local name=$1 plan=$2
  shift 2
  local bytes status peak
  bytes=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['budget_bytes'])" "$plan")
  # The lock is held for the run alone (fd 9), not the whole sweep.
  exec 9> "$DISK_LOCK"
  flock 9
  read -r status peak < <(cold_run "$name" "$bytes" -m "$MODEL" -p "$PROMPT" -n "$TOKENS" \
    -t "$THREADS" -c $CTX -b $BATCH --temp 0 --ignore-eos --no-mlock \
    --stats-json "$OUT/$name.json" "$@")
  exec 9>&-
  echo "{\"name\": \"$name\", \"status\": \"$status\", \"load\": \"$(cut -d' ' -f1 /proc/loadavg)\", \"cgroup_peak\": $peak}" >> "$OUT/runs.jsonl"
}

for rep in $(seq 1 "$REPEATS"); do
  # The second run of a pair ran faster more often than not (the host's cache of the
  # file): even rounds take the kinds in reverse order.
  kinds=$KINDS
  ((rep % 2 == 0)) && kinds=$(tr ' ' '\n' <<<"$KINDS" | tac | tr '\n' ' ')
  for budget in $BUDGETS; do
    for policy in $POLICIES; do
      for kind in $kinds; do
        # `run` has no order flag: its flexible policy picks the order by budget.
        [[ $kind == auto && $policy == *-first ]] && continue
        name="${budget%\%}-$policy-$kind-$rep"
        echo "plan_bench: $name (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        plan="$OUT/plan-${budget%\%}-$policy.json"
        if [[ $kind == planned ]]; then
          run "$name" "$plan" --plan "$plan"
        else
          run "$name" "$plan" --mode stream --budget "$budget" --policy "$policy"
        fi
      done
    done
  done
done

python3 - "$OUT" "$BUDGETS" "$POLICIES" "$KINDS" "$REPEATS" <<'PY'
import json, os, statistics, sys
out, budgets, policies, kinds, repeats = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split(), int(sys.argv[5])
runs = {r["name"]: r for r in map(json.loads, open(os.path.join(out, "runs.jsonl")))}
med = lambda xs: statistics.median(xs) if xs else float("nan")
# decode_tps is passes per second (n tokens take n-1 passes), what the plan predicts.
# "error at run's read rate": the prediction with the plan's read time scaled
# to the rate each run read at (pass ~ max(compute, io), the simulated pass
# scaled by the change of that maximum), median over runs. On a shared disk
# whose rate moves 2-3x within minutes this separates the disk's level at
# profile time from the rest: bytes per pass, which resource binds, and how
# much compute hides under the reads.
print("| budget | policy | kind | median decode t/s | runs t/s | predicted | error | error at run's read rate | read GB/s run (plan) | compute ms/pass run (profile) | load (1 min) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for b in budgets:
    for p in policies:
        plan = json.load(open(os.path.join(out, f"plan-{b.rstrip('%')}-{p}.json")))
        predicted = plan["predictions"]["decode_tokens_per_s"]
        assumed = plan["prefetch"]["assumed_read"]["gb_per_s"]
        profiled = plan["cmt"]["decode"]["compute_ms"]
        io_ms = plan["cmt"]["decode"]["io_ms"]
        at_rate = lambda gbps: predicted * max(profiled, io_ms) / max(profiled, io_ms * assumed / gbps)
        for k in kinds:
            names = [f"{b.rstrip('%')}-{p}-{k}-{rep}" for rep in range(1, repeats + 1)]
            if not any(n in runs for n in names):
                continue
            tps, gbps, cms, loads, errs = [], [], [], [], []
            for name in names:
                r = runs.get(name, {})
                loads.append(r.get("load", "?"))
                if r.get("status") != "ok":
                    tps.append(float("nan"))
                    continue
                st = json.load(open(os.path.join(out, name + ".json")))
                tps.append(st["decode_tps"])
                gbps.append(st["read_gbps"])
                cms.append(1000 * (st["decode_s"] - st["stall_s"]) / st["decode_passes"])
                errs.append(100 * (at_rate(gbps[-1]) - tps[-1]) / tps[-1])
            ok = [t for t in tps if t == t]
            pred = f"{predicted:.2f}" if k == "planned" else ""
            err = f"{100 * (predicted - med(ok)) / med(ok):+.0f}%" if k == "planned" and ok else ""
            err_at_rate = f"{med(errs):+.0f}%" if k == "planned" and errs else ""
            print(f"| {b} | {p} | {k} | {med(ok):.2f} | {' '.join(f'{t:.2f}' for t in tps)} | {pred} | {err} | {err_at_rate} "
                  f"| {med(gbps):.2f} ({assumed:.2f}) | {med(cms):.0f} ({profiled:.0f}) | {' '.join(loads)} |")
PY
echo "results in $OUT" >&2
