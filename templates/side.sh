#!/bin/sh
# kopiaplan side container: runs the plan's command beside Kopia's
# container in the mover pod, in the plan's image (which needs /bin/sh),
# with the plan's environment and never the repository Secret. Rendered by
# kopiaplan from templates/side.sh.
#   side.sh dump COMMAND...   its output goes into the pipe Kopia snapshots
#   side.sh load COMMAND...   its input is the snapshot's file, from the pipe
#   side.sh check COMMAND...  it checks the restored snapshot at /data
# It starts the command once Kopia's container says it is ready, and
# leaves the command's exit status for Kopia's container, which reports it.
# While it lives it beats (`alive`, a count written every second): a
# container killed outright (an OOM kill, a container kill) writes no exit
# status, and Kopia's container learns it from the beat stopping.
dir="{{ paths.stream }}"
mode=$1
shift

say() {
  printf 'kopiaplan %s: %s\n' "$mode" "$*" >&2
}

(
  beat=0
  while :; do
    beat=$((beat + 1))
    printf '%s\n' "$beat" >"$dir/alive"
    sleep 1 || exit 0
  done
) &
heart=$!

# Kopia's container says `ready` when the pipe (or the restored snapshot)
# is there, or `kopia-done` when it ended without getting that far.
while [ ! -e "$dir/ready" ]; do
  if [ -e "$dir/kopia-done" ]; then
    say "Kopia's container ended before it was ready; the command did not run"
    kill "$heart" 2>/dev/null
    exit 1
  fi
  sleep 1
done

say "running the command"
status=0
case $mode in
  dump) "$@" >"$dir/pipe" || status=$? ;;
  load) "$@" <"$dir/pipe" || status=$? ;;
  check) "$@" || status=$? ;;
  *)
    say "unknown mode"
    status=2
    ;;
esac
printf '%s\n' "$status" >"$dir/status.partial" && mv "$dir/status.partial" "$dir/status"
kill "$heart" 2>/dev/null
say "the command exited $status"
exit "$status"
