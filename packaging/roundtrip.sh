#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A whole case, start to finish, through one `casetrail` executable and nothing else:
# intel import -> new -> import -> analyse -> indicators -> verify -> brief -> export.
#
#   packaging/roundtrip.sh CASETRAIL EVIDENCE_DIR WORK_DIR
#
# EVIDENCE_DIR holds the files to import (its top level) and intel/ (feeds); resources/demo is
# such a folder. Needs only bash and coreutils (the bundle's target machine may have no Python).
# Used by the no-network test, `make test-package` and the offline install check; exits non-zero
# at the first step that fails, naming it.
set -euo pipefail
ct=$1 evidence=$2 work=$3
mkdir -p "$work"
case_dir="$work/roundtrip.casetrail"
step() { echo "roundtrip: $*" >&2; }
fail() { echo "roundtrip: FAILED: $*" >&2; exit 1; }

step "intel import"
"$ct" intel import "$evidence"/intel/*.json "$evidence"/intel/*.tsv --json > "$work/intel.json"
step "new case"
"$ct" new "$case_dir" --title "Round trip" --examiner "R. Trip" --tlp amber
step "import and analyse"
files=()
for f in "$evidence"/*; do [ -f "$f" ] && files+=("$f"); done
[ ${#files[@]} -gt 0 ] || fail "no evidence files in $evidence"
"$ct" import "$case_dir" "${files[@]}" --reason "round trip" --json > "$work/import.json"
"$ct" analyse "$case_dir" --all > "$work/analyse.txt"
"$ct" items "$case_dir" --json > "$work/items.json"
grep -q '"status": "analysis failed' "$work/items.json" && fail "an item failed analysis: $(grep 'analysis failed' "$work/items.json")"
grep -q '"status": "analysed"' "$work/items.json" || fail "no item was analysed"
step "indicators"
"$ct" indicators "$case_dir" --json > "$work/indicators.json"
grep -q '"type": "ipv4"' "$work/indicators.json" || fail "no IPv4 indicator was extracted"
step "verify"
"$ct" verify "$case_dir" --json > "$work/verify.json" || fail "verify exited $?"
step "brief"
"$ct" brief "$case_dir" -o "$work/briefing.pdf"
[ "$(head -c 5 "$work/briefing.pdf")" = "%PDF-" ] || fail "the briefing is not a PDF"
step "export"
"$ct" export "$case_dir" --stix "$work/case.stix.json"
"$ct" export "$case_dir" --csv "$work/indicators.csv"
"$ct" export "$case_dir" --package "$work/case-package.zip"
[ -s "$work/case.stix.json" ] && [ -s "$work/indicators.csv" ] && [ -s "$work/case-package.zip" ] \
  || fail "an export is empty"
echo "roundtrip: ok ($(grep -c '"sha256"' "$work/items.json") items, briefing $(wc -c < "$work/briefing.pdf") bytes)"
