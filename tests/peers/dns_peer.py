"""DNS from independent implementations on loopback: Debian's dnsmasq serves a
small hosts file on 127.0.0.1:PORT (UDP and TCP); BIND's dig queries it over
UDP (A, PTR, a name that does not exist) and TCP (AAAA); dnspython sends a
dynamic UPDATE and asks for a zone transfer (AXFR over TCP), both of which
dnsmasq refuses. Prints one line per exchange: what was asked and the rcode.

    python3 dns_peer.py PORT
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rcode
import dns.update

HOSTS = """10.20.0.7 plc-7.plant
10.20.0.8 hmi-1.plant
fd00::8 hmi-1.plant
"""


def main():
    port = int(sys.argv[1])
    tmp = tempfile.mkdtemp()
    hosts = os.path.join(tmp, "hosts")
    with open(hosts, "w") as f:
        f.write(HOSTS)
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    server = subprocess.Popen(
        [dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
         f"--addn-hosts={hosts}", "--listen-address=127.0.0.1", "--bind-interfaces", f"--port={port}",
         "--local=/plant/", "--pid-file=", "--user=root", "--log-facility=-"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ready = False
        for _ in range(50):
            try:
                dns.query.udp(dns.message.make_query("ready.plant", "A"), "127.0.0.1", port=port, timeout=0.2)
                ready = True
                break
            except Exception:
                time.sleep(0.1)
        if not ready:
            raise SystemExit("dnsmasq did not answer: " + server.stderr.read1().decode(errors="replace"))
        dig = ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=2"]
        for args in (["plc-7.plant", "A"], ["-x", "10.20.0.7"], ["nosuch.plant", "A"], ["+tcp", "hmi-1.plant", "AAAA"]):
            out = subprocess.run(dig + args, capture_output=True, text=True, check=True).stdout
            status = next(l.split("status: ")[1].split(",")[0] for l in out.splitlines() if "status: " in l)
            print("dig", " ".join(args), status)
        update = dns.update.Update("plant")
        update.add("new-hmi", 300, "A", "10.20.0.9")
        r = dns.query.udp(update, "127.0.0.1", port=port, timeout=2)
        print("update", dns.rcode.to_text(r.rcode()))
        r = dns.query.tcp(dns.message.make_query("plant", "AXFR"), "127.0.0.1", port=port, timeout=2)
        print("axfr", dns.rcode.to_text(r.rcode()))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
