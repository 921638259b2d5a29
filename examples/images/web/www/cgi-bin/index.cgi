#!/bin/sh
# The Zeus ZAP page (served at / because there is no index.html): every live pod of each service,
# called by its pod IP, and where the database is.
. /zeus/lib.sh

esc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'; }

printf 'HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n'
echo "<!doctype html><html><head><title>Zeus ZAP</title></head><body>"
echo "<h1>Zeus ZAP</h1>"
echo "<p>UI $ZEUS_VERSION on pod $(hostname) ($POD_IP, node $NODE_NAME)</p>"
if ! db=$(zeus_db); then
	echo "<p>database: not found on $HOST_IP $ZEUS_NODES (port $ZEUS_DB_PORT)</p></body></html>"
	exit 0
fi
echo "<p>database: $db</p>"
now=$(date +%s)
registry=$(http_get "http://$db/cgi-bin/kv?list=svc.")
for svc in api quotes; do
	echo "<h2>zeus-$svc</h2><ul>"
	found=0
	for entry in $(echo "$registry" | awk -v s="svc.$svc." -v now="$now" -v ttl="$ZEUS_TTL" \
		'index($1, s) == 1 && now - $2 <= ttl { print substr($1, length(s) + 1) }'); do
		found=1
		answer=$(http_get "http://$entry/cgi-bin/index.cgi") || answer='(no answer)'
		echo "<li>$entry: $(echo "$answer" | esc)</li>"
	done
	[ "$found" = 1 ] || echo "<li>no live pod</li>"
	echo "</ul>"
done
echo "</body></html>"
