#!/usr/bin/env bash
# MovieLens-100k ratings with two privileged columns for the teacher of
# examples/movielens100k-clid.yaml (written to runs/data/movielens100k-priv/u.data.priv.tsv.gz:
# user, item, rating, time, item_avg, next_gap, next_rating; tab-separated, no header, sorted by
# user, time, item):
# - item_avg: the movie's mean rating over the other users' fit-period ratings, those made before
#   *and after* this one (hindsight: a served model only has the ratings so far); the mean of all
#   fit ratings when there are none. Fit period = all but each user's last 20 ratings, the
#   validation + test rows of split { mode: last, validation: 10, test: 10 }, so no held-out rating
#   enters it.
# - next_gap: ln(1 + seconds until the user's next rating) (a post-event feature, like dwell time:
#   known only once the user has moved on); a user's last rating: the seconds to the log's end.
# - next_rating: the user's next rating (post-event: the mood of the session goes on); the mean of
#   all fit ratings for a user's last rating and for the last fit-period rating, whose next one is
#   held out: what the student learns from (the teacher's scores of fit rows) reads no held-out
#   label. A held-out row's is its next held-out rating (the teacher's own test figures use it).
# Neither depends on the row's own rating. (The users' leave-one-out mean rating does: within one
# user it falls as the row's rating rises, a label leak, so it is not used.)
set -euo pipefail
src=../shared/data/movielens_100k/u.data.gz
out=runs/data/movielens100k-priv
mkdir -p "$out"
zcat "$src" | LC_ALL=C sort -t "$(printf '\t')" -k1,1n -k4,4n -k2,2n > "$out/sorted.tsv.tmp"
awk -F '\t' -v OFS='\t' '
  NR == FNR { n[$1]++; if ($4 > end) end = $4; next }
  { k = ++seen[$1]; u[FNR] = $1; i[FNR] = $2; r[FNR] = $3; t[FNR] = $4; fit[FNR] = k <= n[$1] - 20
    if (fit[FNR]) { is[$2] += $3; ic[$2]++; tot += $3; cnt++ } }
  END {
    g = tot / cnt
    for (m = 1; m <= FNR; m++) {
      s = is[i[m]] - (fit[m] ? r[m] : 0); c = ic[i[m]] - (fit[m] ? 1 : 0)
      gap = (m < FNR && u[m + 1] == u[m]) ? t[m + 1] - t[m] : end - t[m]
      nx = (m < FNR && u[m + 1] == u[m] && (fit[m + 1] || !fit[m])) ? r[m + 1] : g
      printf "%s\t%s\t%s\t%s\t%.6f\t%.6f\t%.6f\n", u[m], i[m], r[m], t[m], (c > 0 ? s / c : g), log(1 + gap), nx
    }
  }' "$out/sorted.tsv.tmp" "$out/sorted.tsv.tmp" | gzip -n > "$out/u.data.priv.tsv.gz.tmp"
rm "$out/sorted.tsv.tmp"
mv "$out/u.data.priv.tsv.gz.tmp" "$out/u.data.priv.tsv.gz"
