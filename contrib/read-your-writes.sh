#!/bin/sh
# read-your-writes.sh: the read-your-writes pattern with curl and jq.
#
#   1. write on the primary; its answer carries the position P of the write
#   2. ask replguard which node to read from: GET /route/{cluster}
#      ?min_position=P lists the nodes that had applied P at replguard's
#      last poll, best first (a replica when one has it, else the primary);
#      &wait=200ms lets replguard poll again for up to 200 ms when no
#      replica has it yet, so the read need not go to the primary
#   3. read there
#
# Usage: read-your-writes.sh [REPLGUARD [CLUSTER [PRIMARY]]]
#   defaults: http://127.0.0.1:9650, main, http://127.0.0.1:18180
# Against replguard-simnode (docs/reference.md), whose POST /v1/write
# answers {"position": P} and GET /v1/read?position=P answers
# {"has": true|false}: run it with the simnode's primary URL.
set -eu
RG=${1:-http://127.0.0.1:9650}
CLUSTER=${2:-main}
PRIMARY=${3:-http://127.0.0.1:18180}

# 1. the write, and the position it was applied at
P=$(curl -fsS -X POST -H 'Content-Type: application/json' \
    -d '{"count": 1}' "$PRIMARY/v1/write" | jq -r .position)

# 2. where to read: the first node that has P (never empty while the
# primary is up: it always has P)
ROUTE=$(curl -fsS "$RG/route/$CLUSTER?preference=any&min_position=$P&wait=200ms")
NODE=$(printf '%s' "$ROUTE" | jq -r '.nodes[0].name // empty')
URL=$(printf '%s' "$ROUTE" | jq -r '.nodes[0].url // empty')
if [ -z "$URL" ]; then
    echo "no node to read from: $(printf '%s' "$ROUTE" | jq -c .excluded)" >&2
    URL=$PRIMARY # replguard knows no fit node: the primary has the write
fi

# 3. the read (through HAProxy instead: send it to the read_your_writes
# frontend of contrib/haproxy/read-preferences.cfg with -H "X-Read-Node:
# $NODE")
echo "wrote at $P, reading from ${NODE:-the primary}"
curl -fsS "$URL/v1/read?position=$P"
echo
