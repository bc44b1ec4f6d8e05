#!/usr/bin/env bash
# Lays out WordNet 3.0 where NLTK looks for it, from Debian's packages, because nothing may be
# downloaded at run time: NLTK 3.9+ reads only from NLTK_DATA paths, and Debian's copy lacks the
# `lexnames` file NLTK needs (kept beside this script). Idempotent.
#
# Usage: ensure-wordnet.sh [NLTK_DATA_DIR]   (default: $NLTK_DATA or ~/.cache/faqbot/nltk_data)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${1:-${NLTK_DATA:-$HOME/.cache/faqbot/nltk_data}}
src=/usr/share/wordnet

if [ ! -f "$src/data.noun" ] || [ ! -f "$src/index.sense" ]; then
  command -v apt-get >/dev/null || { echo "ensure-wordnet: $src missing and no apt-get" >&2; exit 1; }
  echo "ensure-wordnet: installing Debian's wordnet-base and wordnet-sense-index" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    wordnet-base wordnet-sense-index >/dev/null
fi

dest="$target/corpora/wordnet"
mkdir -p "$dest"
for f in "$src"/*; do
  name=$(basename "$f")
  # Copies, not links: NLTK 3.10 refuses files whose real path leaves its data root.
  [ -f "$f" ] && { { [ ! -L "$dest/$name" ] && cmp -s "$f" "$dest/$name"; } || cp --remove-destination "$f" "$dest/$name"; }
done
cp "$here/lexnames" "$dest/lexnames"
