# release: the self-contained release (npm run release) unpacked at /data/hardboot,
# as on a phone, on a root that has busybox and nothing else: no Node, no C
# library, no dynamic loader. The release must bring all of it. HB_ARGS: those
# of hardboot.sh (memmin= memmax=), which this scenario ends with, or
#   kexec   end with kexec.sh instead: plain hardboot -l / -e from the release
rel=/data/hardboot
[ -x "$rel/bin/hardboot" ] || fail "no $rel/bin/hardboot: the release layer is missing"
for f in /usr/bin/node /usr/bin/hardboot /lib/*/libc.so.6 /usr/lib/*/libc.so.6 /lib/ld-linux*; do
	[ -e "$f" ] && fail "$f exists: this root must have nothing the release could lean on"
done
marker "release-root busybox only, $(du -sk "$rel" | cut -f1) KiB at $rel"

v=$("$rel/bin/hardboot" --version) || fail "$rel/bin/hardboot --version exited $?"
marker "release-version $v"
# The first run made the start-up snapshot for this CPU; every later run here uses it.
blob=$(ls "$rel"/snapshot/*.blob 2>/dev/null | head -n 1)
[ -f "$blob" ] || fail "the first run made no start-up snapshot in $rel/snapshot ($(ls "$rel/snapshot" 2>&1))"
marker "release-snapshot $(basename "$blob") $(du -k "$blob" | cut -f1) KiB"

# Found on PATH through a symlink, as a user would install it.
ln -s "$rel/bin/hardboot" /usr/bin/hardboot
hardboot doctor > /tmp/doctor.txt || { cat /tmp/doctor.txt; fail "hardboot doctor exited $?"; }
marker "release-doctor $(tail -n 1 /tmp/doctor.txt)"

case " $HB_ARGS " in
*" kexec "*) . /lab/scenarios/kexec.sh ;;
*) . /lab/scenarios/hardboot.sh ;;
esac
