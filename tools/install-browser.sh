#!/usr/bin/env bash
# Installs from Debian what the docs-site browser test (tests/test_docs_site.py) needs:
#   chromium            driven by Playwright for Python via executable_path, over a pipe, so
#                       no chromium-driver is needed (`playwright install` cannot download
#                       its own browser here);
#   fonts-wqy-microhei  without a CJK font, Chinese pages render as tofu boxes;
#   tmux                the interview test drives `bertprep interview` in a real terminal;
#   npm                 only when missing: grader/site/assets.py fetches KaTeX and Mermaid with it.
# Idempotent and quiet: does nothing when all are present. Root, or sudo without a password.
set -euo pipefail

packages=(chromium fonts-wqy-microhei tmux)
missing=()
command -v npm >/dev/null 2>&1 || missing+=(npm)
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo -n)
else
    echo "install-browser.sh: need root or sudo to apt-get install ${missing[*]}" >&2
    exit 1
fi

echo "install-browser.sh: installing ${missing[*]}" >&2
# apt's chatter (debconf notes included) goes to a log that is shown only when it fails.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { "${as_root[@]}" apt-get update -qq &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-browser.sh: apt-get failed for ${missing[*]}" >&2
    exit 1
fi
