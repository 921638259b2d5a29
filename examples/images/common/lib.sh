# lib.sh - shared by the Zeus ZAP services (busybox sh), installed as /zeus/lib.sh.
#
# Finding each other: by Service names through the cluster DNS, as in Kubernetes; no addresses are
# configured anywhere. The database is the StatefulSet pod zeus-db-0 behind the headless Service
# zeus-db: its stable name zeus-db-0.zeus-db follows it to whatever IP and node it gets. The api and
# quotes are ClusterIP Services (zeus-api, zeus-quotes, port 80): every connection goes to one of
# their ready replicas. Short names resolve through the search path of the pod's resolv.conf
# (default.svc.cluster.local svc.cluster.local cluster.local).

# where the database answers (the StatefulSet pod's stable name and port)
ZEUS_DB=${ZEUS_DB:-zeus-db-0.zeus-db:7000}

# http_get URL: the body, or failure after ZEUS_HTTP_TIMEOUT seconds (default 3), so one dead
# address does not stall a page (`timeout`, not wget -T: busybox 1.35's static wget crashes with -T)
http_get() { timeout "${ZEUS_HTTP_TIMEOUT:-3}" wget -q -O - "$1" 2>/dev/null; }

# http_post URL DATA
http_post() { timeout "${ZEUS_HTTP_TIMEOUT:-3}" wget -q -O - --post-data "$2" "$1" 2>/dev/null; }

# zeus_busy: true while a connection is being served (busybox httpd forks one process per
# connection; the listener itself is gone when this is asked)
zeus_busy() {
	for comm in /proc/[0-9]*/comm; do
		[ "$(cat "$comm" 2>/dev/null)" = httpd ] && return 0
	done
	return 1
}

# zeus_stop: SIGTERM: stop accepting (the listening httpd exits, its socket closes), let the requests
# in flight finish (at most ZEUS_DRAIN_SECONDS, default 10; the pods' grace period is 15), then exit.
# By then the node has taken this pod out of its Services (it is terminating), so no new request
# comes; exiting at once would cut the answers being written (the container's PID 1 leaving kills
# every process in it).
zeus_stop() {
	kill "$httpd_pid" 2>/dev/null
	wait "$httpd_pid" 2>/dev/null
	i=0
	while zeus_busy && [ "$i" -lt $((${ZEUS_DRAIN_SECONDS:-10} * 10)) ]; do
		usleep 100000
		i=$((i + 1))
	done
	exit 0
}

# zeus_serve PORT: busybox httpd on /zeus/app/www in the foreground, stopped gracefully by SIGTERM
zeus_serve() {
	httpd -f -p "$1" -h /zeus/app/www &
	httpd_pid=$!
	trap zeus_stop TERM INT
	wait "$httpd_pid"
}

# cgi_reply STATUS [TEXT]: a plain-text CGI answer with that HTTP status
cgi_reply() {
	printf 'HTTP/1.0 %s\r\nContent-Type: text/plain\r\n\r\n' "$1"
	[ $# -lt 2 ] || printf '%s\n' "$2"
}

# query_param NAME: the value of NAME in QUERY_STRING (no URL decoding: keys are plain)
query_param() { echo "$QUERY_STRING" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n 1; }
