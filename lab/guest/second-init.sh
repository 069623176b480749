#!/bin/sh
# /init of the second kernel's initrd (/boot/initrd in the guest): busybox only.
# Reports that the kexec'd kernel runs and what its command line is, then powers off.
# The host waits for "HB-MARKER: marker=<value>", the value the first kernel passed
# in hb.marker= through kexec's --append.

/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys

cmdline=$(cat /proc/cmdline)
echo "HB-MARKER: second-init arch=$(uname -m)"
echo "HB-MARKER: cmdline $cmdline"
for w in $cmdline; do
	case "$w" in
	hb.marker=*) echo "HB-MARKER: marker=${w#hb.marker=}" ;;
	esac
done
sync
poweroff -f
sleep 10
echo "HB-MARKER: fail poweroff -f returned"
