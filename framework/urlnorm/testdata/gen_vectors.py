#!/usr/bin/env python3
"""Writes w3lib_vectors.jsonl: expected Safe and Canonicalize results.

Run with Python 3.13 and w3lib 2.4.1 importable (for instance its source
first on PYTHONPATH): python3 gen_vectors.py > w3lib_vectors.jsonl
and python3 gen_vectors.py idna > idna_vectors.jsonl for the host name
vectors: {"host", "idna" (Python's host.encode("idna")) or "idna_error",
"lower" (host.lower())}.

Each line has the input ("url", or "url_hex" for bytes that are not valid
UTF-8), "encoding" when not UTF-8, and for each function either the result
or the name of the exception Python raised:
  safe: Scrapy's Request URL, safe_url_string(url, encoding) followed by the
        "Missing scheme" check (error "MissingScheme"); "ControlChar" where
        frontier refuses a NUL in the input or a C0 control left in the result.
  canon, canon_frag: canonicalize_url(url, keep_fragments=False/True,
        encoding=encoding).
"""
import json
import random
import sys

import w3lib
from w3lib.url import canonicalize_url, safe_url_string

assert w3lib.__version__ == "2.4.1", w3lib.__version__
assert sys.version_info[:2] == (3, 13), sys.version


def scrapy_safe(url, encoding):
    if "\x00" in (url.decode("latin-1") if isinstance(url, bytes) else url):
        return {"safe_error": "ControlChar"}
    try:
        s = safe_url_string(url, encoding)
    except Exception as e:  # noqa: BLE001
        return {"safe_error": type(e).__name__}
    if "://" not in s and not s.startswith("about:") and not s.startswith("data:"):
        return {"safe_error": "MissingScheme"}
    if any(ord(c) < 0x20 for c in s):
        return {"safe_error": "ControlChar"}
    return {"safe": s}


def canon(url, keep, encoding):
    try:
        return canonicalize_url(url, keep_fragments=keep, encoding=encoding), None
    except Exception as e:  # noqa: BLE001
        return None, type(e).__name__


def record(url, encoding="utf-8"):
    rec = {}
    if isinstance(url, bytes):
        rec["url_hex"] = url.hex()
        # Go strings are bytes: invalid UTF-8 is percent-encoded, as w3lib
        # does when decoding a bytes URL.
        text = url.decode("utf-8", errors="percentencode")
    else:
        rec["url"] = url
        text = url
    if encoding != "utf-8":
        rec["encoding"] = encoding
    rec.update(scrapy_safe(url, encoding))
    for key, keep in (("canon", False), ("canon_frag", True)):
        c, err = canon(text, keep, None if encoding == "utf-8" else encoding)
        if err:
            rec[key + "_error"] = err
        else:
            rec[key] = c
    return rec


