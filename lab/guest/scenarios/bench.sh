# bench: wall time and peak RSS of loading the same kernel and initrd with Debian's
# kexec-tools, with hardboot as npm installs it (/usr/bin/hardboot on Debian's Node)
# and with the release at /data/hardboot (its start-up snapshot), Node's start-up
# included, HB_BENCH_RUNS times each.
# Nothing is executed: each load is undone with kexec -u. The host reads the
# "bench" markers (lab/bench.ts). On arm64 the host boots this with QEMU's DTB
# randomness off, as for kexec-tools.sh, so both tools see the same tree.
[ -x /usr/bin/hardboot ] || fail "no /usr/bin/hardboot in the guest (dist/hardboot.mjs was not built)"
release=/data/hardboot/bin/hardboot
[ -x "$release" ] || fail "no $release in the guest (npm run release builds it)"
append="console=ttyAMA0 panic=-1 hb.marker=second"
runs=${HB_BENCH_RUNS:-3}

measure() {
	name=$1
	shift
	i=1
	while [ "$i" -le "$runs" ]; do
		if ! time -v "$@" >/tmp/bench.out 2>/tmp/bench.time; then
			cat /tmp/bench.out /tmp/bench.time
			fail "bench: $name run $i failed"
		fi
		wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' /tmp/bench.time)
		rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' /tmp/bench.time)
		marker "bench tool=$name run=$i wall=$wall rss_kb=$rss"
		kexec -u || fail "kexec -u after $name failed"
		i=$((i + 1))
	done
}

# Calibration: dd holds one 64 MiB buffer; what time -v reports for it shows the
# unit its RSS figure is really in (lab/bench.ts: rssFactor).
time -v dd if=/dev/zero of=/dev/null bs=64M count=1 2>/tmp/bench.time >/dev/null || fail "bench: calibration dd failed"
marker "bench-calibration rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' /tmp/bench.time)"

# Node's own start-up, the floor under any hardboot figure.
measure node-startup node -e 0
measure kexec-tools kexec -l "$HB_KERNEL" --initrd="$HB_INITRD" --append="$append"
measure hardboot hardboot -l "$HB_KERNEL" --initrd="$HB_INITRD" --append="$append"
# The release's first run on a CPU makes its start-up snapshot: timed once, apart.
saved=$runs
runs=1
measure release-first-run "$release" --version
runs=$saved
measure release-version "$release" --version
measure release "$release" -l "$HB_KERNEL" --initrd="$HB_INITRD" --append="$append"
marker "bench-done"
