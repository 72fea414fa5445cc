#!/usr/bin/env bash
# Signs a darkroom image URL with openssl alone (no Rust needed); see docs/auth.md.
#
#   SPIN_VARIABLE_URL_SIGNING_KEYS='k2:secret,k1:old' scripts/sign-url.sh URL-or-PATH [TTL_SECONDS]
#
# Uses the first key of url_signing_keys (`kid:secret` or a plain secret), like the
# service's signer `darkroom-sign` (tools/sign). Prints the signed URL.
set -euo pipefail
target="${1:?usage: sign-url.sh URL-or-PATH [TTL_SECONDS]}"
ttl="${2:-3600}"
keys="${URL_SIGNING_KEYS:-${SPIN_VARIABLE_URL_SIGNING_KEYS:-}}"
[[ -n "$keys" ]] || { echo "set SPIN_VARIABLE_URL_SIGNING_KEYS (or URL_SIGNING_KEYS)" >&2; exit 2; }
command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 2; }

first="${keys%%,*}"
first="$(printf '%s' "$first" | sed -E 's/^[[:space:]]+|[[:space:]]+$//g')"
kid=""
secret="$first"
if [[ "$first" =~ ^([A-Za-z0-9._-]{1,64}):(.+)$ ]]; then
    kid="${BASH_REMATCH[1]}"
    secret="${BASH_REMATCH[2]}"
fi

target="${target%%#*}"
query=""
if [[ "$target" == *\?* ]]; then
    query="${target#*\?}"; target="${target%%\?*}"
    # The signature covers the query without any old signature parameters.
    query="$(printf '%s' "$query" | tr '&' '\n' | grep -Ev '^(expires|sig|kid)(=|$)' | grep -v '^$' | paste -sd '&' - || true)"
fi
if [[ "$target" =~ ^([a-zA-Z][a-zA-Z0-9+.-]*://[^/]+)(/.*)$ ]]; then
    prefix="${BASH_REMATCH[1]}"; path="${BASH_REMATCH[2]}"
else
    prefix=""; path="$target"
fi
[[ "$path" == /* ]] || { echo "give a path starting with / or a full URL" >&2; exit 2; }

expires=$(( $(date +%s) + ttl ))
covered="$path"; [[ -n "$query" ]] && covered="${path}?${query}"
sig="$(printf 'GET\n%s\n%s' "$covered" "$expires" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)"
url="${prefix}${covered}"; [[ -n "$query" ]] && url="${url}&" || url="${url}?"
url="${url}expires=${expires}&sig=${sig}"
[[ -n "$kid" ]] && url="${url}&kid=${kid}"
printf '%s\n' "$url"
