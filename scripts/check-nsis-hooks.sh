#!/usr/bin/env bash
# The NSIS installer's hooks (packaging/windows/hooks.nsh) cannot run here, but they can be
# compiled: makensis builds a throwaway installer that inserts each hook where Tauri's template
# does (in an install section and in the uninstaller), so a syntax or quoting mistake fails
# `make lint` instead of a Windows release build.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/check.nsi" <<NSI
Unicode true
Name "Incident Desk hooks check"
OutFile "$work/check.exe"
InstallDir "\$LOCALAPPDATA\\Incident Desk"
RequestExecutionLevel user
!include "$PWD/packaging/windows/hooks.nsh"
Section "Install"
  SetOutPath "\$INSTDIR"
  WriteUninstaller "\$INSTDIR\\uninstall.exe"
  !insertmacro NSIS_HOOK_POSTINSTALL
SectionEnd
Section "Uninstall"
  !insertmacro NSIS_HOOK_POSTUNINSTALL
SectionEnd
NSI
makensis -V2 -WX "$work/check.nsi"
echo "lint: the NSIS installer hooks compile"
