# kexec-tools: the reference. Debian's kexec loads the lab kernel again with the
# second initrd and a marker on its command line, then executes it. The second
# kernel's /init prints the marker it finds in /proc/cmdline.
# On arm64 the host boots this scenario with -M virt,dtb-randomness=off (see lab/scenarios.ts).
append="console=ttyAMA0 panic=-1 hb.marker=second"
marker "kexec-load tool=kexec-tools kernel=$HB_KERNEL"
kexec -l "$HB_KERNEL" --initrd="$HB_INITRD" --append="$append" || fail "kexec -l exited $?"
marker "kexec-exec"
sync
kexec -e
fail "kexec -e returned $?"
