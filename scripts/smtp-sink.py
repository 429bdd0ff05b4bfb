#!/usr/bin/env python3
"""An SMTP server on loopback for the email tests (aiosmtpd, from PyPI).

    python3 scripts/smtp-sink.py DIR PORT [USER PASSWORD]

Each accepted message is written to DIR as <n>.eml. Recipients steer the server, so a test
can provoke what real servers do: `refuse…@` is refused for good (550), `busy…@` for now
(451), `slow…@` gets no answer for a minute. Every RCPT is logged to DIR/rcpt.log as
"<code> <address>". With USER and PASSWORD, AUTH is required (over the plain connection:
loopback only).
"""
import asyncio
import os
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.directory = directory

    def log(self, code, address):
        with open(os.path.join(self.directory, "rcpt.log"), "a") as f:
            f.write(f"{code} {address}\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            self.log(550, address)
            return "550 5.1.1 No such mailbox"
        if address.startswith("busy"):
            self.log(451, address)
            return "451 4.3.2 Try again later"
        if address.startswith("slow"):
            self.log(0, address)
            await asyncio.sleep(60)
        self.log(250, address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(self.directory, f"{time.time_ns()}.eml")
        with open(name + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(name + ".tmp", name)
        return "250 Message accepted"


def main():
    directory, port = sys.argv[1], int(sys.argv[2])
    os.makedirs(directory, exist_ok=True)
    kwargs = {}
    if len(sys.argv) > 4:
        user, password = sys.argv[3].encode(), sys.argv[4].encode()

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
            return AuthResult(success=ok)

        kwargs = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