# Inputs of w3lib's tests/test_url.py (safe_url_string and canonicalize_url).
W3LIB = [
    "https://example.com", "https://example.com/©", "a://example.com?©",
    "ws://example.com?©", "wss://example.com?©", "ftp://example.com?©",
    "file://example.com?©", "http://example.com?©", "https://example.com?©",
    "https://example.com#©", "", "\x01https://example.com\x01",
    " https://example.com ", "\x1fhttps://example.com\x0b",
    "\t\n\rh\t\n\rttps\t\n\r:\t\n\r/\t\n\r/\t\n\ra\t\n\rb\t\n\r:\t\n\ra\t\n\rb"
    "\t\n\r@\t\n\rexam\t\n\rple.com\t\n\r:\t\n\r1\t\n\r2\t\n\r/\t\n\ra\t\n\rb"
    "\t\n\r?\t\n\ra\t\n\rb\t\n\r#\t\n\ra\t\n\rb\t\n\r",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz://example.com",
    "aABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-.://example.com",
    "://example.com", "1://example.com", "+://example.com", "\x80://example.com",
    "a!\"#$%&'()*,/;<=>?@[\\]^_`{|}~\x7f\x80://example.com",
    "https://a@example.com", "https://a:@example.com", "https://a:a@example.com",
    "https://a%3A@example.com",
    "https://abcABC019-_.!~*'()&+$,:abcABC019-_.!~*'()&+$,@example.com",
    "https://\"%;<=>@^`{|}:\"%;<=>@^`{|}:@example.com",
    "https://@\\example.com", "https://\x80:\x80@example.com",
    "https://.example", "https://\x80.example", "https://%80.example",
    "https://" + "a" * 63 + ".example", "https://" + "a" * 64 + ".example",
    "https://ñ.example", "http://192.168.0.0", "http://192.168.0.256",
    "http://192.168.0.0.0", "http://[2a01:5cc0:1:2::4]",
    "http://[2a01:5cc0:1:2:3:4]", "https://[2402:4e00:40:40::2:3b6]",
    "https://[2402:4e00:40:40::2:3b6]:443", "http://[::1]",
    "http://[::1]:8080/path?q=1", "https://example.com:", "https://example.com:1",
    "https://example.com:443", "https://example.com/", "https://example.com/a",
    "https://example.com\\a", "https://example.com/a\\b",
    "https://example.com/abcABC019-_.!~*'():@&=+$,/;",
    "https://example.com/\"%<>[\\]^`{|}",
    "https://example.com/ñ", "https://example.com/ñ%C3%B1",
    "https://example.com?", "https://example.com/?", "https://example.com?a",
    "https://example.com?a=", "https://example.com?a=b",
    "a://example.com?\"%<>[\\]^`{|}'", "http://example.com?\"%<>[\\]^`{|}'",
    "https://example.com?ñ", "https://example.com?ñ%C3%B1",
    "https://example.com#", "https://example.com/#", "https://example.com?#",
    "https://example.com/?#", "https://example.com#a",
    "a://example.com#\"#%<>[\\]^`{|}", "https://example.com#ñ",
    "https://example.com#ñ%C3%B1", "https://ñ:ñ@ñ.example:1/ñ?ñ#ñ",
    "\u8349\u8599 \u7d20\u5b50", "©", "http://www.example.org/",
    "/ecommerce/oggetto/Te \xf2/tea-strainer/1273",
    "http://www.example.com/test?p(29)url(http://www.another.net/page)",
    "http://www.example.com/Brochures_&_Paint_Cards&PageSize=200",
    "http://www.example.com/£", "http://example.com/test\n.html",
    "http://example.com/test\t.html", "http://example.com/test\r.html",
    "http://example.com/test\r.html\n", "http://example.com/test\r\n.html\t",
    "http://example.com/test\a\n.html", 'http://google.com/"hello"',
    "http://www.example.com/£?unit=µ", "http://www.example.com/£?unit=%C2%B5",
    "http://www.example.com/%C2%A3?unit=µ",
    "http://www.färgbolaget.nu/färgbolaget",
    "http://www.räksmörgås.se/?räksmörgås=yes",
    "http://www.brændendekærlighed.com/brændende/kærlighed",
    "http://www.예비교사.com", "http://理容ナカムラ.com", "http://あーるいん.com",
    "http://www.bücher.de/?q=bücher",
    "http://はじめよう.みんな/?query=サ&maxResults=5", "http://кто.рф/",
    "http://кто.рф/index.php?domain=Что", "http://내도메인.한국/",
    "http://맨체스터시티축구단.한국/", "http://nic.شبكة", "https://www.贷款.在线",
    "https://www2.xn--0kwr83e.在线", "https://www3.贷款.xn--3ds443g",
    "http://.example.com/résumé?q=résumé",
    "http://www." + "example" * 11 + ".com/résumé?q=résumé",
    "http://www.example.com:80/résumé?q=résumé",
    "http://www.example.com:/résumé?q=résumé",
    "http://www.example.com/path/to/%23/foo/bar",
    "http://www.example.com/path/to/%23/foo/bar#frag",
    "http://www.example.com/path/to/%23/foo/bar?url=http%3A%2F%2Fwww.example.com%2Fpath%2Fto%2F%23%2Fbar%2Ffoo",
    "http://www.example.com/path/to/%23/foo/bar?url=http%3A%2F%2Fwww.example.com%2F%2Fpath%2Fto%2F%23%2Fbar%2Ffoo#frag",
    "http://新华网.中国:80", "ftp://admin:admin@新华网.中国:21",
    "http://Åsa:abc123@➡.ws:81/admin", "http://japão:não@️i❤️.ws:8000/",
    "ftp://admin:@新华网.中国:21", "ftp://admin@新华网.中国:21",
    "ftp://admin:|%@example.com", "http://%25user:%25pass@host",
    "http://%user:%pass@host", "http://%26user:%26pass@host",
    "http://%2525user:%2525pass@host", "http://%2526user:%2526pass@host",
    "http://%25%26user:%25%26pass@host",
    # canonicalize_url
    "http://www.example.com/", "http://www.example.com",
    "http://www.example.com/do?a=1&b=2&c=3", "http://www.example.com/do?c=1&b=2&a=3",
    "http://www.example.com/do?&a=1", "http://www.example.com:8888/do?a=1&b=2&c=3",
    "http://www.example.com:/do?a=1&b=2&c=3",
    "http://www.example.com/do?c=3&b=5&b=2&a=50", "http://www.example.com/do?b=&a=2",
    "http://www.example.com/do?b=&c&a=2", "http://www.example.com/do?1750,4",
    "http://www.example.com/do?q=a space&a=1", "http://www.example.com/do?q=a+space&a=1",
    "http://www.example.com/do?q=a%20space&a=1", "http://www.example.com/résumé",
    "http://www.example.com/résumé?q=résumé", "http://www.example.com/r%c3%a9sum%c3%a9",
    "http://www.example.com/a%a3do", "http://www.example.com/a%a3do?q=r%c3%a9sum%c3%a9",
    "http://www.example.com/a%a3do?q=r%e9sum%e9", "https://example.com/a%23b%2cc#bash",
    "https://example.com/a%23b,c", "http://www.example.com/do?k=b%a3",
    "http://www.example.com/do?k=r%c3%a9sum%c3%a9", "http://www.example.com/a do?a=1",
    "http://www.example.com/a %20do?a=1", "http://www.example.com/a do£.html?a=1",
    "http://www.example.com/do?price=£500&a=5&z=3",
    "http://www.example.com/do?price(£)=500&a=1",
    "http://user:pass@www.example.com:81/do?now=1",
    "http://user:pass@www.example.com/do?a=1#frag",
    "http://www.simplybedrooms.com/White-Bedroom-Furniture/Bedroom-Mirror:-Josephine-Cheval-Mirror.html",
    "http://www.example.com/caf%E9-con-leche.htm", "http://www.EXAMPLE.com/",
    "sftp://UsEr:PaSsWoRd@www.EXAMPLE.com/", "http://www.bücher.de?q=bücher",
    "http://foo.com/AC%2FDC+rocks%3f/?yeah=1", "http://foo.com/AC%2FDC/",
    "http://www.bücher.de/résumé?q=résumé", " https://example.com", "https://example.com ",
    # Scrapy's fingerprint tests
    "http://www.example.com/query?id=111&cat=222", "http://www.example.com/query?cat=222&id=111",
    "http://www.example.com/hnnoticiaj1.aspx?78132,199",
    "http://www.example.com/hnnoticiaj1.aspx?78160,199",
    "http://www.example.com/members/offers.html", "http://www.example.com/test.html#fragment",
    # more
    "about:blank", "data:text/plain,hello world", "mailto:Someone@Example.com",
    "www.example.com/path", "localhost:8080/path", "HTTP://EXAMPLE.COM:0080/A/B?Z=1&Y=2#F",
    "http://[fe80::1%25eth0]/", "http://[fe80::1%eTh0]:80/", "http://[v1.x]/", "http://[vz.x]/",
    "http://[1.2.3.4]/", "http://[::ffff:1.2.3.4]/", "http://[::ffff:1.2.3.04]/",
    "http://[::1/", "http://::1]/", "http://a.com:65536/", "http://a.com:99999999999999999999/",
    "http://a.com:8x/", "http://a.com:-1/", "http://a.com:+80/", "http://a.com:٣/",
    "http://İstanbul.example/", "http://ΣΑΣ.gr/", "http://Straße.de/", "http://ＡＢＣ.com/",
    "http://a\u00adb.com/", "http://xn--ida.example/", "http://xn--ñ.example/",
    "http://ex\x01ample.com/", "http://ex ample.com/", "http://a.com/\x00", "\x00http://a.com/",
    "http://a.com/;x", "http://a.com/a;", "http://a.com/a;b;c?x#y", "http://a.com;x/y",
    "tel:;x", "http:///path", "http:path", "http://a.com//b//c", "http://a.com/%",
    "http://a.com/%%2f%2F%3f%3F%252F", "http://a.com/?a=%2B&b=+&c=%20&d=%7E&e=~",
    "http://a.com/?a;b;;c&&d", "http://a.com/?=x&=&", "http://a.com/?b=1&a=2#frag%zz",
    "http://a.com/#", "http://a.com/#a#b", "http://a.com/?%FF=%fe", "http://a.com/?ñ=ñ",
    "http://user@a.com@b.com/", "http://UsEr:PaSs@WWW.EXAMPLE.COM:/x",
    "http://user:pa:ss@a.com/", "http://@a.com/", "http://:80/", "http://a.com.:80/",
    "https://a.com/\U0001F600?q=\U0001F600#\U0001F600", "http://\U0001F600.com/",
    "http://" + "ñ" * 70 + ".com/", "http://a.b\u3002c\uff0ed\uff61e/", "http://\u2100.com/",
    "http://a\u2100b.com/", "http://\ufb01.com/", "http://\u0627\u0628.com/",
    "http://\u0627a\u0628.com/", "http://a\u0627.com/", "http://\ue000.com/",
    "http://\u200d.com/", "http://\u0041\u030a.com/", "http://a\u0301\u0323.com/",
    "http://\u2f868.com/", "http://\U0002f868.com/", "http://\u13a0.com/",
    "git+ssh://host/path", "svn+ssh://HOST/Path?x", "itms-services://?action=x",
    "foo://host/p;q?r#s", "HtTpS://host/p", "http:\\\\host\\path",
]

