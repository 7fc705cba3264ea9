"""Scrapy's half of `frontier bench scheduler --scrapy`.

Runs the same workload as frontier's scheduler benchmark through Scrapy's own
Scheduler (with Scrapy's default settings, plus JOBDIR when given) and prints
one JSON object with the same field names, so the two can be compared in one run.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from scrapy import Request, Spider
from scrapy.core.scheduler import Scheduler
from scrapy.utils.test import get_crawler


def rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def requests(n, ratio, hosts, prios):
    out, uniq, acc = [], 0, 0.0
    for i in range(n):
        acc += ratio
        ident = uniq
        if acc >= 1 and uniq > 0:
            acc -= 1
            ident = (i * 7919) % uniq
        else:
            uniq += 1
        url = "https://host%d.example/page/%d?ref=%d" % (ident % hosts, ident, ident % 7)
        out.append(Request(url, priority=ident % prios))
    return out


def open_scheduler(settings):
    crawler = get_crawler(Spider, settings)
    spider = Spider("bench")
    spider.crawler = crawler
    crawler.spider = spider
    sched = Scheduler.from_crawler(crawler)
    sched.open(spider)
    return crawler, spider, sched


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=1000000)
    p.add_argument("--dup-ratio", type=float, default=0.0)
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--priorities", type=int, default=10)
    p.add_argument("--jobdir", action="store_true")
    a = p.parse_args()

    settings = {"LOG_ENABLED": False}
    jobdir = None
    if a.jobdir:
        jobdir = tempfile.mkdtemp(prefix="scrapy-bench-")
        settings["JOBDIR"] = jobdir
    rss0 = rss("VmRSS")
    reqs = requests(a.n, a.dup_ratio, a.hosts, a.priorities)
    crawler, spider, sched = open_scheduler(settings)
    t = time.perf_counter()
    for r in reqs:
        sched.enqueue_request(r)
    enq = time.perf_counter() - t
    del reqs
    pending = len(sched)
    res = {
        "n": a.n, "dup_ratio": a.dup_ratio, "hosts": a.hosts, "priorities": a.priorities,
        "jobdir": a.jobdir, "scrapy": __import__("scrapy").__version__,
        "enqueued": pending, "enqueue_seconds": enq, "enqueue_per_s": a.n / enq,
        "bytes_per_pending": (rss("VmRSS") - rss0) / max(pending, 1),
    }
    if jobdir:
        t = time.perf_counter()
        sched.close("shutdown")
        res["close_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        crawler, spider, sched = open_scheduler(settings)
        res["reopen_seconds"] = time.perf_counter() - t
        disk = 0
        for root, _, files in os.walk(os.path.join(jobdir, "requests.queue")):
            disk += sum(os.path.getsize(os.path.join(root, f)) for f in files)
        res["disk_bytes_per_pending"] = disk / max(pending, 1)
        seen = os.path.join(jobdir, "requests.seen")
        res["disk_bytes_per_fingerprint"] = os.path.getsize(seen) / max(len(sched.df.fingerprints), 1)
    t = time.perf_counter()
    n = 0
    while sched.next_request() is not None:
        n += 1
    deq = time.perf_counter() - t
    sched.close("finished")
    res.update({"dequeued": n, "dequeue_seconds": deq, "dequeue_per_s": n / deq if deq else 0,
                "peak_rss_bytes": rss("VmHWM")})
    if jobdir:
        shutil.rmtree(jobdir, ignore_errors=True)
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
