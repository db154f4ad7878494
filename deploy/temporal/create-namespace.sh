#!/bin/sh
# Creates the Sessionflow namespace and registers its custom search attributes
# (contract/search_attributes.py) once the frontend answers. Safe to rerun: it only adds what is
# missing, and a search attribute that exists keeps its type.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
: "${NAMESPACE:?NAMESPACE is required}"
RETENTION="${NAMESPACE_RETENTION:-90d}"

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
  echo "namespace $NAMESPACE exists"
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