CHARS = (
    list("abcXYZ019-._~!$&'()*+,;=:@/?#[]|%\"<>\\^`{} ")
    + ["%2f", "%2F", "%3f", "%3F", "%20", "%41", "%7e", "%zz", "%e9", "%C3%A9", "%FF",
       "%25", "%23", "+", "ñ", "é", "€", "\U0001F600", "\u00ad", "\u200d", "\x7f",
       "\x01", "\t", "\n", "\u3002", "İ", "Σ", "ß"]
)
SCHEMES = ["http", "https", "HTTP", "ftp", "file", "ws", "a", "mailto", "sftp", "", "1a", "tel"]
HOSTS = ["example.com", "EXAMPLE.com", "ñ.example", "bücher.de", "xn--ida.example",
         "[::1]", "[v1.x]", "[1.2.3.4]", "192.168.0.1", "", "a" * 64 + ".com", ".example",
         "ＡＢＣ.com", "️i❤️.ws", "İstanbul.tr", "ΣΑΣ.gr", "a..b", "host_1.x", "[::1",
         "Straße.de", "ex ample.com", "\u0627\u0628", "例え.テスト", "a.com."]


def rand_text(rng, n):
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, n)))


def rand_url(rng):
    s = rng.choice(SCHEMES)
    sep = rng.choice(["://", "://", "://", ":", ""])
    url = s + sep
    if rng.random() < 0.2:
        url += rand_text(rng, 4) + rng.choice(["", ":" + rand_text(rng, 3)]) + "@"
    url += rng.choice(HOSTS)
    if rng.random() < 0.3:
        url += rng.choice([":", ":80", ":080", ":65536", ":x", ":8080"])
    for _ in range(rng.randint(0, 3)):
        url += "/" + rand_text(rng, 6)
    if rng.random() < 0.6:
        pairs = []
        for _ in range(rng.randint(0, 4)):
            k = rand_text(rng, 3)
            v = rand_text(rng, 3)
            pairs.append(rng.choice([k + "=" + v, k, k + "=", "=" + v]))
        url += "?" + rng.choice(["&", ";", "&&"]).join(pairs)
    if rng.random() < 0.3:
        url += "#" + rand_text(rng, 4)
    if rng.random() < 0.1:
        url = rng.choice([" ", "\x01", "\t", "\n"]) + url + rng.choice([" ", "\x1f", ""])
    return url


