#!/usr/bin/env bash
# The Linux packages' contents: usage: package.sh DEB RPM WORKDIR. Unpacks the .deb into
# WORKDIR/root (no install, no root needed), runs its idesk, and checks the .rpm's file list.
set -euo pipefail
deb=$1 rpm=$2 work=$3
fail() { echo "package e2e FAILED: $*" >&2; exit 1; }
mkdir -p "$work/root"

[ "$(dpkg-deb -f "$deb" Package)" = incident-desk ] || fail "the .deb is not named incident-desk"
dpkg-deb -f "$deb" Depends | grep -q libwebkit2gtk-4.1 || fail "the .deb does not depend on WebKitGTK"
dpkg-deb -x "$deb" "$work/root"
expected=(
  usr/bin/incident-desk
  usr/bin/idesk
  usr/share/applications/com.incidentdesk.IncidentDesk.desktop
  usr/share/metainfo/com.incidentdesk.IncidentDesk.metainfo.xml
  usr/share/icons/hicolor/128x128/apps/incident-desk.png
)
for f in "${expected[@]}"; do [ -e "$work/root/$f" ] || fail "the .deb lacks /$f"; done
desktop="$work/root/usr/share/applications/com.incidentdesk.IncidentDesk.desktop"
grep -qx 'MimeType=x-scheme-handler/incidentdesk;' "$desktop" || fail "the launcher does not register incidentdesk:// links"
# The bundler's own launcher (named after the product) is hidden: one menu entry, reverse-DNS.
for other in "$work/root/usr/share/applications/"*.desktop; do
  [ "$other" = "$desktop" ] || grep -qx 'Hidden=true' "$other" || fail "a second visible launcher: $other"
done

version=$("$work/root/usr/bin/idesk" --version) || fail "the packaged idesk does not run"
[[ "$version" == "idesk "* ]] || fail "idesk --version printed: $version"
echo "package: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) unpacked; $version"

files=$(rpm -qlp "$rpm" 2>/dev/null) || fail "rpm cannot read $rpm"
for f in "${expected[@]}"; do grep -qx "/$f" <<< "$files" || fail "the .rpm lacks /$f"; done
echo "package: $(basename "$rpm") ($(du -k "$rpm" | cut -f1) KiB) lists every expected file"
