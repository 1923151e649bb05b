#!/bin/bash
# kopiaplan maintenance mover: connect as the repository's maintenance
# owner, claim ownership explicitly, run full maintenance.
# Rendered by kopiaplan from templates/maintenance.sh.
OPERATION=maintenance
# shellcheck source=common.sh
source "{{ paths.scripts }}/common.sh"


prepare_directories
connect_repository Never

owner="${ {{- env.username }}}@${ {{- env.hostname }}}"
info="$HOME/maintenance-info.txt"
if run_kopia maintenance info >"$info" 2>&1; then
  previous_owner=$(sed -n 's/^Owner: *//p' "$info" | head -n 1)
  if [ -n "$previous_owner" ] && [ "$previous_owner" != "$owner" ]; then
    log "maintenance was owned by $previous_owner; $owner claims it"
  fi
fi
run_kopia maintenance set --owner="$owner" ||
  fail "could not make $owner the maintenance owner"
log "running full maintenance as $owner"
status=0
run_kopia maintenance run --full --safety=full || status=$?
[ "$status" -eq 0 ] || fail "kopia maintenance run --full failed (exit $status)" "$status"
write_result success "full maintenance done as $owner"
