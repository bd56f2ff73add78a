#!/usr/bin/env bash
# The refactor check of issue 12: the three benchmark ratios on an earlier commit and on this checkout,
# back to back on the same machine.   usage: benchmarks/before_after.sh REV [ROUNDS]
set -u
rev=${1:?usage: benchmarks/before_after.sh REV [ROUNDS]}
rounds=${2:-2}
top=$(git rev-parse --show-toplevel)
py=${PYTHON:-$top/.venv/bin/python}
before=$(mktemp -d)
trap 'git -C "$top" worktree remove --force "$before" >/dev/null 2>&1' EXIT
git -C "$top" worktree add -q --detach "$before" "$rev"
for round in $(seq "$rounds"); do
  for side in "$before" "$top"; do
    name=$([ "$side" = "$top" ] && echo after || echo "before ($rev)")
    cd "$side" || exit 1
    export PYTHONPATH=$side/src
    echo "=== round $round, $name"
    timeout 300 "$py" benchmarks/train_overhead.py --repeats 5 2>&1 | grep "ratio"
    timeout 400 "$py" benchmarks/gradients.py --repeats 5 --threads 1 --no-naive 2>&1 | tail -7
    [ "$round" = 1 ] && timeout 400 "$py" benchmarks/streaming.py --rounds 3 2>&1 | sed -n '/^2\. /,/^3\. /p'
  done
done
