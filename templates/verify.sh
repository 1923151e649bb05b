#!/bin/bash
# kopiaplan restore drill: connect, find the source's newest snapshot and
# verify it with `kopia snapshot verify`, downloading a share of its files.
# Rendered by kopiaplan from templates/verify.sh.
OPERATION=verify
# shellcheck source=common.sh
source "{{ paths.scripts }}/common.sh"
# shellcheck source=stream.sh
source "{{ paths.scripts }}/stream.sh"


prepare_directories
connect_repository Never

source_id="${ {{- env.username }}}@${ {{- env.hostname }}}:${ {{- env.source_path }}}"
list="$HOME/snapshots.json"
status=0
run_kopia snapshot list "$source_id" --json >"$list" || status=$?
[ "$status" -eq 0 ] || fail "could not list the snapshots of $source_id (exit $status)" "$status"
snapshot_id=$(snapshots_of "$list" "$source_id" | sed -n 1p | cut -f2)
if [ -z "$snapshot_id" ]; then
  list_identities
  log "error: $source_id has no snapshot to verify"
  write_result failure "$source_id has no snapshot to verify" \
    availableIdentities "$AVAILABLE_IDENTITIES"
  exit 1
fi
log "verifying snapshot $snapshot_id of $source_id (${ {{- env.verify_files_percent }}}% of files downloaded)"
status=0
run_kopia snapshot verify --verify-files-percent="${{ env.verify_files_percent }}" "$snapshot_id" || status=$?
[ "$status" -eq 0 ] || fail "snapshot $snapshot_id of $source_id failed verification (exit $status)" "$status"
if [ "${ {{- env.restore_check }}:-false}" = true ]; then
  restore_check "$snapshot_id" "$source_id"
fi
write_result success "snapshot $snapshot_id of $source_id verified" \
  snapshotId "$(json_string "$snapshot_id")"
