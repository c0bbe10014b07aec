#!/usr/bin/env bash
# Render every bundled sample through every channel at one commit, into one folder, so that
# two commits' outputs can be compared byte for byte:
#
#   scripts/sample-outputs.sh OLD_COMMIT /tmp/old
#   scripts/sample-outputs.sh NEW_COMMIT /tmp/new
#   diff -r /tmp/old /tmp/new && echo identical
#
# It uses this checkout's .venv (make demo creates it) with the commit's own package first on
# the path. The e-mail Date header differs by design and is dropped; MIME boundaries (random
# before they were derived from the content) and progress rates are replaced by placeholders.
set -euo pipefail
commit=${1:?usage: scripts/sample-outputs.sh COMMIT OUTDIR}
out=${2:?usage: scripts/sample-outputs.sh COMMIT OUTDIR}
top=$(git rev-parse --show-toplevel)
python="$top/.venv/bin/python"
tree=$(mktemp -d)
trap 'git -C "$top" worktree remove --force "$tree" >/dev/null 2>&1; rm -rf "$tree"' EXIT
git -C "$top" worktree add --detach --force "$tree" "$commit" >/dev/null 2>&1
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$tree"
hb() { PYTHONPATH="$tree" "$python" -m handoff_brief "$@"; }

cat > "$out/brand.toml" <<'TOML'
company = "Northwind Leads"
accent = "#0a7d5a"
paper = "letter"
footer = "Confidential: prepared for Acme sales only"
TOML
for tier in qualified warmed call-qualified; do
  for ext in pdf md html; do
    hb render "samples/$tier.yaml" -o "$out/$tier.$ext" 2>>"$out/stderr.txt"
  done
  for variant in pdf/ua-1 pdf/a-3b; do
    hb render "samples/$tier.yaml" --pdf-variant "$variant" \
      -o "$out/$tier.${variant//\//-}.pdf" 2>>"$out/stderr.txt"
  done
  hb render "samples/$tier.yaml" --brand "$out/brand.toml" -o "$out/$tier.brand.pdf" \
    2>>"$out/stderr.txt"
done
for weak in samples/weak/*.yaml; do
  name=$(basename "$weak" .yaml)
  hb render "$weak" --draft -o "$out/draft-$name.md" 2>>"$out/stderr.txt" || true
done
hb check samples/*.yaml samples/weak/*.yaml >"$out/check.txt" 2>&1 || true
hb check --json samples/*.yaml samples/weak/*.yaml >"$out/check.json" 2>&1 || true
hb email samples/*.yaml --from 'RevOps <revops@example.com>' --eml "$out/eml" \
  2>>"$out/stderr.txt"
for eml in "$out"/eml/*.eml; do
  grep -v '^Date: ' "$eml" | sed -E 's/={15}[0-9A-Za-z_]+==/BOUNDARY/g' >"$eml.nodate"
  mv "$eml.nodate" "$eml"
done
for crm in salesforce hubspot pipedrive; do
  hb crm export --to "$crm" samples/*.yaml -o "$out/crm-$crm" >>"$out/stderr.txt" 2>&1 || true
done
hb batch samples -o "$out/batch" --format pdf,md,html --jobs 1 >>"$out/stderr.txt" 2>&1 || true
rm -rf "$out/batch/.handoff-brief"
# Paths of the temporary checkout appear in messages; make them the same for every commit.
sed -i "s#$tree#TREE#g; s#$out#OUT#g; s#, [0-9.]*/s\$#, RATE/s#" \
  "$out/stderr.txt" "$out/check.txt" "$out/check.json"
echo "wrote $(find "$out" -type f | wc -l) files into $out"
