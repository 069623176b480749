# kexec: our tool, the same job as kexec-tools.sh. HB_ARGS may hold
#   dtb-file   pass --dtb=<a copy of /sys/firmware/fdt> instead of using the running tree
command -v hardboot >/dev/null || fail "no hardboot in the guest (dist/hardboot.mjs was not built)"
append="console=ttyAMA0 panic=-1 hb.marker=second"
dtb=
for a in $HB_ARGS; do
	case "$a" in
	dtb-file)
		cp /sys/firmware/fdt /tmp/board.dtb || fail "cannot copy /sys/firmware/fdt"
		dtb=--dtb=/tmp/board.dtb
		;;
	esac
done
marker "kexec-load tool=hardboot kernel=$HB_KERNEL $dtb"
hardboot -l "$HB_KERNEL" --initrd="$HB_INITRD" --append="$append" $dtb || fail "hardboot -l exited $?"
marker "kexec-exec"
sync
hardboot -e
fail "hardboot -e returned $?"
