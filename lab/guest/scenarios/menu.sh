# menu: the boot manager on the lab guest. The boot root is the virtio disk
# /dev/vda (an ext4 image the host made for this run: lab/bootdisk.ts), mounted
# at /mnt; it keeps the boot counters and the one-shot entry across resets.
# Every line hardboot prints is a marker "menu <line>".
# HB_ARGS:
#   oneshot=ID   on the first boot only (the disk remembers), hardboot set-oneshot ID
#   list         hardboot entries: a marker "entry <source> <id>" per entry
#   boot=ID      hardboot boot ID instead of the menu
command -v hardboot >/dev/null || fail "no hardboot in the guest (dist/hardboot.mjs was not built)"
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt || fail "cannot mount the boot disk /dev/vda"
marker "menu-root $(ls /mnt/loader/entries | tr '\n' ' ')"
boot=
for a in $HB_ARGS; do
	case "$a" in
	oneshot=*)
		if [ ! -e /mnt/lab-oneshot-done ]; then
			hardboot set-oneshot "${a#oneshot=}" --root=/mnt || fail "hardboot set-oneshot failed"
			touch /mnt/lab-oneshot-done
			sync
			marker "menu-oneshot $(cat /mnt/hardboot/oneshot)"
		fi ;;
	list)
		hardboot entries --root=/mnt > /tmp/entries || fail "hardboot entries failed"
		sed -nE 's/^ +(bls|extlinux) ([^ ]+) .*/HB-MARKER: entry \1 \2/p' /tmp/entries ;;
	boot=*) boot=${a#boot=} ;;
	esac
done
prefix() { while IFS= read -r l; do echo "HB-MARKER: menu $l"; done; }
if [ -n "$boot" ]; then
	hardboot boot "$boot" --root=/mnt 2>&1 | prefix
else
	hardboot menu --root=/mnt 2>&1 | prefix
fi
# Only reached when the boot did not happen.
fail "hardboot ${boot:+boot $boot}${boot:-menu} returned"
