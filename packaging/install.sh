#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Install Casetrail from the folder this script is in (the dist/ that `make package` wrote),
# on a machine with no network. Nothing is installed unless every file it uses matches the signed
# checksum manifest.
#
#   install.sh [--prefix DIR] [--bundle] [--fingerprint HEX] [--no-desktop]
#   install.sh --uninstall [--prefix DIR]
#
# Default DIR: ~/.local/opt/casetrail (as root: /opt/casetrail). The wheel install makes a
# virtual environment DIR/venv with Python 3.11 from the wheelhouse, the package index switched
# off; --bundle unpacks the one-folder bundle to DIR/bundle instead (no Python needed). Either way
# DIR/bin/casetrail is the command, and a desktop entry with icons is added for the user (or, as
# root, for everyone) under $XDG_DATA_HOME (default ~/.local/share, as root /usr/local/share).
#
# Verification, in this order, on copies of the files (what is checked is what is installed):
#   1. the release key: its fingerprint (SHA-256 of the raw Ed25519 key) must be the one given
#      with --fingerprint (or $CASETRAIL_RELEASE_FINGERPRINT), else the one this script was built
#      with; compare it with the fingerprint published in Casetrail's README;
#   2. SHA256SUMS.sig must be a valid Ed25519 signature of SHA256SUMS by that key (openssl);
#   3. every file listed in SHA256SUMS must match, and every wheel in wheelhouse/ must be listed.
# Exit status: 0 installed; 1 a file or the signature does not match (nothing installed);
# 2 bad usage or a missing tool.
set -euo pipefail
umask 022

BUILT_FINGERPRINT="@FINGERPRINT@"   # filled in by `make package`
VERSION="@VERSION@"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix="" bundle=0 desktop=1 uninstall=0 fingerprint="${CASETRAIL_RELEASE_FINGERPRINT:-}"

say() { echo "install.sh: $*" >&2; }
die() { say "$2"; exit "$1"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die 2 "--prefix needs a folder"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --bundle) bundle=1; shift ;;
    --fingerprint) [ $# -ge 2 ] || die 2 "--fingerprint needs a value"; fingerprint=$2; shift 2 ;;
    --no-desktop) desktop=0; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '3,24p' "$0"; exit 0 ;;
    *) die 2 "unknown option $1 (see --help)" ;;
  esac
done

if [ "$(id -u)" = 0 ]; then
  prefix=${prefix:-/opt/casetrail}; share=${XDG_DATA_HOME:-/usr/local/share}
else
  prefix=${prefix:-$HOME/.local/opt/casetrail}; share=${XDG_DATA_HOME:-$HOME/.local/share}
fi
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
apps="$share/applications" icons="$share/icons/hicolor"

