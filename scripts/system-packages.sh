#!/usr/bin/env bash
# Install the Debian packages HSSK needs, only those missing: scripts/system-packages.sh PKG...
set -euo pipefail

present() {
  case "$1" in
    libzbar0)   ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0' ;;
    chromium)   test -x /usr/bin/chromium ;;
    postgresql) compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null ;;
    *)          dpkg -s "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for pkg in "$@"; do present "$pkg" || missing+=("$pkg"); done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "HSSK needs these system packages: ${missing[*]}" >&2
  echo "This machine has no apt-get: install them with your package manager, then retry." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "HSSK needs these system packages: ${missing[*]} (run as root, or install sudo)." >&2
    exit 1
  fi
fi
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
