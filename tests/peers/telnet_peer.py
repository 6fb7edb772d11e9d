"""Telnet between the telnetlib3 server (its option negotiation: TERMINAL-TYPE,
NEW-ENVIRON, ECHO, SUPPRESS-GO-AHEAD, NAWS...) and the Debian inetutils
`telnet` client, driven through a pseudo-terminal with `-l eng` so it sends
NEW-ENVIRON USER. The server's shell is ours: it prints a device banner, a
login prompt and a password prompt (echo off), refuses a wrong password,
accepts the right one and runs one command. No system account is involved:
the login step is this script's, the negotiation is the library's and the
client's, which is what the test is about.

Usage: telnet_peer.py PORT
"""
import asyncio
import os
import pty
import select
import sys
import threading
import time

import telnetlib3

port = int(sys.argv[1])
USER, PASSWORD = "eng", "tn-secret-77"
BANNER = "\r\nPLC-3 CPU 1214C DC/DC/DC FW V4.5.2\r\nSerial S C-X4U012345\r\n\r\n"


async def readline(reader, writer, echo):
    line = ""
    while True:
        ch = await reader.read(1)
        if not ch:
            return None
        if ch in ("\r", "\n"):
            if echo:
                writer.write("\r\n")
            # swallow the LF or NUL after CR
            return line
        if ch == "\x00":
            continue
        line += ch
        if echo:
            writer.write(ch)


async def shell(reader, writer):
    writer.write(BANNER)
    while True:
        writer.write("plc3 login: ")
        user = await readline(reader, writer, echo=True)
        if user is None:
            return
        writer.write("Password: ")
        writer.iac(telnetlib3.telopt.WILL, telnetlib3.telopt.ECHO)
        password = await readline(reader, writer, echo=False)
        if password is None:
            return
        writer.write("\r\n")
        if (user.strip(), password) == (USER, PASSWORD):
            break
        writer.write("Login incorrect\r\n")
    writer.write("Last login: Mon Nov 23 on pts/0\r\n" + f"{USER}@plc3:~$ ")
    cmd = await readline(reader, writer, echo=True)
    writer.write(f"ran {cmd!r}\r\n{USER}@plc3:~$ ")
    await readline(reader, writer, echo=True)
    writer.write("logout\r\n")
    await writer.drain()
    writer.close()


loop = asyncio.new_event_loop()


def serve():
    asyncio.set_event_loop(loop)
    loop.run_until_complete(telnetlib3.create_server(host="127.0.0.1", port=port, shell=shell, connect_maxwait=1.0))
    loop.run_forever()


threading.Thread(target=serve, daemon=True).start()
time.sleep(0.5)

pid, fd = pty.fork()
if pid == 0:
    os.execvp("telnet", ["telnet", "-l", USER, "127.0.0.1", str(port)])

seen = b""


def expect(text, timeout=15.0):
    global seen
    end = time.time() + timeout
    while text.encode() not in seen:
        left = end - time.time()
        if left <= 0:
            raise SystemExit(f"timed out waiting for {text!r}; got {seen[-400:]!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    at = seen.index(text.encode()) + len(text)
    seen = seen[at:]


def send(line):
    # A person types: one character at a time.
    for ch in line:
        os.write(fd, ch.encode())
        time.sleep(0.01)
    os.write(fd, b"\r")


expect("login: ")
send(USER)
expect("Password: ")
send("wrong-guess")
expect("Login incorrect")
expect("login: ")
send(USER)
expect("Password: ")
send(PASSWORD)
expect("$ ")
send("show version")
expect("$ ")
send("exit")
expect("logout")
time.sleep(0.3)
try:
    os.kill(pid, 15)
except ProcessLookupError:
    pass
os.waitpid(pid, 0)
print("done")
