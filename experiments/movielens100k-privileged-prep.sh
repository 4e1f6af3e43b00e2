#!/usr/bin/env bash
# MovieLens-100k ratings with two hindsight features for the privileged teacher of
# examples/movielens100k-clid.yaml: each rating's movie's mean rating and its user's mean rating
# over the *whole* log, leaving the rating itself out (so the row's own label is not in them).
# They use ratings made after the event (and a user's or movie's later ratings), so no served model
# could read them: a teacher may, the student may not. A movie or user rated once gets the mean of
# all other ratings. Writes runs/data/movielens100k-priv/u.data.priv.tsv.gz
# (user, item, rating, time, item_avg, user_avg; tab-separated, no header, the original row order).
set -euo pipefail
src=../shared/data/movielens_100k/u.data.gz
out=runs/data/movielens100k-priv
mkdir -p "$out"
zcat "$src" | awk -F '\t' -v OFS='\t' '
  { u[NR] = $1; i[NR] = $2; r[NR] = $3; t[NR] = $4; is[$2] += $3; ic[$2]++; us[$1] += $3; uc[$1]++; tot += $3 }
  END {
    for (n = 1; n <= NR; n++) {
      g = (tot - r[n]) / (NR - 1)
      ia = ic[i[n]] > 1 ? (is[i[n]] - r[n]) / (ic[i[n]] - 1) : g
      ua = uc[u[n]] > 1 ? (us[u[n]] - r[n]) / (uc[u[n]] - 1) : g
      printf "%s\t%s\t%s\t%s\t%.6f\t%.6f\n", u[n], i[n], r[n], t[n], ia, ua
    }
  }' | gzip -n > "$out/u.data.priv.tsv.gz.tmp"
mv "$out/u.data.priv.tsv.gz.tmp" "$out/u.data.priv.tsv.gz"
