# shellcheck shell=bash
# The Kopia side of a mover pod with a container of the plan's beside it
# (templates/side.sh): a stream backup's dump, a stream restore's command,
# a restore drill's check. The two containers share the `stream` emptyDir:
# the pipe, the `ready` and `kopia-done` markers, and the side container's
# exit status. Sourced by common.sh; rendered by kopiaplan from
# templates/stream.sh.

STREAM_DIR="{{ paths.stream }}"
STREAM_PIPE="$STREAM_DIR/pipe"
# The side container's exit status, set by stream_status.
STREAM_STATUS=

# The side container may start its command.
stream_ready() {
  : >"$STREAM_DIR/ready" || fail "could not write $STREAM_DIR/ready"
}

# Makes the pipe and lets the side container start.
stream_open_pipe() {
  mkfifo -m 600 "$STREAM_PIPE" || fail "could not make the pipe $STREAM_PIPE"
  stream_ready
}

# Seconds the side container may go without a beat (side.sh writes one a
# second) before it is taken for killed.
STREAM_SILENCE_LIMIT=10

# Waits for the side container's exit status (STREAM_STATUS): its
# command's, or `killed` when the container died without writing one (an
# OOM kill or a container kill ends side.sh with the command), which its
# beat stopping tells. A container that has not beaten yet (its image is
# still being pulled) is waited for: the Job's activeDeadlineSeconds bounds
# that wait.
stream_status() {
  local beat last="" silent=0
  while [ ! -s "$STREAM_DIR/status" ]; do
    if [ -s "$STREAM_DIR/alive" ]; then
      beat=$(<"$STREAM_DIR/alive")
      if [ "$beat" = "$last" ]; then
        silent=$((silent + 1))
      else
        last=$beat
        silent=0
      fi
      if [ "$silent" -ge "$STREAM_SILENCE_LIMIT" ] && [ ! -s "$STREAM_DIR/status" ]; then
        log "error: the side container stopped beating ${STREAM_SILENCE_LIMIT}s ago and left no exit status: it was killed (an OOM kill or a container kill)"
        STREAM_STATUS=killed
        return 0
      fi
    fi
    sleep 1
  done
  STREAM_STATUS=$(head -n 1 "$STREAM_DIR/status")
}

# The side container's exit status as a JSON value: null when it was
# killed and left none.
stream_status_json() {
  if [ "$STREAM_STATUS" = killed ]; then
    printf null
  else
    printf '%s' "$STREAM_STATUS"
  fi
}

# The side container's end, for a message: "exited N" or "was killed".
stream_ending() {
  if [ "$STREAM_STATUS" = killed ]; then
    printf 'was killed before its command exited (an OOM kill or a container kill)'
  else
    printf 'exited %s' "$STREAM_STATUS"
  fi
}

# The watch started by stream_watch, if one runs.
STREAM_WATCH_PID=

# Watches the side container in the background while Kopia works on the
# pipe. A side container killed before it opened its end would leave Kopia
# waiting to open the FIFO until the Job's deadline: when it is taken for
# killed, the watch opens the other end for a moment, so that Kopia sees the
# pipe end, and the run goes on to report the killed container.
stream_watch() {
  (
    stream_status 2>/dev/null
    if [ "$STREAM_STATUS" = killed ] && [ -p "$STREAM_PIPE" ]; then
      exec {release}<>"$STREAM_PIPE" && exec {release}>&-
    fi
  ) &
  STREAM_WATCH_PID=$!
}

# Ends the watch, once Kopia is done with the pipe.
stream_unwatch() {
  [ -n "$STREAM_WATCH_PID" ] || return 0
  kill "$STREAM_WATCH_PID" 2>/dev/null || true
  wait "$STREAM_WATCH_PID" 2>/dev/null || true
  STREAM_WATCH_PID=
}

# From the EXIT trap: a side container still waiting learns that this
# container ended, and one blocked opening the pipe is let go (opening a
# FIFO read-write never blocks, and gives its other end a partner).
stream_release() {
  stream_unwatch
  [ -d "$STREAM_DIR" ] || return 0
  : >"$STREAM_DIR/kopia-done" 2>/dev/null || true
  if [ -p "$STREAM_PIPE" ]; then
    local release
    exec {release}<>"$STREAM_PIPE" && exec {release}>&-
  fi
  return 0
}

# run_kopia with its standard input read from FILE: a background command
# without a redirection of its own reads /dev/null.
run_kopia_reading() {
  local input=$1
  shift
  kopia --file-log-level="${{ env.log_level }}" "$@" <"$input" &
  # shellcheck disable=SC2034 # read by wait_kopia (common.sh)
  KOPIA_PID=$!
  wait_kopia
}

