#!/bin/sh
# The Zeus ZAP page (served at / because there is no index.html): calls each Service ZEUS_CALLS
# times (default 6) by its name and shows which replica answered each call, then how many each got.
. /zeus/lib.sh

esc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'; }

calls=${ZEUS_CALLS:-6}
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n'
echo "<!doctype html><html><head><title>Zeus ZAP</title></head><body>"
echo "<h1>Zeus ZAP</h1>"
echo "<p>UI $ZEUS_VERSION on pod $(hostname) ($POD_IP, node $NODE_NAME): the NodePort sent this page's request here</p>"
for svc in api quotes; do
	echo "<h2>zeus-$svc</h2>"
	echo "<p>$calls calls to http://zeus-$svc/ (the Service: one ready replica per connection)</p><ol>"
	answered=''
	i=0
	while [ "$i" -lt "$calls" ]; do
		i=$((i + 1))
		if answer=$(http_get "http://zeus-$svc/cgi-bin/index.cgi"); then
			answered="$answered$(echo "$answer" | sed -n 's/.* on pod \([^ ]*\) .*/\1/p')
"
		else
			answer='(no answer)'
		fi
		echo "<li>$(echo "$answer" | esc)</li>"
	done
	echo "</ol><p>answered by: $(printf '%s' "$answered" | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }' | esc)</p>"
done
echo "<p>database: $ZEUS_DB (the StatefulSet pod zeus-db-0 through its headless Service zeus-db)</p>"
echo "</body></html>"