def rand_fast_url(rng):
    """URLs in the shape of the fast paths, canonical or nearly so."""
    host = rng.choice(["example.com", "host-123.example", "a.b.c", "x_y.org", "h.com:8080",
                       "EXAMPLE.com", "h.com:", "h.com:080"])
    url = rng.choice(["http://", "https://"]) + host
    if rng.random() < 0.9:
        url += "/" + "/".join(rng.choice(["a", "b1", "c-d", "e.f", "g~h", "i;j", "k;", "l%20",
                                            "m n", "p:q", "@", "[x]", "|"])
                              for _ in range(rng.randint(0, 3)))
    if rng.random() < 0.6:
        keys = [rng.choice(["a", "b", "c", "id", "A", "x_y", "z.z", "k~"]) for _ in range(rng.randint(1, 3))]
        vals = [rng.choice(["1", "2", "", "v", "V-1", "a+b", "%41"]) for _ in keys]
        pairs = sorted(zip(keys, vals)) if rng.random() < 0.7 else list(zip(keys, vals))
        url += "?" + "&".join(k + "=" + v for k, v in pairs)
    if rng.random() < 0.3:
        url += "#" + rng.choice(["", "f", "a/b?c", "%zz", "x#y", "\"q\""])
    return url


def main():
    out = sys.stdout
    seen = set()

    def emit(url, encoding="utf-8"):
        key = (url, encoding)
        if key in seen:
            return
        seen.add(key)
        out.write(json.dumps(record(url, encoding), ensure_ascii=True) + "\n")

    for u in W3LIB:
        emit(u)
    for enc in ("iso-8859-1", "latin1", "cp1251", "iso2022jp"):
        for u in ("https://example.com/©", "a://example.com?©", "ws://example.com?©",
                  "http://example.com?©", "ftp://example.com?©", "https://example.com#©",
                  "http://www.example.com/£?unit=µ", "http://www.example.com/résumé?q=résumé",
                  "http://www.example.com/résumé?country=Россия",
                  "http://www.example.com/résumé?currency=€",
                  "http://はじめよう.みんな/?query=サ&maxResults=5",
                  "http://www.bücher.de/résumé?q=résumé"):
            emit(u, enc)
    for b in (b"http://www.example.com/\xc2\xb5", b"http://www.example.com/\xa3?unit=\xb5",
              b"http://www.example.com/country/\xd0\xee\xf1\xf1\xe8\xff",
              b"http://www.example.com/a do\xc2\xa3.html?a=1", b"http://\xff.com/\xe2\x82?\xed\xa0\x80#\xf0\x80",
              b"http://u\xffser:p\xe2\x82A@h.com/"):
        emit(b)
    rng = random.Random(20240601)
    for _ in range(3000):
        emit(rand_url(rng))
    for _ in range(1500):
        emit(rand_fast_url(rng))


