# stale: the boot kernel found a record planted before it started (a QEMU loader
# device writes it at every reset): one of a wrong version, without ranges, or
# one whose segments are not in RAM (a record left by an earlier boot). /init
# has already printed the rejection from the kernel log; this only shows that
# the kernel booted normally and its page still works.
[ "$(cat /sys/kernel/kexec_hardboot/status)" = ready ] || fail "status: $(cat /sys/kernel/kexec_hardboot/status)"
marker "stale-booted status=ready"
