; Installer hooks for the NSIS installer (tauri.windows.conf.json, bundle.windows.nsis.installerHooks).
; idesk.exe is installed beside the app, in $INSTDIR; these put that folder on the user's PATH, so
; `idesk` runs from any new terminal, and take it off again when the app is uninstalled.
; PowerShell does the list handling NSIS has no string functions for; setting the variable for the
; user tells running programs (Explorer, new terminals) that the environment changed.

!macro NSIS_HOOK_POSTINSTALL
  DetailPrint "Adding $INSTDIR to your PATH, for idesk"
  nsExec::ExecToLog `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "$$d = '$INSTDIR'; $$p = [Environment]::GetEnvironmentVariable('Path', 'User'); if ($$null -eq $$p) { $$p = '' }; if (-not (($$p -split ';') -contains $$d)) { [Environment]::SetEnvironmentVariable('Path', (($$p.TrimEnd(';'), $$d) -join ';').TrimStart(';'), 'User') }"`
  Pop $0
!macroend

!macro NSIS_HOOK_POSTUNINSTALL
  DetailPrint "Removing $INSTDIR from your PATH"
  nsExec::ExecToLog `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "$$d = '$INSTDIR'; $$p = [Environment]::GetEnvironmentVariable('Path', 'User'); if ($$p) { [Environment]::SetEnvironmentVariable('Path', ((($$p -split ';') | Where-Object { $$_ -and $$_ -ne $$d }) -join ';'), 'User') }"`
  Pop $0
!macroend