# stream_snapshot MANIFEST ARGUMENTS...: snapshots what the dump container
# writes into the pipe as one file, named as the plan says.
stream_snapshot() {
  local manifest=$1
  shift
  stream_open_pipe
  stream_watch
  log "snapshotting the dump container's output as ${{ env.stream_file }}"
  local status=0
  run_kopia_reading "$STREAM_PIPE" snapshot create --stdin-file="${{ env.stream_file }}" - "$@" >"$manifest" || status=$?
  stream_unwatch
  return "$status"
}

# stream_keep_only_a_good_dump SNAPSHOT_ID: a snapshot of a dump that did
# not exit 0 holds a partial dump at best: it is deleted, and the run fails
# saying so. So is one whose container was killed: Kopia saw the pipe end
# as it ends after a complete dump.
stream_keep_only_a_good_dump() {
  local id=$1
  stream_status
  [ "$STREAM_STATUS" != 0 ] || return 0
  local deleted=false status=0
  if [ -n "$id" ]; then
    run_kopia snapshot delete "$id" --delete || status=$?
    if [ "$status" -eq 0 ]; then
      deleted=true
      log "deleted snapshot $id: it holds the output of a dump that failed"
    else
      log "error: could not delete snapshot $id of the failed dump (exit $status)"
    fi
  fi
  local killed=false
  [ "$STREAM_STATUS" != killed ] || killed=true
  write_result failure "the dump container $(stream_ending); its snapshot ${id:-(none)} was deleted: $deleted" \
    dumpExitCode "$(stream_status_json)" \
    dumpKilled "$killed" \
    snapshotId "$(json_string "$id")" \
    snapshotDeleted "$deleted"
  exit 1
}

# stream_restore SNAPSHOT_ID SOURCE LIST: feeds the snapshot's file to the
# command container, and reports the command's exit status.
stream_restore() {
  local id=$1 source=$2 list=$3 object
  object=$(json_fields id obj <"$list" | awk -F '\037' -v id="$id" '$1 == id { print $2; exit }')
  [ -n "$object" ] || fail "Kopia's list names no root object for snapshot $id"
  stream_open_pipe
  stream_watch
  log "feeding ${{ env.stream_file }} of snapshot $id of $source to the command container"
  local status=0
  run_kopia show "$object/${{ env.stream_file }}" >"$STREAM_PIPE" || status=$?
  stream_unwatch
  stream_status
  if [ "$status" -ne 0 ] || [ "$STREAM_STATUS" != 0 ]; then
    log "error: kopia show exited $status; the command container $(stream_ending)"
    write_result failure "feeding ${{ env.stream_file }} of snapshot $id to the command failed: kopia show exited $status; the command container $(stream_ending)" \
      snapshotId "$(json_string "$id")" \
      kopiaShowExitCode "$status" \
      commandExitCode "$(stream_status_json)"
    exit 1
  fi
  write_result success "fed ${{ env.stream_file }} of snapshot $id of $source to the command" \
    snapshotId "$(json_string "$id")" \
    commandExitCode 0
  exit 0
}

# restore_check SNAPSHOT_ID SOURCE: restores the snapshot into the scratch
# volume, lets the check container read it (read-only), and reports its
# verdict. The live volume is never mounted.
restore_check() {
  local id=$1 source=$2 target="{{ paths.scratch }}/data"
  mkdir -p "$target" || fail "could not make $target"
  # Kopia removes "<target>.kopia-entry" beside its target when it ends: the
  # scratch volume's root is writable.
  cd "$target" || fail "could not enter $target"
  log "restoring snapshot $id of $source into the scratch volume for the check"
  local status=0
  run_kopia restore "$id" "$target" || status=$?
  [ "$status" -eq 0 ] || fail "kopia restore of snapshot $id into the scratch volume failed (exit $status); the check did not run" "$status"
  cd / || fail "could not leave $target"
  stream_ready
  log "the check container checks the restored snapshot"
  stream_status
  if [ "$STREAM_STATUS" != 0 ]; then
    log "error: the check failed: its container $(stream_ending)"
    write_result failure "snapshot $id of $source restored; the check failed: its container $(stream_ending)" \
      snapshotId "$(json_string "$id")" \
      checkPassed false \
      checkExitCode "$(stream_status_json)"
    exit 1
  fi
  write_result success "snapshot $id of $source verified, restored and checked; the check passed" \
    snapshotId "$(json_string "$id")" \
    checkPassed true \
    checkExitCode 0
  exit 0
}
