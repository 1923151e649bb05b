#!/bin/bash
# kopiaplan restore mover: connect, choose a snapshot of the source, restore
# it into the volume. Rendered by kopiaplan from templates/restore.sh.
# Arguments are extra `kopia restore` arguments, passed through verbatim.
# Nothing in the volume changes before a snapshot has been chosen.
# policyConfig's repository settings apply when connecting; its global
# policy never does here: importing it would change the repository's policy
# for every source whenever something is restored.
OPERATION=restore
# shellcheck source=common.sh
source "{{ paths.scripts }}/common.sh"
# shellcheck source=stream.sh
source "{{ paths.scripts }}/stream.sh"


prepare_directories

# Deploy-or-restore: a volume that already holds data is left alone, before
# the repository is even opened. `lost+found` (made by mkfs) is not data.
if [ "${ {{- env.only_if_empty }}:-false}" = "true" ]; then
  found=$(cd "{{ paths.restore_target }}" && find . -mindepth 1 -maxdepth 1 ! -name lost+found -printf '%P\n' | LC_ALL=C sort)
  if [ -n "$found" ]; then
    count=$(printf '%s\n' "$found" | wc -l)
    entries=''
    while IFS= read -r entry; do
      log "found: $entry"
      entries+="${entries:+,}$(json_string "$entry")"
    done < <(printf '%s\n' "$found" | head -n 20)
    message="the volume already holds data ($count entries at its top level); nothing was restored (onlyIfEmpty: true)"
    log "$message"
    write_result not-empty "$message" found "[$entries]" foundCount "$count"
    exit 0
  fi
  log "the volume is empty: restoring (onlyIfEmpty: true)"
fi

connect_repository Never

source_id="${ {{- env.username }}}@${ {{- env.hostname }}}:${ {{- env.source_path }}}"
previous=${ {{- env.previous }}:-0}
bound=${ {{- env.restore_as_of_nanos }}:-}
wanted="the newest snapshot"
[ "$previous" -eq 0 ] || wanted="the snapshot $previous before the newest"
[ -z "$bound" ] || wanted="$wanted taken at or before ${ {{- env.restore_as_of }}}"

list="$HOME/snapshots.json"
status=0
run_kopia snapshot list "$source_id" --json >"$list" || status=$?
[ "$status" -eq 0 ] || fail "could not list the snapshots of $source_id (exit $status)" "$status"
snapshot_id=$(snapshots_of "$list" "$source_id" "$bound" | sed -n "$((previous + 1))p" | cut -f2)

if [ -z "$snapshot_id" ]; then
  count=$(snapshots_of "$list" "$source_id" "$bound" | wc -l)
  message="no snapshot of $source_id matches: wanted $wanted, $count match the time bound"
  log "$message; the volume was not changed"
  list_identities
  if [ "${ {{- env.on_missing_snapshot }}:-Fail}" = "Succeed" ]; then
    write_result no-snapshot "$message; nothing was restored (onMissingSnapshot: Succeed)" \
      availableIdentities "$AVAILABLE_IDENTITIES"
    exit 0
  fi
  log "error: $message"
  write_result failure "$message; nothing was restored" \
    availableIdentities "$AVAILABLE_IDENTITIES"
  exit 1
fi

if [ -n "${ {{- env.stream_file }}:-}" ]; then
  stream_restore "$snapshot_id" "$source_id" "$list"
fi

restore_args=(--write-files-atomically)
if [ "${ {{- env.delete_extra }}:-false}" = "true" ]; then
  restore_args+=(--delete-extra)
fi
log "restoring snapshot $snapshot_id of $source_id ($wanted)"
# The volume is mounted below a writable emptyDir: when Kopia finishes the
# target directory it removes "<target>.kopia-entry" beside it, and that
# fails on the read-only root filesystem.
cd "{{ paths.restore_target }}"
status=0
run_kopia restore "$snapshot_id" "{{ paths.restore_target }}" "${restore_args[@]}" "$@" || status=$?
[ "$status" -eq 0 ] || fail "kopia restore of snapshot $snapshot_id failed (exit $status)" "$status"
sync -f . 2>/dev/null || sync
write_result success "restored snapshot $snapshot_id of $source_id" \
  snapshotId "$(json_string "$snapshot_id")"
