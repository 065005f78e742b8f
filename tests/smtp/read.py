"""Prints the mails a test server stored in MAILDIR as JSON: per mail the envelope recipients,
the raw and decoded headers, and each MIME part's type, transfer encoding and decoded text."""
import email
import email.header
import email.policy
import json
import os
import sys

maildir = sys.argv[1]
out = []
for name in sorted(f for f in os.listdir(maildir) if f.endswith(".eml")):
    base = os.path.join(maildir, name[:-4])
    with open(base + ".eml", "rb") as f:
        raw = f.read()
    with open(base + ".rcpt") as f:
        rcpt = f.read().split("\n")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    compat = email.message_from_bytes(raw)
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        parts.append({
            "type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "encoding": part.get("Content-Transfer-Encoding", ""),
            "text": part.get_content(),
        })
    out.append({
        "rcpt": rcpt,
        "ascii": all(b < 128 for b in raw),
        "raw_subject": compat["Subject"],
        "subject": str(msg["Subject"]),
        "content_type": msg.get_content_type(),
        "headers": {k: str(v) for k, v in msg.items()},
        "parts": parts,
    })
json.dump(out, sys.stdout)
