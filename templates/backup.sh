#!/bin/bash
# kopiaplan backup mover: connect, apply this source's policy, snapshot.
# Rendered by kopiaplan from templates/backup.sh. Arguments are extra
# `kopia snapshot create` arguments, passed through verbatim.
OPERATION=backup
# shellcheck source=common.sh
source "{{ paths.scripts }}/common.sh"
# shellcheck source=stream.sh
source "{{ paths.scripts }}/stream.sh"

{{ env.source_path }}=${ {{- env.source_path }}:-{{ paths.data }}}

run_action() {
  local name=$1 command=$2
  log "running the $name action (timeout ${ {{- env.action_timeout }}}s)"
  (cd "{{ paths.data }}" && timeout --signal=TERM --kill-after=10 "${{ env.action_timeout }}" bash -c "$command")
}

prepare_directories
connect_repository "${{ env.create }}"

# policyConfig's global policy file: Kopia policy JSON, imported as the
# repository's global policy before this source's own policy.
global_file=${ {{- env.global_policy_file }}:-}
if [ -n "$global_file" ] && [ -f "$global_file" ]; then
  log "applying the global policy from $global_file"
  wrapped="$HOME/global-policy.json"
  { printf '{"(global)":'; cat "$global_file"; printf '}\n'; } >"$wrapped"
  run_kopia policy import --global --from-file="$wrapped" ||
    fail "could not apply the global policy from $global_file"
elif [ -n "$global_file" ]; then
  log "there is no global policy file $global_file: the repository's global policy is left as it is"
fi

target="${ {{- env.username }}}@${ {{- env.hostname }}}:${ {{- env.source_path }}}"
log "applying the policy of $target"
run_kopia policy import --from-file="{{ paths.policy }}/policy.json" "$target" ||
  fail "could not apply the policy of $target"

if [ -n "${ {{- env.stream_file }}:-}" ]; then
  empty_source=false
elif [ -z "$(ls -A "{{ paths.data }}")" ]; then
  log "warning: the source volume is empty; the snapshot will hold no files"
  empty_source=true
else
  empty_source=false
fi

# The repository settings' `enableActions: false` turns the actions off,
# as it does in VolSync.
if [ -n "${ {{- env.before_snapshot }}:-}" ] && [ "$ACTIONS_ENABLED" = false ]; then
  log "the beforeSnapshot action is skipped: the repository settings say enableActions: false"
elif [ -n "${ {{- env.before_snapshot }}:-}" ]; then
  run_action beforeSnapshot "${{ env.before_snapshot }}" ||
    fail "the beforeSnapshot action failed; no snapshot was taken"
fi

snapshot_args=()
if [ "${{ env.source_path }}" != "{{ paths.data }}" ] || [ -n "${ {{- env.stream_file }}:-}" ]; then
  snapshot_args+=(--override-source="${{ env.source_path }}")
fi
if [ -n "${ {{- env.parallelism }}:-}" ]; then
  snapshot_args+=(--parallel="${{ env.parallelism }}")
fi

log "snapshotting $target"
manifest_file="$HOME/snapshot.json"
status=0
if [ -n "${ {{- env.stream_file }}:-}" ]; then
  stream_snapshot "$manifest_file" "${snapshot_args[@]}" --json "$@" || status=$?
else
  run_kopia snapshot create "{{ paths.data }}" "${snapshot_args[@]}" --json "$@" >"$manifest_file" || status=$?
fi
[ "$status" -eq 0 ] || fail "kopia snapshot create failed (exit $status)" "$status"
# The manifest Kopia printed: one compact JSON object. Its root entry's
# summary holds the only "size" and "files" keys.
IFS=$'\037' read -r snapshot_id bytes files incomplete < <(tr -d '\n' <"$manifest_file" | json_fields id size files incomplete) || true
# Kopia keeps a partial snapshot and exits 0 when it is stopped: that run
# did not back the volume up.
if [ "$TERMINATED" = true ] || [ -n "$incomplete" ]; then
  fail "the backup was interrupted; Kopia kept an incomplete snapshot" 143
fi
[ -n "$snapshot_id" ] || fail "kopia snapshot create reported no snapshot id; see the log above"
# A stream's snapshot is kept only if the dump exited 0.
if [ -n "${ {{- env.stream_file }}:-}" ]; then
  stream_keep_only_a_good_dump "$snapshot_id"
fi

if [ -n "${ {{- env.after_snapshot }}:-}" ] && [ "$ACTIONS_ENABLED" = false ]; then
  log "the afterSnapshot action is skipped: the repository settings say enableActions: false"
elif [ -n "${ {{- env.after_snapshot }}:-}" ]; then
  run_action afterSnapshot "${{ env.after_snapshot }}" ||
    log "warning: the afterSnapshot action failed; the snapshot was taken"
fi

write_result success "snapshot $snapshot_id of $target" \
  snapshotId "$(json_string "$snapshot_id")" \
  bytes "${bytes:-0}" \
  files "${files:-0}" \
  emptySource "$empty_source"
