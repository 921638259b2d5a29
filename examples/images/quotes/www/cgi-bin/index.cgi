#!/bin/sh
. /zeus/lib.sh
# busybox sh has $RANDOM
# shellcheck disable=SC3028
quote=$(awk -v seed="$RANDOM$RANDOM" 'BEGIN { srand(seed) } { q[NR] = $0 } END { print q[int(rand() * NR) + 1] }' /zeus/app/quotes.txt)
cgi_reply '200 OK' "zeus-quotes $ZEUS_VERSION on pod $(hostname) ($POD_IP, node $NODE_NAME): $quote"
