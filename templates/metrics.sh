# shellcheck shell=bash
# Sourced by common.sh. After every run the EXIT trap pushes the run's
# result to the Pushgateway the plan names (spec.monitoring.pushgateway),
# grouped by namespace, plan, component and entry. POST replaces only the
# gauges it sends: a failed run leaves the last success's gauges in place.
# A push that fails is logged; it never changes the run's result.

# Set by write_result.
RESULT_STATUS=
RESULT_BYTES=
RESULT_FILES=

# push_metrics EXIT_STATUS
push_metrics() {
  local status=$1
  [ -n "${ {{- env.pushgateway_url }}:-}" ] || return 0
  if ! command -v curl >/dev/null 2>&1; then
    log "warning: curl is missing; the run's metrics were not pushed"
    return 0
  fi
  local now success=0 body
  now=$(date +%s)
  [ "$status" -ne 0 ] || success=1
  body="# TYPE {{ metrics.last_run_timestamp }} gauge
{{ metrics.last_run_timestamp }} $now
# TYPE {{ metrics.last_run_success }} gauge
{{ metrics.last_run_success }} $success
# TYPE {{ metrics.last_run_duration }} gauge
{{ metrics.last_run_duration }} $SECONDS
"
  if [ "$success" = 1 ]; then
    body+="# TYPE {{ metrics.last_success_timestamp }} gauge
{{ metrics.last_success_timestamp }} $now
"
  fi
  if [ "$success" = 1 ] && [ "$OPERATION" = backup ] && [ "$RESULT_STATUS" = success ]; then
    body+="# TYPE {{ metrics.last_snapshot_timestamp }} gauge
{{ metrics.last_snapshot_timestamp }} $now
# TYPE {{ metrics.last_snapshot_bytes }} gauge
{{ metrics.last_snapshot_bytes }} ${RESULT_BYTES:-0}
# TYPE {{ metrics.last_snapshot_files }} gauge
{{ metrics.last_snapshot_files }} ${RESULT_FILES:-0}
"
  fi
  local url="${{ env.pushgateway_url }}/namespace/${{ env.namespace }}" error
  if error=$(printf '%s' "$body" | curl --silent --show-error --fail --max-time 10 \
    --retry 2 --data-binary @- "$url" 2>&1); then
    log "pushed the run's metrics to the Pushgateway"
  else
    log "warning: pushing the run's metrics to the Pushgateway failed (${error:-no reason given}); the run's result stands"
  fi
  return 0
}
