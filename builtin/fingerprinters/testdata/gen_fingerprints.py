#!/usr/bin/env python3
"""Writes fingerprints_extra.jsonl: more request fingerprint vectors.

Run with Debian's python3-scrapy (Scrapy 2.8) and w3lib 2.4.1 first on
PYTHONPATH: PYTHONPATH=<w3lib-2.4.1> /usr/bin/python3 gen_fingerprints.py

Lines have the fields of shared/reference/fingerprints.jsonl ("url",
"method", "body" or "body_hex", "headers" as name -> list of values,
"include_headers", "keep_fragments", "request_url", "canonical",
"fingerprint"). Lines with "verbatim_url": true follow Scrapy 2.17, which
Debian's Scrapy predates: the request URL is not made safe and is hashed as it
is; their fingerprint is computed here with the same json.dumps recipe.
"""
import hashlib
import json
import sys

import w3lib
from scrapy import Request
from scrapy.utils.request import fingerprint
from w3lib.url import canonicalize_url

assert w3lib.__version__ == "2.4.1", w3lib.__version__

CASES = [
    dict(url="http://www.bücher.de/résumé?q=résumé"),
    dict(url="http://はじめよう.みんな/?query=サ&maxResults=5"),
    dict(url="HTTP://WWW.EXAMPLE.COM:0080/A/B?Z=1&Y=2#Frag"),
    dict(url="HTTP://WWW.EXAMPLE.COM:0080/A/B?Z=1&Y=2#Frag", keep_fragments=True),
    dict(url="http://[::1]:8080/path?q=1"),
    dict(url="http://[FE80::1]/x"),
    dict(url="sftp://UsEr:PaSsWoRd@www.EXAMPLE.com/"),
    dict(url="http://www.example.com/do?q=a space&a=1;b=2&&c"),
    dict(url="http://www.example.com/a%2fb%3F/c%7e?x=%2B&y=+"),
    dict(url="http://www.example.com/path;params?x=1"),
    dict(url="https://example.com/\U0001F600?e=\U0001F600#\U0001F600", keep_fragments=True),
    dict(url="https://example.com/a", method="patch"),
    dict(url="https://example.com/a", method="PUT", body="héllo"),
    dict(url="https://example.com/a", method="POST", body_hex="00ff10e2"),
    dict(url="https://example.com/a", headers={"X-A": ["1", "2"], "Accept": ["text/html"]},
         include_headers=["x-a", "ACCEPT"]),
    dict(url="https://example.com/a", headers={"X-A": ["1", "2"]}, include_headers=["X-A", "x-a"]),
    dict(url="https://example.com/a", headers={"X-A": ["1"]}, include_headers=["X-Missing"]),
    dict(url="https://example.com/a", headers={"X_Under": ["v"], "Cookie": ["a=b; c=d"]},
         include_headers=["cookie", "x_under", "zzz"]),
    dict(url="https://example.com/a", headers={"X-A": ["é"]}, include_headers=["x-a"]),
    dict(url="https://example.com/a", headers={"A": [""]}, include_headers=["a"]),
    dict(url="https://example.com/q?a=1&b=2", verbatim_url=True),
    dict(url="https://example.com/q?b=2&a=1#frag", verbatim_url=True),
    dict(url="https://example.com/q?b=2&a=1#frag", verbatim_url=True, keep_fragments=True),
    dict(url='http://EXAMPLE.com/é "quoted" \\back\\slash\x01\x1f\x7f\U0001F600?x=é', verbatim_url=True),
    dict(url="http://example.com/\u2028\u00e9\u0100\uffff", verbatim_url=True, method="post"),
]


def main():
    for case in CASES:
        body = case.get("body", b"")
        if "body_hex" in case:
            body = bytes.fromhex(case["body_hex"])
        headers = case.get("headers")
        kwargs = {}
        if case.get("include_headers"):
            kwargs["include_headers"] = case["include_headers"]
        if case.get("keep_fragments"):
            kwargs["keep_fragments"] = True
        rec = dict(case)
        if case.get("verbatim_url"):
            # Scrapy 2.17: _set_url keeps the URL, fingerprint() hashes it.
            method = case.get("method", "GET").upper()
            body_bytes = body.encode() if isinstance(body, str) else body
            data = {"method": method, "url": case["url"],
                    "body": body_bytes.hex(), "headers": {}}
            rec["request_url"] = case["url"]
            rec["canonical"] = case["url"]
            rec["fingerprint"] = hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()
        else:
            r = Request(case["url"], method=case.get("method", "GET"), body=body,
                        headers=headers)
            rec["request_url"] = r.url
            rec["canonical"] = canonicalize_url(r.url, keep_fragments=case.get("keep_fragments", False))
            rec["fingerprint"] = fingerprint(r, **kwargs).hex()
        sys.stdout.write(json.dumps(rec, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
