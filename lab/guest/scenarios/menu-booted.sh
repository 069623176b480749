# menu-booted: the system an entry of the boot menu booted (the lab guest with
# hb.scenario=menu-booted in the entry's options). It blesses its boot, as a
# booted system's boot-complete hook would, and shows the entries' names.
command -v hardboot >/dev/null || fail "no hardboot in the guest"
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt || fail "cannot mount the boot disk /dev/vda"
marker "menu-booted"
out=$(hardboot bless --root=/mnt 2>&1) || fail "hardboot bless failed: $out"
marker "blessed $out"
marker "entries $(ls /mnt/loader/entries | tr '\n' ' ')"
umount /mnt
