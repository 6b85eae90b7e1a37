#!/bin/sh
# The "system browser" for automated tests: headless Chromium, driven through the sandbox IdP's
# login and consent pages. Backgrounded, because a $BROWSER command is not waited for.
node "$(dirname "$0")/drive-login.mjs" "$1" >> "${BROWSER_LOG:-/dev/null}" 2>&1 &