IDNA_POOLS = [
    "abcxyzABCXYZ0189-_",
    "\u00e0\u00e9\u00f1\u00fc\u00df\u00c0\u00c9\u00d1\u00dc\u0130\u0131\u017f",
    "\u03a3\u03c3\u03c2\u0391\u03b1\u0390\u03d0",
    "\u0410\u0430\u042f\u044f\u0401",
    "\u0627\u0628\u0661\u05d0\u05d1\u0660\u08a0\u200f",
    "\u4e00\u5b50\u3042\u30a2\uac00\u1100\u1161\u11a8",
    "\u0300\u0301\u0308\u0323\u0345\u093c",
    "\uff21\uff41\uff10\ufb01\u2103\u338f\u2160\u00bd\u2100\u3000",
    "\u00ad\u200b\u200c\u200d\ufe0f\u034f\u2060",
    "\ue000\ufffd\ufdd0\u0080\u2028\u0340\u202e\U000e0001",
    "\U0001f600\u2c00\u2c30\ua7aa\u13a0\uab70\U0002f868\u2f874",
    ".\u3002\uff0e\uff61",
]


def rand_host(rng):
    labels = []
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.1:
            labels.append(rng.choice(["xn--", "XN--", "xn--ida", ""]) + rng.choice(IDNA_POOLS[1]))
            continue
        n = rng.randint(0, 12) if rng.random() < 0.9 else rng.randint(50, 70)
        pools = rng.sample(IDNA_POOLS[:-1], rng.randint(1, 3))
        labels.append("".join(rng.choice(rng.choice(pools)) for _ in range(n)))
    return rng.choice(IDNA_POOLS[-1]).join(labels) + rng.choice(["", "", "", "."])


def idna_main():
    rng = random.Random(7)
    seen = set()
    for _ in range(6000):
        h = rand_host(rng)
        if h in seen:
            continue
        seen.add(h)
        rec = {"host": h, "lower": h.lower()}
        try:
            rec["idna"] = h.encode("idna").decode("ascii")
        except UnicodeError as e:
            rec["idna_error"] = type(e).__name__
        sys.stdout.write(json.dumps(rec, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["idna"]:
        idna_main()
    else:
        main()
