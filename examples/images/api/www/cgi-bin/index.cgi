#!/bin/sh
. /zeus/lib.sh
# 1 s for the database, well within the 3 s the UI gives this answer: without the database, it still answers
visits=$(ZEUS_HTTP_TIMEOUT=1 http_post "http://$ZEUS_DB/cgi-bin/kv?incr=api.visits" '') || visits="? (the database at $ZEUS_DB does not answer)"
cgi_reply '200 OK' "zeus-api $ZEUS_VERSION on pod $(hostname) ($POD_IP, node $NODE_NAME): visit #$visits"
