# lib.sh - shared by the Zeus ZAP services (busybox sh), installed as /zeus/lib.sh.
#
# Finding each other: corelet has no Services and no cluster DNS, and pod IPs are not known before the
# pods exist. So the database is the one fixed point: it publishes a hostPort (ZEUS_DB_PORT) and is
# looked up on this pod's own node first (HOST_IP), then on each address in ZEUS_NODES; the first
# that answers is remembered in /tmp/zeus-db. The microservices announce their own pod IP in the
# database every few seconds (key svc.NAME.IP:PORT = time), and the UI reads that list and calls
# them by pod IP, on whichever node they run.

ZEUS_DB_PORT=${ZEUS_DB_PORT:-7000}
# an announcement older than this (seconds) is a pod that has gone
ZEUS_TTL=${ZEUS_TTL:-20}

# http_get URL: the body, or failure; a short timeout so one dead address does not stall a page
# (`timeout`, not wget -T: busybox 1.35's static wget crashes with -T)
http_get() { timeout 3 wget -q -O - "$1" 2>/dev/null; }

# http_post URL DATA
http_post() { timeout 3 wget -q -O - --post-data "$2" "$1" 2>/dev/null; }

# zeus_db: prints HOST:PORT of the database, or fails when no address answers. All addresses are
# tried at once (an unreachable one costs a whole timeout); the first in order that answered wins.
zeus_db() {
	cached=$(cat /tmp/zeus-db 2>/dev/null)
	if [ -n "$cached" ] && http_get "http://$cached/healthz" >/dev/null; then
		echo "$cached"
		return 0
	fi
	answered=$(mktemp -d)
	for ip in $HOST_IP $ZEUS_NODES; do
		(http_get "http://$ip:$ZEUS_DB_PORT/healthz" >/dev/null && : >"$answered/$ip") &
	done
	wait
	for ip in $HOST_IP $ZEUS_NODES; do
		if [ -e "$answered/$ip" ]; then
			rm -rf "$answered"
			echo "$ip:$ZEUS_DB_PORT" >/tmp/zeus-db.$$ && mv /tmp/zeus-db.$$ /tmp/zeus-db
			echo "$ip:$ZEUS_DB_PORT"
			return 0
		fi
	done
	rm -rf "$answered"
	return 1
}

# zeus_announce NAME PORT: tells the database every 5 s that this pod serves NAME on POD_IP:PORT
zeus_announce() {
	while :; do
		db=$(zeus_db) && http_post "http://$db/cgi-bin/kv?key=svc.$1.$POD_IP:$2" "$(date +%s)" >/dev/null
		sleep 5
	done
}

# zeus_serve PORT: busybox httpd on /zeus/app/www in the foreground; SIGTERM stops it (and any
# background job of the caller) at once instead of waiting out the grace period, as PID 1 would
zeus_serve() {
	httpd -f -p "$1" -h /zeus/app/www &
	httpd_pid=$!
	trap 'kill $httpd_pid $(jobs -p) 2>/dev/null; exit 0' TERM INT
	wait "$httpd_pid"
}

# cgi_reply STATUS [TEXT]: a plain-text CGI answer with that HTTP status
cgi_reply() {
	printf 'HTTP/1.0 %s\r\nContent-Type: text/plain\r\n\r\n' "$1"
	[ $# -lt 2 ] || printf '%s\n' "$2"
}

# query_param NAME: the value of NAME in QUERY_STRING (no URL decoding: keys are plain)
query_param() { echo "$QUERY_STRING" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n 1; }
