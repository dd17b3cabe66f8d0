#!/bin/sh
# Stage ../shared/data/dibco as one paired folder for `docclean train` / `evaluate`:
#   OUT/noisy/<year>-<name>.png -> <year>/imgs/<name>.png, OUT/clean/... -> <year>/gt/...
# (symbolic links; the file names already carry the year).
#   sh benchmarks/stage_dibco.sh runs/dibco 2009 2010 2011 2012 2013 2014 2016
set -eu
out=$1
shift
src=$(cd "$(dirname "$0")/../../shared/data/dibco" && pwd)
mkdir -p "$out/noisy" "$out/clean"
for year in "$@"; do
  for f in "$src/$year"/imgs/*.png; do ln -sf "$f" "$out/noisy/"; done
  for f in "$src/$year"/gt/*.png; do ln -sf "$f" "$out/clean/"; done
done
echo "$out: $(ls "$out/noisy" | wc -l) pairs"
