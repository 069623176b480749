#!/bin/sh
# /init of the second kernel's initrd (/boot/initrd in the guest): busybox only.
# Reports that the kexec'd kernel runs and what its command line is, then powers off
# (or, with hb.then=reboot, resets the machine).
# The host waits for "HB-MARKER: marker=<value>", the value the first kernel passed
# in hb.marker= through kexec's --append.

/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys

cmdline=$(cat /proc/cmdline)
echo "HB-MARKER: second-init arch=$(uname -m)"
echo "HB-MARKER: cmdline $cmdline"
# A kernel with kexec hardboot: what it made of its page (hardboot-mem boots this
# initrd alone, on arm64, where the RAM mem= leaves is too small for the lab guest).
page=$(dmesg | grep -m 1 'kexec-hardboot: page at')
[ -n "$page" ] && echo "HB-MARKER: hardboot-boot ${page#*kexec-hardboot: }"
[ -r /sys/kernel/kexec_hardboot/status ] && echo "HB-MARKER: hardboot-status $(cat /sys/kernel/kexec_hardboot/status)"
then=poweroff
for w in $cmdline; do
	case "$w" in
	hb.marker=*) echo "HB-MARKER: marker=${w#hb.marker=}" ;;
	hb.then=*) then=${w#hb.then=} ;;
	esac
done
# Whether firmware started it through its EFI stub (a stored kernel never is: the
# hardboot take-over enters it directly, with the DTB the loader gave it).
if [ -d /sys/firmware/efi ]; then echo "HB-MARKER: uefi=yes"; else echo "HB-MARKER: uefi=no"; fi
# The DTB it booted with, when the loader passed the lab's stored one.
[ -r /proc/device-tree/chosen/hb,dtb ] && echo "HB-MARKER: dtb=$(tr -d '\000' < /proc/device-tree/chosen/hb,dtb)"
sync
if [ "$then" = reboot ]; then
	echo "HB-MARKER: second-reboot"
	reboot -f
else
	poweroff -f
fi
sleep 10
echo "HB-MARKER: fail poweroff -f returned"
