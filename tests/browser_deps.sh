#!/usr/bin/env bash
# What the browser tests need from the system: Debian's Chromium (driven by playwright, never
# `playwright install`) and a CJK font for the Chinese pages (dashboard.css asks for Noto Sans CJK SC).
# Installed with apt-get when missing and we may; otherwise one line says what to install, and the
# browser tests are skipped outside CI (in CI they fail).
set -uo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -n "$(fc-list 'Noto Sans CJK SC' 2>/dev/null)" ] || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} for the browser tests (apt-get)…"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    exit 0
  fi
  echo "apt-get could not install ${missing[*]}." >&2
fi
echo "Browser tests need ${missing[*]}: run \`sudo apt-get install ${missing[*]}\` (Debian/Ubuntu); until then they are skipped."
exit 0
