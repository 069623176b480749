#!/bin/sh
# /init of the lab guest (the first kernel). Installed by lab/guest.ts as /init.
#
# Reads the scenario from the kernel command line:
#   hb.scenario=<name>   runs /lab/scenarios/<name>.sh (sourced: it sees marker/fail)
#   hb.args=<a,b,...>    free-form words for the scenario, in $HB_ARGS
# prints "HB-MARKER: <name> ..." lines on the console for the host to wait for,
# and ends with `poweroff -f` (QEMU exits) or, if the scenario sets HB_END=reboot,
# `reboot -f` (a PSCI SYSTEM_RESET: QEMU resets the machine).

/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

marker() { echo "HB-MARKER: $*"; }

finish() {
	sync
	if [ "$1" = reboot ]; then reboot -f; else poweroff -f; fi
	sleep 10
	marker "fail $1 -f returned"
}

fail() {
	marker "fail $*"
	finish poweroff
}

HB_SCENARIO=
HB_ARGS=
HB_END=poweroff
for w in $(cat /proc/cmdline); do
	case "$w" in
	hb.scenario=*) HB_SCENARIO=${w#hb.scenario=} ;;
	hb.args=*) HB_ARGS=$(echo "${w#hb.args=}" | tr , ' ') ;;
	esac
done

marker "init arch=$(uname -m) kernel=$(uname -r) scenario=$HB_SCENARIO"
# A kernel with kexec hardboot says at boot what it made of its page and how it
# would reset; a boot kernel that refused a hardboot record says so once.
page=$(dmesg | grep -m 1 'kexec-hardboot: page at')
[ -n "$page" ] && marker "hardboot-boot ${page#*kexec-hardboot: }"
reset=$(dmesg | grep -m 1 'kexec-hardboot: reset by')
[ -n "$reset" ] && marker "hardboot-reset ${reset#*kexec-hardboot: }"
rejected=$(dmesg | grep -m 1 'kexec-hardboot: rejected')
[ -n "$rejected" ] && marker "hardboot-rejected ${rejected#*kexec-hardboot: }"
[ -n "$HB_SCENARIO" ] || fail "no hb.scenario= on the kernel command line"
[ -f "/lab/scenarios/$HB_SCENARIO.sh" ] || fail "unknown scenario '$HB_SCENARIO'"

# The lab kernel at /boot, for scenarios that kexec it again.
HB_KERNEL=$(ls /boot/Image /boot/zImage 2>/dev/null | head -n 1)
HB_INITRD=/boot/initrd

. "/lab/scenarios/$HB_SCENARIO.sh"

marker "done $HB_SCENARIO"
finish "$HB_END"
