"""FTP between pyftpdlib's server and CPython's ftplib client on loopback: a
failed login, a good one, a file put on the "device", a listing, a file read
back, a refused delete.

Usage: ftp_peer.py PORT
"""
import io
import sys
import tempfile
import threading

from ftplib import FTP, error_perm
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

port = int(sys.argv[1])
root = tempfile.mkdtemp()
auth = DummyAuthorizer()
# Read and write, no delete ("d" left out), so DELE is refused.
auth.add_user("engineer", "plant-pw", root, perm="elrawMT")
handler = FTPHandler
handler.authorizer = auth
handler.banner = "PLC-3 FTP service ready"
server = FTPServer(("127.0.0.1", port), handler)
threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.1}, daemon=True).start()

ftp = FTP()
ftp.connect("127.0.0.1", port)
try:
    ftp.login("engineer", "wrong")
except error_perm as e:
    print("refused:", e)
ftp.login("engineer", "plant-pw")
ftp.storbinary("STOR firmware.bin", io.BytesIO(b"\x7fELF" + bytes(1000)))
print(ftp.nlst())
data = io.BytesIO()
ftp.retrbinary("RETR firmware.bin", data.write)
try:
    ftp.delete("firmware.bin")
except error_perm as e:
    print("refused:", e)
ftp.quit()
server.close_all()
