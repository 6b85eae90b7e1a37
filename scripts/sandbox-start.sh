# shellcheck shell=bash disable=SC2034 # SANDBOX_LINE and SANDBOX_PID are for the caller
# Sourced by the scripts that start the sandbox tenant (`make run`, `make bench`, the e2e suite):
# one way to start it, wait for its announcement, and say what went wrong when it does not come.
#
# Node has been seen, rarely (a few starts in a thousand, never on demand), to hang before the
# sandbox announced itself. A start that says nothing in time is described in the sandbox's log
# (each thread's state and what it waits in, its children), stopped, and tried once more.

# sandbox_start OUT LOG [SECONDS] — runs `node sandbox/start.mjs` (with the caller's environment),
# standard output to OUT, standard error appended to LOG; waits up to SECONDS (default 30) per
# attempt for its `SANDBOX ` line. Sets SANDBOX_LINE and SANDBOX_PID; adds the PID to the caller's
# `pids` array, for its exit trap to stop. Returns 1 when neither attempt announced itself.
sandbox_start() {
  local out=$1 log=$2 seconds=${3:-30} attempt
  for attempt in 1 2; do
    node sandbox/start.mjs > "$out" 2>> "$log" &
    SANDBOX_PID=$!
    pids+=("$SANDBOX_PID")
    local ticks=$((seconds * 5))
    while [ "$ticks" -gt 0 ]; do
      if SANDBOX_LINE=$(grep -m1 '^SANDBOX ' "$out" 2>/dev/null); then return 0; fi
      kill -0 "$SANDBOX_PID" 2>/dev/null || break
      sleep 0.2
      ticks=$((ticks - 1))
    done
    if kill -0 "$SANDBOX_PID" 2>/dev/null; then
      echo "sandbox: no announcement within ${seconds}s (attempt $attempt of 2); its threads and children:" >> "$log"
      sandbox_describe "$SANDBOX_PID" >> "$log" 2>&1
      # A hung main thread never runs the SIGTERM handler. Its API server stops by itself when
      # the pipe of its standard input closes, that is when node is gone; anything else node had
      # started (openssl making the app certificate) is stopped with it.
      local tree
      tree=$(sandbox_tree "$SANDBOX_PID")
      kill -KILL "$SANDBOX_PID" 2>/dev/null || true
      # shellcheck disable=SC2086 # a list of PIDs
      [ -z "$tree" ] || kill -KILL $tree 2>/dev/null || true
      echo "sandbox: no announcement within ${seconds}s (attempt $attempt of 2); described in $log" >&2
    else
      echo "sandbox: it exited before announcing itself (attempt $attempt of 2)" >> "$log"
    fi
    wait "$SANDBOX_PID" 2>/dev/null || true
    unset 'pids[-1]' # gone: its PID may be reused
  done
  return 1
}

# sandbox_cleanup NAME WORK — the exit trap of a script that started the sandbox
# (`trap 'sandbox_cleanup bench "$WORK"' EXIT`): stops the processes in the caller's `pids`, then
# removes WORK after a green run, or keeps it and says where.
sandbox_cleanup() {
  local rc=$? name=$1 work=$2 p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$rc" = 0 ]; then rm -rf "$work"; else echo "$name: the logs and files of this run are kept in $work" >&2; fi
}

# sandbox_tree PID — the PIDs of a process's descendants.
sandbox_tree() {
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do echo "$c"; sandbox_tree "$c"; done
}

# sandbox_describe PID — what a process and its children are doing: per thread its name, state
# (R running, S sleeping, D in the kernel), the kernel function it waits in and its system call.
# Read with builtins, in this shell: a thread's system call is readable only by an ancestor.
sandbox_describe() {
  local pid=$1 t c name state wchan call line
  for t in /proc/"$pid"/task/*; do
    [ -d "$t" ] || continue
    name='?' state='?' wchan='?' call='?'
    while IFS= read -r line; do
      case $line in Name:*) name=${line#Name:}; name=${name//[[:space:]]/} ;; State:*) state=${line#State:}; state=${state//[[:space:]]/} ;; esac
    done < "$t/status" 2>/dev/null || true
    read -r wchan < "$t/wchan" 2>/dev/null || true
    read -r call _ < "$t/syscall" 2>/dev/null || true
    echo "  pid $pid thread ${t##*/} $name state $state wchan $wchan syscall $call"
  done
  for c in $(pgrep -P "$pid" 2>/dev/null); do
    echo "  child: $(ps -o pid=,stat=,etime=,args= -p "$c" 2>/dev/null)"
    sandbox_describe "$c"
  done
}
