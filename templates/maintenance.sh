#!/bin/bash
# kopiaplan maintenance mover: connect as the repository's maintenance
# owner, claim ownership explicitly (Claim) or run only while the owner
# holds it (Yield), run quick or full maintenance.
# Rendered by kopiaplan from templates/maintenance.sh.
OPERATION=maintenance
# shellcheck source=common.sh
source "{{ paths.scripts }}/common.sh"


prepare_directories
connect_repository Never

owner="${ {{- env.username }}}@${ {{- env.hostname }}}"
mode=${ {{- env.maintenance_mode }}}
info="$HOME/maintenance-info.txt"
previous_owner=
if run_kopia maintenance info >"$info" 2>&1; then
  previous_owner=$(sed -n 's/^Owner: *//p' "$info" | head -n 1)
elif [ "${ {{- env.ownership }}}" = Yield ]; then
  cat "$info" >&2
  fail "could not read who owns maintenance (kopia maintenance info failed)"
fi
if [ "${ {{- env.ownership }}}" = Yield ]; then
  # Another owner (another cluster, another plan) maintains the
  # repository: say who, and leave it to them.
  if [ "$previous_owner" != "$owner" ]; then
    log "maintenance is owned by ${previous_owner:-nobody}, not $owner: yielding, no $mode maintenance run"
    write_result success "$mode maintenance yielded to ${previous_owner:-nobody}" \
      yielded true owner "$(json_string "$previous_owner")"
    exit 0
  fi
else
  if [ -n "$previous_owner" ] && [ "$previous_owner" != "$owner" ]; then
    log "maintenance was owned by $previous_owner; $owner claims it"
  fi
  run_kopia maintenance set --owner="$owner" ||
    fail "could not make $owner the maintenance owner"
fi
run_flags=()
[ "$mode" != full ] || run_flags=(--full)
log "running $mode maintenance as $owner"
status=0
run_kopia maintenance run "${run_flags[@]}" --safety=full || status=$?
[ "$status" -eq 0 ] || fail "kopia maintenance run ($mode) failed (exit $status)" "$status"

# The repository's size after maintenance, for the result line: every blob
# (bytes and count) and the index blobs (`x` prefix), whose number Kopia's
# memory grows with. Not knowing them is no failure of maintenance.
stats=()
blob_stat() { # blob_stat FIELD [FLAGS...]: Count or Total of `kopia blob stats --raw`
  local field=$1 out
  shift
  out=$(run_kopia blob stats --raw "$@" 2>/dev/null) || return 0
  printf '%s\n' "$out" | sed -n "s/^$field: *\([0-9][0-9]*\)$/\1/p" | head -n 1
}
bytes=$(blob_stat Total)
blobs=$(blob_stat Count)
index_blobs=$(blob_stat Count --prefix=x)
if [ -n "$bytes" ] && [ -n "$blobs" ] && [ -n "$index_blobs" ]; then
  log "the repository holds $blobs blobs ($bytes bytes), $index_blobs of them index blobs"
  stats=(bytes "$bytes" blobCount "$blobs" indexBlobCount "$index_blobs")
  if [ "$index_blobs" -gt {{ limits.index_blobs_warning }} ]; then
    log "warning: $index_blobs index blobs (more than {{ limits.index_blobs_warning }}): maintenance may be falling behind, or run by another owner; every Kopia run reads them all"
    stats+=(warning "$(json_string "$index_blobs index blobs: more than {{ limits.index_blobs_warning }}")")
  fi
else
  log "warning: could not read the repository's blob statistics"
fi
write_result success "$mode maintenance done as $owner" yielded false "${stats[@]}"
