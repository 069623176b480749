# doctor: `hardboot doctor` on the running kernel. HB_ARGS:
#   expect=ready       the patched lab kernel: exit 0, "ready for kexec-hardboot"
#   expect=not-ready   an unpatched kernel: exit 6, and the findings name what is missing
[ -x /usr/bin/hardboot ] || fail "no /usr/bin/hardboot in the guest (dist/hardboot.mjs was not built)"
expect=
for a in $HB_ARGS; do
	case "$a" in
	expect=*) expect=${a#expect=} ;;
	esac
done
hardboot doctor > /tmp/doctor.txt
code=$?
cat /tmp/doctor.txt
hardboot doctor --json > /tmp/doctor.json
missing=$(node -e 'const j = JSON.parse(require("fs").readFileSync("/tmp/doctor.json", "utf8")); console.log(j.findings.filter((f) => !f.ok && f.severity === "error").map((f) => f.id).join(","))')
case "$expect/$code" in
ready/0)
	marker "doctor-ready $(tail -n 1 /tmp/doctor.txt)"
	# The same verdict from the configuration built into the kernel file (IKCONFIG),
	# which must be the running kernel's own /proc/config.gz.
	hardboot doctor --kernel="$HB_KERNEL" || fail "doctor --kernel=$HB_KERNEL exited $?"
	hardboot doctor --kernel="$HB_KERNEL" --json | grep -q "\"configSource\": \"IKCONFIG of $HB_KERNEL" || fail "doctor --kernel did not read the IKCONFIG"
	marker "doctor-kernel-ready"
	;;
not-ready/6)
	grep -q 'fix: CONFIG_KEXEC_HARDBOOT=y' /tmp/doctor.txt || fail "doctor did not name CONFIG_KEXEC_HARDBOOT as the fix"
	marker "doctor-not-ready names=CONFIG_KEXEC_HARDBOOT missing=$missing"
	;;
*) fail "doctor exited $code, expected $expect; errors: $missing" ;;
esac
