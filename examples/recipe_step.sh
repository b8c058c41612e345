#!/usr/bin/env bash
# The steps of a recipe of several trainings (`make real`), each trained once and continued where
# a stopped sitting left it, so that running the recipe again picks up where it stopped.
#
#   examples/recipe_step.sh IFAN RUN_DIR [TRAIN ARGUMENTS...]
#       RUN_DIR.done exists (the step finished in an earlier sitting): nothing is trained.
#       RUN_DIR holds a checkpoint: `IFAN train --resume RUN_DIR`.
#       otherwise: `IFAN train TRAIN ARGUMENTS --out RUN_DIR` (a folder that a stopped start left
#       without a checkpoint is started afresh).
#   examples/recipe_step.sh --times DIR
#       how long each step of DIR took, its sittings summed, and the total.
#
# A step's arguments are kept in RUN_DIR.args: a step begun with other arguments stops with an
# error rather than finishing one recipe with another's settings. Each sitting's seconds go to
# DIR/times.tsv (step, how, seconds); a sitting that was stopped (killed, or the machine shut
# down) is counted up to the last file it wrote, when the next sitting begins.
set -euo pipefail

if [ "${1:-}" = "--times" ]; then
  times="$2/times.tsv"
  [ -s "$times" ] || { echo "$2: no step timed yet"; exit 0; }
  awk -F'\t' '
    function hm(s) { return sprintf("%dh %02dm", s / 3600, (s % 3600) / 60) }
    !($1 in seconds) { order[++n] = $1 }
    { seconds[$1] += $3; sittings[$1]++; total += $3 }
    END {
      for (i = 1; i <= n; i++) {
        s = order[i]
        plural = sittings[s] > 1 ? "s" : ""
        printf "time: %-10s %s (%d sitting%s)\n", s, hm(seconds[s]), sittings[s], plural
      }
      printf "time: %-10s %s\n", "all steps", hm(total)
    }' "$times"
  exit 0
fi

if [ $# -lt 2 ]; then
  echo "usage: $0 IFAN RUN_DIR [TRAIN ARGUMENTS...] | $0 --times DIR" >&2
  exit 2
fi
ifan=$1 run=${2%/}
shift 2
step=$(basename "$run")
times="$(dirname "$run")/times.tsv"
wanted=$(printf '%q ' "$@")
wanted=${wanted% }

if [ -e "$run.args" ] && [ "$(cat "$run.args")" != "$wanted" ]; then
  {
    echo "error: $run was begun with other settings"
    echo "  then: $(cat "$run.args")"
    echo "  now:  $wanted"
    echo "  run it with the same settings to continue it, or remove $(dirname "$run") to start over"
  } >&2
  exit 2
fi
if [ ! -e "$run.args" ] && compgen -G "$run/checkpoints/*.safetensors" > /dev/null; then
  {
    echo "error: $run holds a run that this recipe did not begin (no $run.args beside it)"
    echo "  remove $run, or give the recipe another folder (make real REAL=DIR)"
  } >&2
  exit 2
fi
if [ -e "$run.done" ]; then
  echo "$run: finished in an earlier sitting, kept"
  exit 0
fi

mkdir -p "$(dirname "$run")"
if [ -e "$run.sitting" ]; then
  # The last sitting was stopped: count it up to the last file it wrote.
  read -r how began < "$run.sitting"
  last=$began
  while IFS= read -r -d '' file; do  # date -r FILE: GNU's and BSD's (macOS) date alike
    wrote=$(date -r "$file" +%s)
    if [ "$wrote" -gt "$last" ]; then last=$wrote; fi
  done < <(find "$run" "$run.sitting" -type f -print0 2>/dev/null)
  printf '%s\t%s, stopped\t%d\n' "$step" "$how" "$(( last - began ))" >> "$times"
fi
began=$(date +%s)
if compgen -G "$run/checkpoints/*.safetensors" > /dev/null; then
  echo "resumed $began" > "$run.sitting"
  "$ifan" train --resume "$run"
  how=resumed
else
  rm -rf "$run"
  printf '%s' "$wanted" > "$run.args"
  echo "fresh $began" > "$run.sitting"
  "$ifan" train "$@" --out "$run"
  how=fresh
fi
printf '%s\t%s\t%d\n' "$step" "$how" "$(( $(date +%s) - began ))" >> "$times"
rm -f "$run.sitting"
touch "$run.done"
