#!/bin/sh
# Creates the Sessionflow namespace and registers its custom search attributes
# (contract/search_attributes.py) once the frontend answers. Safe to rerun: it only adds what is
# missing, a search attribute that exists keeps its type, and an existing namespace's retention is
# set to NAMESPACE_RETENTION (a change applies to executions that close from then on).
#
# Retention: how long a CLOSED execution's history is kept (docs/retention.md). 180 days, the
# refund period after a session closed (domain/refunds.py REFUND_PERIOD_AFTER_CLOSE): a refund or
# a dispute (up to 120 days after the charge) of a closed session starts its refunds workflow from
# the closed session's history, so that history must outlive the period. Set NAMESPACE_RETENTION
# (compose: SESSIONFLOW_NAMESPACE_RETENTION) to change it; never below 180d.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
: "${NAMESPACE:?NAMESPACE is required}"
RETENTION="${NAMESPACE_RETENTION:-180d}"

attempt=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS is not healthy after 60 attempts" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace update --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" --retention "$RETENTION"
  echo "namespace $NAMESPACE exists (retention $RETENTION)"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" --retention "$RETENTION"
fi

existing="$(temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE")"
for spec in SessionStatus:Keyword TherapistId:Keyword ClientId:Keyword SessionStart:Datetime \
    SessionEnd:Datetime SessionPaymentIntent:Keyword PaymentAccountId:Keyword; do
  name="${spec%%:*}"
  kind="${spec##*:}"
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" \
      --name "$name" --type "$kind"
  fi
done
echo "namespace $NAMESPACE ready"
