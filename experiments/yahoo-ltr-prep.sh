#!/usr/bin/env bash
# The Yahoo LTR sample (../shared/data/yahoo_ltr_lightgbm_sample) keeps its queries in LightGBM
# .query files (a row count per query) rather than in qid: fields; this writes SVMlight copies with
# qid:<query number> under runs/data/yahoo-ltr, which examples/yahoo-clid*.yaml read.
set -euo pipefail
src=../shared/data/yahoo_ltr_lightgbm_sample
out=runs/data/yahoo-ltr
mkdir -p "$out"
for part in train test; do
  zcat "$src/rank.$part.gz" | awk -v qf="$src/rank.$part.query" '
    BEGIN { q = 0; left = 0 }
    {
      while (left == 0) { if ((getline n < qf) <= 0) { print "rank.'"$part"'.query: fewer rows than the data" > "/dev/stderr"; exit 1 } q++; left = n }
      label = $1; $1 = ""; print label " qid:" q $0; left--
    }
    END { if (left != 0 || (getline n < qf) > 0) { print "rank.'"$part"'.query: counts do not match the data" > "/dev/stderr"; exit 1 } }
  ' | gzip -n > "$out/rank.$part.qid.txt.gz.tmp"
  mv "$out/rank.$part.qid.txt.gz.tmp" "$out/rank.$part.qid.txt.gz"
done
