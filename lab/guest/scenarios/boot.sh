# boot: the guest reached /init with a working shell; report and power off.
# Also proves the kernel keeps its config (/proc/config.gz, CONFIG_IKCONFIG_PROC).
[ -r /proc/config.gz ] || fail "no /proc/config.gz"
marker "boot-ok cpus=$(grep -c ^processor /proc/cpuinfo)"
