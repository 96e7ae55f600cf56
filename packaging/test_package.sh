#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `make test-package`: what was built in dist/ installs and works with no network, and install.sh
# refuses what was altered.
#
#   packaging/test_package.sh DIST [SHARED]
#
# 1. install.sh refuses, installing nothing: a tampered wheel, a wheel added to the wheelhouse,
#    an altered manifest, a signature by another key.
# 2. The wheelhouse, installed by install.sh into a fresh venv with the index switched off (in a
#    network namespace with no interfaces when unshare works), runs the whole round trip and the
#    CLI contract check (SHARED/tools/contract-check, when there).
# 3. The bundle, installed by install.sh --bundle, runs the round trip, builds the demo case and
#    writes its briefing, and opens the demo case in the window offscreen.
set -euo pipefail
dist=$(cd "$1" && pwd)
shared=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/casetrail-test-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
py=${PYTHON:-$here/../.venv/bin/python}  # only to forge a signature with another key
pass=0 fail=0
ok() { echo "test-package: ok: $*"; pass=$((pass + 1)); }
bad() { echo "test-package: FAILED: $*"; fail=$((fail + 1)); }

offline=()
if command -v unshare >/dev/null 2>&1 && unshare -rn true 2>/dev/null; then offline=(unshare -rn); fi
export HOME="$work/user" CASETRAIL_HOME="$work/home"
mkdir -p "$HOME"
# Run from a folder with no Python code in it: from the checkout, `python -m` would import the
# checkout's desktop/ instead of the installed one and hide a broken wheel.
cd "$work"

# Copies of dist/ are hard links (dist/ is over half a gigabyte); a file about to be altered is
# first made a copy of its own, so dist/ itself is never touched.
own() { for f; do cp -p "$f" "$f.own" && mv -f "$f.own" "$f"; done; }
refused() {  # refused NAME SETUP-COMMAND: install from an altered copy must exit 1, install nothing
  local name=$1; shift
  local copy="$work/tampered-$name"
  cp -al "$dist" "$copy"
  (cd "$copy" && eval "$*")
  if "${offline[@]}" "$copy/install.sh" --prefix "$work/never-$name" --no-desktop 2>"$work/$name.err"; then
    bad "install.sh accepted $name"
  elif [ $? -ne 1 ]; then
    bad "install.sh refused $name with the wrong exit status: $(tail -n 1 "$work/$name.err")"
  elif [ -e "$work/never-$name" ] || ls "$work"/never-"$name".installing-* >/dev/null 2>&1; then
    bad "install.sh refused $name but left files in the prefix"
  else
    ok "install.sh refuses $name: $(tail -n 1 "$work/$name.err")"
  fi
  rm -rf "$copy"
}

# 1. Refusals.
refused "a-tampered-wheel" 'w=$(ls wheelhouse/reportlab-*.whl); own "$w"; printf "x" | dd of="$w" bs=1 seek=4096 conv=notrunc status=none'
refused "an-added-wheel" 'cp wheelhouse/six-*.whl wheelhouse/six-99.0-py2.py3-none-any.whl'
refused "an-altered-manifest" 'sed -i "1s/^./0/" SHA256SUMS'
refused "a-tampered-bundle" 'own casetrail-*-linux-*.tar.gz; printf "x" >> casetrail-*-linux-*.tar.gz'
refused "another-key" "own SHA256SUMS.sig release-key.pem; '$py' - <<'PY'
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
k = Ed25519PrivateKey.generate()
open('SHA256SUMS.sig', 'wb').write(k.sign(open('SHA256SUMS', 'rb').read()))
open('release-key.pem', 'wb').write(k.public_key().public_bytes(serialization.Encoding.PEM,
    serialization.PublicFormat.SubjectPublicKeyInfo))
PY"

# 2. The wheelhouse.
carry="$work/usb"
cp -al "$dist" "$carry"
if "${offline[@]}" "$carry/install.sh" --prefix "$work/wheel" --no-desktop; then
  ok "install.sh installed the wheelhouse ${offline[*]:+(no network)}"
  if "${offline[@]}" "$here/roundtrip.sh" "$work/wheel/bin/casetrail" "$here/../resources/demo" "$work/rt-wheel" \
      > "$work/rt-wheel.log" 2>&1; then
    ok "round trip with the installed wheelhouse: $(tail -n 1 "$work/rt-wheel.log")"
  else
    bad "round trip with the installed wheelhouse: $(tail -n 3 "$work/rt-wheel.log")"
  fi
  if [ -n "$shared" ] && [ -x "$shared/tools/contract-check" ]; then
    if "${offline[@]}" "$work/wheel/venv/bin/python" "$shared/tools/contract-check" "$work/wheel/bin/casetrail" \
        > "$work/contract.log" 2>&1; then
      ok "contract check of the installed wheelhouse: $(tail -n 1 "$work/contract.log")"
    else
      bad "contract check of the installed wheelhouse: $(tail -n 5 "$work/contract.log")"
    fi
  fi
else
  bad "install.sh did not install the wheelhouse"
fi

# 3. The bundle (no Python on PATH for it).
if "${offline[@]}" "$carry/install.sh" --bundle --prefix "$work/bundle" --no-desktop; then
  ok "install.sh installed the bundle"
  ct="$work/bundle/bin/casetrail"
  nopy=(env -i HOME="$HOME" CASETRAIL_HOME="$CASETRAIL_HOME" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen)
  if "${offline[@]}" "${nopy[@]}" "$here/roundtrip.sh" "$ct" "$here/../resources/demo" "$work/rt-bundle" \
      > "$work/rt-bundle.log" 2>&1; then
    ok "round trip with the bundle: $(tail -n 1 "$work/rt-bundle.log")"
  else
    bad "round trip with the bundle: $(tail -n 3 "$work/rt-bundle.log")"
  fi
  if "${offline[@]}" "${nopy[@]}" "$ct" demo --headless > "$work/demo.log" 2>&1 \
      && grep -q "demo briefing: " "$work/demo.log"; then
    pdf=$(sed -n 's/^demo briefing: //p' "$work/demo.log")
    [ "$(head -c 5 "$pdf")" = "%PDF-" ] && ok "the bundle built the demo case and wrote its briefing" \
      || bad "the demo briefing is not a PDF"
  else
    bad "the bundle's headless demo: $(tail -n 3 "$work/demo.log")"
  fi
  demo_case=$(find "$CASETRAIL_HOME/demo" -maxdepth 1 -name '*.casetrail' | head -n 1)
  "${offline[@]}" "${nopy[@]}" "$ct" gui "$demo_case" > "$work/gui.log" 2>&1 &
  gui=$!
  opened=0
  for _ in $(seq 1 240); do
    if grep -q "opened case $demo_case" "$CASETRAIL_HOME/logs/casetrail.log" 2>/dev/null; then opened=1; break; fi
    kill -0 $gui 2>/dev/null || break
    sleep 0.5
  done
  kill $gui 2>/dev/null || true
  wait $gui 2>/dev/null || true
  [ $opened = 1 ] && ok "the bundle's window opened the demo case offscreen" \
    || bad "the bundle's window did not open the demo case: $(tail -n 3 "$work/gui.log")"
else
  bad "install.sh --bundle did not install the bundle"
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
