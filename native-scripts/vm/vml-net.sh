#!/bin/sh
# vml-net - the lab VM's address from the kernel command line (vml.ip=A.B.C.D): eth0 on the lab
# bridge, the default route through the bridge (which routes nowhere: nothing leaves the host).
set -e
ip=$(sed -n 's/.*vml\.ip=\([0-9.]*\).*/\1/p' /proc/cmdline)
ip link set lo up
[ -n "$ip" ] || exit 0
ip link set eth0 up
ip addr replace "$ip/24" dev eth0
ip route replace default via "${ip%.*}.1"
printf '127.0.0.1 localhost\n%s %s\n' "$ip" "$(hostname)" > /etc/hosts
