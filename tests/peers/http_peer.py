"""HTTP between CPython's http.server (a device's web server: a Server header
of its own, one path behind Basic auth) and curl on loopback: GET twice on one
kept-alive connection, HEAD, a POST with a form body, a chunked PUT, a 401
then a refused and an accepted Basic login, and two requests pipelined in one
write by a raw socket.

Usage: http_peer.py PORT [CLIENT_PORT]. With CLIENT_PORT the clients connect
from ports CLIENT_PORT to CLIENT_PORT+59 (below the server's, as old Windows
clients do from 1025-5000).
"""
import base64
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(sys.argv[1])
CLIENT_PORT = int(sys.argv[2]) if len(sys.argv) > 2 else None
USER, PASSWORD = "operator", "plant-secret-42"
SERVER = "PLC-Web/2.1.7 (PLC-3 CPU 1214C)"


class Device(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return SERVER

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", extra=()):
        self.send_response(code)
        self.send_header("X-Powered-By", "PLC-3 runtime")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_GET(self):
        if self.path.startswith("/secure"):
            good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") != good:
                self.reply(401, b"login required", [("WWW-Authenticate", 'Basic realm="PLC-3 Controller"')])
                return
            self.reply(200, b"secure page", [("Set-Cookie", "session=abc123; HttpOnly")])
            return
        self.reply(200, b"status: RUN\n")

    do_HEAD = do_GET

    def do_POST(self):
        self.body()
        self.reply(200, b"setpoint stored")

    def do_PUT(self):
        self.body()
        self.reply(201, b"")


server = ThreadingHTTPServer(("127.0.0.1", port), Device)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{port}"


def curl(*args):
    local = ["--local-port", f"{CLIENT_PORT}-{CLIENT_PORT + 39}"] if CLIENT_PORT else []
    out = subprocess.run(["curl", "-sS", "-A", "EngTool/3.2 (PLC-3)", *local, *args], capture_output=True, check=True)
    print(out.stdout.decode(errors="replace"))


curl(f"{base}/status", f"{base}/status?tag=level")  # two requests, one connection
curl("-I", f"{base}/status")
curl("-d", "value=42&unit=bar", f"{base}/plc/setpoint.cgi")
curl("-X", "PUT", "-H", "Transfer-Encoding: chunked", "--data-binary", "program-bytes" * 50, f"{base}/files/prog.bin")
curl(f"{base}/secure/config.htm")
curl("-u", f"{USER}:wrong-guess", f"{base}/secure/config.htm")
curl("-u", f"{USER}:{PASSWORD}", f"{base}/secure/config.htm")

# Two requests in one write: pipelined.
def pipelined_socket():
    if not CLIENT_PORT:
        return socket.create_connection(("127.0.0.1", port))
    for p in range(CLIENT_PORT + 40, CLIENT_PORT + 60):
        try:
            return socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.1", p))
        except OSError:
            continue
    raise SystemExit("no free client port")


with pipelined_socket() as s:
    s.sendall(
        b"GET /status HTTP/1.1\r\nHost: plc3\r\nUser-Agent: pipeline-test\r\n\r\n"
        b"GET /trend.csv HTTP/1.1\r\nHost: plc3\r\nUser-Agent: pipeline-test\r\nConnection: close\r\n\r\n"
    )
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    assert data.count(b"HTTP/1.1 200") == 2, data
server.shutdown()
