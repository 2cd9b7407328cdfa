#!/usr/bin/env bash
# Install the system packages Oplot needs (only the missing ones) and build the venv from
# /usr/bin/python3, so the ejabberd user can execute it (extauth runs under that user).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
PACKAGES=(python3-venv python3-dev ejabberd erlang-p1-pgsql libengine-gost-openssl openssl
          clamav-daemon clamav libmagic1 slapd ldap-utils)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
stamp="$VENV/.oplot-installed"
if [[ ! -x "$VENV/bin/python" ]]; then
  /usr/bin/python3 -m venv "$VENV"
fi
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
  echo "installing the project into $VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev,bench,ops]'
  touch "$stamp"
fi
