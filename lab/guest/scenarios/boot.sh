# boot: the guest reached /init with a working shell; report and power off.
# Also proves the kernel keeps its config (/proc/config.gz, CONFIG_IKCONFIG_PROC) and
# that Debian's Node runs here and koffi's native build for this arch loads and calls libc.
[ -r /proc/config.gz ] || fail "no /proc/config.gz"
marker "boot-ok cpus=$(grep -c ^processor /proc/cpuinfo)"
node -e '
const koffi = require("/opt/hardboot/node_modules/koffi");
const getpid = koffi.load("libc.so.6").func("int getpid()");
console.log(`HB-MARKER: node-ok ${process.version} ${process.arch} getpid=${getpid()}`);
' || fail "node with koffi exited $?"
