"""Net-SNMP's agent and tools on loopback: snmpd answers on 127.0.0.1:PORT
(first argument) with a configuration of its own in a temporary directory, and
the Debian `snmp` tools query it in v1, v2c and v3, set sysContact
(writable), walk and bulk-read the system group, try to set sysLocation (configured,
so not writable) and to set with the read-only community (both refused), and
send a v2c coldStart trap, a v2c warmStart inform and a v1
authenticationFailure trap to PORT + 1 (nothing listens: the capture still
holds them). Numeric OIDs only (-On), no MIB files needed.

Prints one line per tool run; exits non-zero when a step that must succeed
fails.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

port = int(sys.argv[1])
agent = f"udp:127.0.0.1:{port}"
trap_to = f"udp:127.0.0.1:{port + 1}"

RO, RW = "ro-community-7", "rw-community-7"
SYS = "1.3.6.1.2.1.1"

CONFIG = f"""
agentAddress {agent}
rocommunity {RO} 127.0.0.1
rwcommunity {RW} 127.0.0.1
createUser secure SHA "auth-pass-123" AES "priv-pass-123"
createUser monitor
rouser secure priv
rouser monitor noauth
sysName plc-gw-7
sysLocation substation A bay 3
sysServices 72
"""

# The tools read no MIB files and no configuration of their own.
env = dict(os.environ, MIBS="", MIBDIRS="/nonexistent", SNMPCONFPATH="/nonexistent")


def tool(*args, must=True):
    cmd = [args[0], "-On", "-t", "2", "-r", "1", *args[1:]]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    # Print the command without its secrets: the test's output must not hold them.
    shown = " ".join(a for a in args if a not in (RO, RW, "auth-pass-123", "priv-pass-123"))
    print(f"{shown} -> {out.returncode}")
    if must and out.returncode != 0:
        sys.stderr.write(f"{shown} failed: {out.stderr}\n")
        sys.exit(1)
    return out


with tempfile.TemporaryDirectory() as tmp:
    conf = os.path.join(tmp, "snmpd.conf")
    with open(conf, "w") as f:
        f.write(CONFIG)
    # The agent's persistent state (engine boots, users) stays in the temporary directory.
    agent_env = dict(env, SNMP_PERSISTENT_DIR=os.path.join(tmp, "persist"))
    snmpd = subprocess.Popen(
        [shutil.which("snmpd") or "/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", conf, "-p", os.path.join(tmp, "snmpd.pid")],
        env=agent_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            ready = subprocess.run(["snmpget", "-On", "-t", "0.2", "-r", "0", "-v2c", "-c", RO, agent,
                                    f"{SYS}.5.0"], env=env, capture_output=True)
            if ready.returncode == 0:
                break
            time.sleep(0.2)
        else:
            sys.stderr.write("snmpd did not answer\n")
            sys.exit(1)
        system = [f"{SYS}.1.0", f"{SYS}.2.0", f"{SYS}.4.0", f"{SYS}.5.0", f"{SYS}.6.0"]
        tool("snmpget", "-v1", "-c", RO, agent, *system)
        tool("snmpget", "-v2c", "-c", RO, agent, *system)
        tool("snmpget", "-v3", "-l", "authPriv", "-u", "secure", "-a", "SHA", "-A", "auth-pass-123",
             "-x", "AES", "-X", "priv-pass-123", agent, *system)
        tool("snmpget", "-v3", "-l", "noAuthNoPriv", "-u", "monitor", agent, f"{SYS}.5.0")
        tool("snmpset", "-v2c", "-c", RW, agent, f"{SYS}.4.0", "s", "ops@example.net")
        tool("snmpwalk", "-v2c", "-c", RO, agent, SYS)
        tool("snmpbulkget", "-v2c", "-c", RO, "-Cn0", "-Cr4", agent, SYS)
        # sysLocation is set in the configuration: the agent refuses (notWritable).
        tool("snmpset", "-v2c", "-c", RW, agent, f"{SYS}.6.0", "s", "elsewhere", must=False)
        # The read-only community may not set (noAccess).
        tool("snmpset", "-v2c", "-c", RO, agent, f"{SYS}.4.0", "s", "intruder@example.net", must=False)
        tool("snmptrap", "-v2c", "-c", RO, trap_to, "", "1.3.6.1.6.3.1.1.5.1")
        tool("snmpinform", "-v2c", "-c", RO, "-t", "0.5", "-r", "0", trap_to, "", "1.3.6.1.6.3.1.1.5.2", must=False)
        tool("snmptrap", "-v1", "-c", RO, trap_to, "1.3.6.1.4.1.8072.3.2.10", "127.0.0.1", "4", "0", "")
    finally:
        snmpd.terminate()
        snmpd.wait(timeout=10)
