#!/usr/bin/env bash
# Prediction difference (PD, SPEC §7) between students of different seeds, per cell of
# experiments/pd-criteo.yaml: each student scores the Criteo head's test rows (the last 2,000 of
# the 10,000: file-order split 8/10), and PD is taken on the disjoint seed pairs (1,2) … (9,10).
# Prints one line per cell: the five PDs, their mean and 95 % t-interval.
# Run from the repository root after `ctrkit experiment experiments/pd-criteo.yaml`; another
# grid over examples/criteo.yaml (same test rows) by its output folder: pd-criteo.sh runs/pd-smelu-criteo.
set -euo pipefail
CTRKIT=${CTRKIT:-npx ctrkit}
out=${1:-runs/pd-criteo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zcat ../shared/data/criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz | tail -n +8001 > "$tmp/test.txt"
for cell in "$out"/runs/*/; do
  name=$(basename "$cell")
  pds=()
  for a in 1 3 5 7 9; do
    b=$((a + 1))
    for k in $a $b; do $CTRKIT predict -m "$cell/seed$k/model" -i "$tmp/test.txt" -o "$tmp/p$k.csv" 2>/dev/null; done
    pds+=("$($CTRKIT metrics -i "$tmp/p$a.csv" -a "$tmp/p$b.csv" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).pd))')")
  done
  node -e '
    const x = process.argv.slice(1).map(Number), n = x.length, m = x.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
    console.log(`'"$name"': pd ${x.map((v) => v.toFixed(4)).join(" ")} mean ${m.toFixed(4)} ± ${(2.776 * sd / Math.sqrt(n)).toFixed(4)}`);
  ' "${pds[@]}"
done
