#!/bin/sh
. /zeus/lib.sh
visits=$(db=$(zeus_db) && http_post "http://$db/cgi-bin/kv?incr=api.visits" '') || visits='? (database not found)'
cgi_reply '200 OK' "zeus-api $ZEUS_VERSION on pod $(hostname) ($POD_IP, node $NODE_NAME): visit #$visits"
