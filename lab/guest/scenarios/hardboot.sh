# hardboot: store the lab kernel with its own command line, initrd and DTB
# (hardboot --load-hardboot), then hardboot -e: the running kernel writes the
# hardboot record and resets the machine; QEMU reloads the boot kernel, whose
# first instructions find the record and jump to the stored kernel.
# HB_ARGS:
#   memmin=ADDR memmax=ADDR   where the segments go (lab/boards.json: outside
#                             what QEMU reloads on reset)
#   then=reboot               the stored kernel resets again (hardboot-oneshot)
#   unload                    hardboot -u after the load, then reset (hardboot-unload)
#   bootimg                   load /boot/boot.img (mkbootimg v2: kernel, ramdisk, DTB and
#                             command line all from the image) (hardboot-bootimg)
#   dtimg                     --dtb=/boot/dt.img, a QCDT table: the entry for the running
#                             board's qcom,msm-id is chosen (hardboot-dtimg)
#   legacy                    first send the old hardboot bit 0x4 on a plain load: a kernel
#                             whose bit is another must refuse it (EINVAL)
#   edges                     the boot code checks only each segment's first and last
#                             4 KiB (echo edges > /sys/kernel/kexec_hardboot/check)
#   running-dtb               the stored kernel gets the running tree, not /boot/stored.dtb
#                             (hardboot-el2: the PSCI conduit must be the machine's, smc)
#   expect-refused            the kernel cannot hardboot (hardboot-mem): --load-hardboot
#                             must exit 5 with the kernel's reason, and load nothing
#   efi                       the kernel must have been started by UEFI firmware through
#                             its EFI stub (hardboot-efi: edk2 as QEMU's -bios)
command -v hardboot >/dev/null || fail "no hardboot in the guest (dist/hardboot.mjs was not built)"
[ -r /sys/kernel/kexec_hardboot ] || fail "no /sys/kernel/kexec_hardboot: the lab kernel was built without CONFIG_KEXEC_HARDBOOT"
memmin=
memmax=
then=
unload=
source=
refused=
dtb=--dtb=/boot/stored.dtb
for a in $HB_ARGS; do
	case "$a" in
	memmin=*) memmin=${a#memmin=} ;;
	memmax=*) memmax=${a#memmax=} ;;
	then=*) then=${a#then=} ;;
	unload) unload=1 ;;
	bootimg) source=bootimg ;;
	dtimg) source=dtimg ;;
	expect-refused) refused=1 ;;
	running-dtb) dtb= ;;
	legacy) legacy=1 ;;
	efi) [ -d /sys/firmware/efi ] || fail "not started by UEFI: no /sys/firmware/efi"
		fw=$(dmesg | grep -m 1 'efi: EFI v')
		marker "hardboot-uefi ${fw#*efi: }" ;;
	edges) echo edges > /sys/kernel/kexec_hardboot/check || fail "cannot set check=edges"
		marker "hardboot-check $(cat /sys/kernel/kexec_hardboot/check)" ;;
	esac
done
[ -n "$memmin" ] && [ -n "$memmax" ] || fail "hardboot scenario without memmin= and memmax="
flag=$(cat /sys/kernel/kexec_hardboot/flag)
# (The flag comes last: scenarios match the marker's start, and status may hold spaces.)
marker "hardboot-page $(cat /sys/kernel/kexec_hardboot/page) reset=$(cat /sys/kernel/kexec_hardboot/reset) status=$(cat /sys/kernel/kexec_hardboot/status) flag=$flag"
if [ -n "$legacy" ]; then
	# An old userspace's hardboot bit, 0x4, on a kernel whose bit is another
	# (0x8000 on 6.12, where 0x4 is KEXEC_UPDATE_ELFCOREHDR): refused, never a
	# silent plain kexec. On 6.1, 0x4 is this kernel's own bit: nothing to check.
	if [ "$flag" = 0x4 ]; then
		marker "legacy-flag 0x4 is this kernel's hardboot bit"
	else
		errno=$(node /lab/scenarios/legacy-flag.cjs "$memmin") || fail "legacy-flag.cjs failed"
		[ "$errno" = 22 ] || fail "kexec_load with the old hardboot bit 0x4 gave errno $errno, expected EINVAL (22)"
		[ "$(cat /sys/kernel/kexec_loaded)" = 0 ] || fail "the old hardboot bit loaded an image"
		marker "legacy-flag 0x4 refused with EINVAL (this kernel's bit is $flag)"
	fi
fi

if [ -n "$refused" ]; then
	err=$(hardboot --load-hardboot "$HB_KERNEL" --initrd="$HB_INITRD" --dtb=/boot/stored.dtb \
		--mem-min="$memmin" --mem-max="$memmax" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" = 5 ] || fail "hardboot --load-hardboot exited $rc, expected 5: $err"
	[ "$(cat /sys/kernel/kexec_loaded)" = 0 ] || fail "something was loaded"
	marker "hardboot-refused ${err#hardboot: }"
	return 0
fi

append="console=ttyAMA0 panic=-1 hb.marker=stored"
[ -n "$then" ] && append="$append hb.then=$then"
case "$source" in
bootimg)
	hardboot --load-hardboot /boot/boot.img --mem-min="$memmin" --mem-max="$memmax" ;;
dtimg)
	hardboot --load-hardboot "$HB_KERNEL" --initrd="$HB_INITRD" --dtb=/boot/dt.img \
		--mem-min="$memmin" --mem-max="$memmax" --append="console=ttyAMA0 panic=-1 hb.marker=dtimg" ;;
*)
	hardboot --load-hardboot "$HB_KERNEL" --initrd="$HB_INITRD" $dtb \
		--mem-min="$memmin" --mem-max="$memmax" --append="$append" ;;
esac || fail "hardboot --load-hardboot exited $?"
marker "hardboot-load loaded=$(cat /sys/kernel/kexec_loaded)"

if [ -n "$unload" ]; then
	hardboot -u || fail "hardboot -u exited $?"
	marker "hardboot-unload loaded=$(cat /sys/kernel/kexec_loaded)"
	HB_END=reboot
else
	marker "hardboot-exec"
	sync
	hardboot -e
	fail "hardboot -e returned $?"
fi
