"""A real SMTP server for aushang's e-mail tests (aiosmtpd on 127.0.0.1).

Usage: server.py PORT MAILDIR. Every accepted mail is stored as MAILDIR/<n>.eml (the bytes as
received) with its envelope recipients in MAILDIR/<n>.rcpt. How the server misbehaves is read
from MAILDIR/control.json on every command, so a test can change it between runs:
  {"data_451_times": 1}        answer 451 to that many DATA transfers, then 250
  {"reject_rcpt": ["a@x"]}     550 for these recipients
  {"discard": true}            keep no mail, only append each recipient to MAILDIR/received.log
                               (for the benchmark)
  {"delay_data": 0.3}          wait that many seconds before taking a mail (and answering)
  {"drop_after_data": 1}       store the mail, then close the connection without an answer
                               (that many times)
  {"password": "s3cret"}       require AUTH with this password (any user); others get 535
With SMTP_TLS_CERT and SMTP_TLS_KEY set, SMTP_TLS_MODE=starttls requires STARTTLS before MAIL,
and SMTP_TLS_MODE=tls speaks TLS from the first byte. A mail received over TLS gets a marker
file MAILDIR/<n>.tls.
"""
import asyncio
import json
import logging
import os
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# A refused TLS handshake (the untrusted-certificate test) is expected: no traceback for it.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
# aiosmtpd 1.4 warns about its own use of Session.login_data
warnings.filterwarnings("ignore", category=DeprecationWarning)

PORT = int(sys.argv[1])
MAILDIR = sys.argv[2]
COUNTS = {"data_451": 0, "drop": 0, "stored": 0}


def control():
    try:
        with open(os.path.join(MAILDIR, "control.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def over_tls(server, session):
    # STARTTLS sets session.ssl; with TLS from the first byte the transport itself is TLS
    return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None


def store(server, session, envelope):
    COUNTS["stored"] += 1
    n = len([f for f in os.listdir(MAILDIR) if f.endswith(".eml")]) + 1
    base = os.path.join(MAILDIR, f"{n:05d}")
    with open(base + ".rcpt.tmp", "w") as f:
        f.write("\n".join(envelope.rcpt_tos))
    os.rename(base + ".rcpt.tmp", base + ".rcpt")
    if over_tls(server, session):
        open(base + ".tls", "w").close()
    with open(base + ".eml.tmp", "wb") as f:
        f.write(envelope.original_content)
    os.rename(base + ".eml.tmp", base + ".eml")


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in control().get("reject_rcpt", []):
            # as Postfix does: the refusal names the address
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        c = control()
        if c.get("discard"):
            with open(os.path.join(MAILDIR, "received.log"), "a") as f:
                f.write("\n".join(envelope.rcpt_tos) + "\n")
            return "250 2.0.0 OK"
        if c.get("delay_data"):
            await asyncio.sleep(c["delay_data"])
        if COUNTS["data_451"] < c.get("data_451_times", 0):
            COUNTS["data_451"] += 1
            return "451 4.3.0 try again later"
        if COUNTS["drop"] < c.get("drop_after_data", 0):
            COUNTS["drop"] += 1
            store(server, session, envelope)
            server.transport.close()
            return "250 OK (never seen: the connection is gone)"
        store(server, session, envelope)
        return "250 2.0.0 queued as %d" % COUNTS["stored"]


def authenticate(server, session, envelope, mechanism, auth_data):
    wanted = control().get("password")
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    ok = wanted is None or auth_data.password.decode() == wanted
    return AuthResult(success=ok, handled=False)


async def main():
    tls = {}
    if os.environ.get("SMTP_TLS_CERT"):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(os.environ["SMTP_TLS_CERT"], os.environ["SMTP_TLS_KEY"])
        if os.environ.get("SMTP_TLS_MODE") == "tls":
            tls = {"ssl_context": context}
        else:
            tls = {"tls_context": context, "require_starttls": True}
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=PORT,
        authenticator=authenticate,
        auth_require_tls=False,
        decode_data=False,
        **tls,
    )
    controller.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


asyncio.run(main())