remove_desktop() {
  rm -f "$apps/casetrail.desktop"
  for d in "$icons"/*/apps; do rm -f "$d/casetrail.png" "$d/casetrail.svg"; done 2>/dev/null || true
}

if [ $uninstall = 1 ]; then
  [ -e "$prefix/.casetrail-install" ] || die 2 "$prefix is not a Casetrail installation (no .casetrail-install)"
  rm -rf "$prefix"
  remove_desktop
  say "removed $prefix and the desktop entry; cases and the workstation folder are kept"
  exit 0
fi

for tool in sha256sum openssl tar; do
  command -v "$tool" >/dev/null 2>&1 || die 2 "$tool is needed to verify and unpack Casetrail; install it first"
done
[ -e "$prefix/.casetrail-install" ] && die 2 "Casetrail is already installed in $prefix; run --uninstall first"
[ -e "$prefix" ] && [ -n "$(ls -A "$prefix" 2>/dev/null)" ] && die 2 "$prefix exists and is not empty"

# Work on copies: the USB stick may change under us, and what was verified must be what is used.
stage=$(mktemp -d "${TMPDIR:-/tmp}/casetrail-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
for f in SHA256SUMS SHA256SUMS.sig release-key.pem; do
  [ -f "$here/$f" ] || die 1 "$f is missing from $here: nothing installed"
  cp "$here/$f" "$stage/$f"
done

# 1. The release key.
actual=$(openssl pkey -pubin -in "$stage/release-key.pem" -outform DER 2>/dev/null | tail -c 32 | sha256sum | cut -d' ' -f1)
[ ${#actual} = 64 ] || die 1 "release-key.pem is not an Ed25519 public key: nothing installed"
expected=${fingerprint:-$BUILT_FINGERPRINT}
expected=$(echo "$expected" | tr 'A-F' 'a-f' | tr -d ' :')
case "$expected" in @*|"") die 2 "no release key fingerprint to check against; pass --fingerprint" ;; esac
if [ "${actual#"$expected"}" = "$actual" ]; then   # the expected value must be a prefix (>= 16 hex)
  die 1 "the release key ($actual) is not the expected one ($expected): nothing installed"
fi
[ ${#expected} -ge 16 ] || die 2 "--fingerprint needs at least 16 hex digits"
say "release key $actual (compare with the fingerprint published in Casetrail's README)"

# 2. The signature of the manifest.
openssl pkeyutl -verify -pubin -inkey "$stage/release-key.pem" -rawin -in "$stage/SHA256SUMS" \
  -sigfile "$stage/SHA256SUMS.sig" >/dev/null 2>&1 \
  || die 1 "SHA256SUMS is not signed by the release key (altered or corrupt): nothing installed"
say "SHA256SUMS: signature valid"

# 3. Every file the manifest lists, copied and checked; nothing unlisted in the wheelhouse.
while IFS= read -r line; do
  rel=${line#*  }
  case "$rel" in /*|*..*) die 1 "SHA256SUMS names an unsafe path ($rel): nothing installed" ;; esac
  [ -f "$here/$rel" ] || die 1 "$rel is listed in SHA256SUMS but missing: nothing installed"
  mkdir -p "$stage/files/$(dirname "$rel")"
  cp "$here/$rel" "$stage/files/$rel"
done < "$stage/SHA256SUMS"
(cd "$stage/files" && sha256sum --check --strict --quiet "$stage/SHA256SUMS") >&2 \
  || die 1 "a file does not match SHA256SUMS (named above): nothing installed"
for w in "$here"/wheelhouse/*.whl; do
  [ -e "$w" ] || continue
  grep -qF "  wheelhouse/$(basename "$w")" "$stage/SHA256SUMS" \
    || die 1 "wheelhouse/$(basename "$w") is not listed in SHA256SUMS: nothing installed"
done
say "all $(wc -l < "$stage/SHA256SUMS") files match SHA256SUMS"

# Install into a sibling folder, then rename into place: an interrupted install leaves nothing.
mkdir -p "$(dirname "$prefix")"
new="$prefix.installing-$$"
rm -rf "$new"; mkdir -p "$new/bin"
if [ $bundle = 1 ]; then
  archive=$(cd "$stage/files" && ls casetrail-*-linux-*.tar.gz 2>/dev/null | head -n 1)
  [ -n "$archive" ] || die 1 "no bundle archive in $here (build it with make package)"
  tar -xzf "$stage/files/$archive" -C "$new"
  mv "$new/casetrail" "$new/bundle"
  ln -s ../bundle/casetrail "$new/bin/casetrail"
  kind="bundle $archive"
else
  py=""
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      py=$(command -v "$candidate"); break
    fi
  done
  [ -n "$py" ] || { rm -rf "$new"; die 2 "the wheel install needs Python 3.11 (or use --bundle)"; }
  "$py" -m venv "$new/venv" || { rm -rf "$new"; die 2 "python3.11 -m venv failed (apt-get install python3.11-venv)"; }
  PIP_NO_INDEX=1 PIP_CONFIG_FILE=/dev/null "$new/venv/bin/python" -m pip install --quiet --no-index \
    --no-cache-dir --find-links "$stage/files/wheelhouse" casetrail \
    || { rm -rf "$new"; die 1 "pip could not install from the verified wheelhouse"; }
  # The venv was made in the staging folder and renamed: its scripts' shebangs name the staging
  # path, but its python finds its pyvenv.cfg wherever it is, so the launcher runs the module.
  # -P: the current folder is not put on sys.path (a folder of evidence could hold a "desktop"
  # package that would run instead of Casetrail's).
  cat > "$new/bin/casetrail" <<'LAUNCHER'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
exec "$here/../venv/bin/python" -P -m casetrail "$@"
LAUNCHER
  chmod 755 "$new/bin/casetrail"
  kind="wheelhouse ($(ls "$stage/files/wheelhouse" | wc -l) wheels)"
fi
cp "$stage/files/THIRD-PARTY-NOTICES" "$stage/files/LICENSE" "$new/" 2>/dev/null || true
printf 'version=%s\nfrom=%s\nrelease_key=%s\n' "$VERSION" "$kind" "$actual" > "$new/.casetrail-install"
mv "$new" "$prefix"

if [ $desktop = 1 ] && [ -d "$stage/files/desktop" ]; then
  mkdir -p "$apps"
  sed "s|@BIN@|$prefix/bin/casetrail|" "$stage/files/desktop/casetrail.desktop" > "$apps/casetrail.desktop"
  for size_dir in "$stage/files/desktop/icons"/*; do
    size=$(basename "$size_dir")
    mkdir -p "$icons/$size/apps"
    cp "$size_dir/apps/casetrail.png" "$icons/$size/apps/casetrail.png"
  done
  mkdir -p "$icons/scalable/apps"
  cp "$stage/files/desktop/casetrail.svg" "$icons/scalable/apps/casetrail.svg"
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" >/dev/null 2>&1 || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q "$icons" >/dev/null 2>&1 || true
fi

version_block=$("$prefix/bin/casetrail" --version) || die 1 "the installed casetrail does not start"
say "${version_block%%$'\n'*} runs"
say "installed Casetrail $VERSION from the $kind in $prefix; the command is $prefix/bin/casetrail"
