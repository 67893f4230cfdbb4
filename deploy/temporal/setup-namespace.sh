#!/bin/sh
# Register the namespace and the survey search attributes on the production Temporal server
# (the dev server started by `outreach up` does this itself). Idempotent.
#   TEMPORAL_ADDRESS   e.g. temporal:7233
#   NAMESPACE          the namespace the product uses (OUTREACH_TEMPORAL_NAMESPACE)
#   RETENTION          how long closed workflow histories stay, 9600h (400 days: a yearly campaign, so a closed survey can be reopened; the records stay five years
#                      in the read model: outreach/retention.py)
#   SEARCH_ATTRIBUTES  space-separated NAME=Type pairs (the list in models/search_attributes.py)
set -eu

: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:=default}" "${RETENTION:=9600h}" "${SEARCH_ATTRIBUTES:?}"
t() { temporal --address "$TEMPORAL_ADDRESS" "$@"; }

until t operator cluster health 2>/dev/null | grep -q SERVING; do
  echo "waiting for Temporal at $TEMPORAL_ADDRESS"
  sleep 2
done

if t operator namespace describe -n "$NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE exists"
else
  t operator namespace create -n "$NAMESPACE" --retention "$RETENTION"
fi

# A new namespace takes a moment to appear in every service's cache.
until t operator search-attribute list -n "$NAMESPACE" >/dev/null 2>&1; do sleep 1; done

existing="$(t operator search-attribute list -n "$NAMESPACE")"
for pair in $SEARCH_ATTRIBUTES; do
  name="${pair%%=*}"
  kind="${pair#*=}"
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    t operator search-attribute create -n "$NAMESPACE" --name "$name" --type "$kind"
  fi
done
echo "namespace $NAMESPACE and its search attributes are ready"
