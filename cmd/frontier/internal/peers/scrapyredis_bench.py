"""frontier's harness for measuring scrapy-redis's shared scheduler.

Run by frontier (cmd/frontier/internal/peers) with a python that has Scrapy
and redis-py, and PYTHONPATH pointing at a scrapy-redis source tree ("src").
It does not start a Redis: it uses the one at --url, under keys of its own
(a spider name made for the run), which it deletes at the end.

Workload: request i is Request("http://host{i%1000}.example/page/{i}",
priority=i%10), for i in 0..N-1, split evenly over --workers worker
processes. Each worker builds scrapy_redis.scheduler.Scheduler as Scrapy's
engine does (from_crawler, open) with scrapy_redis.dupefilter.RFPDupeFilter,
SCHEDULER_PERSIST on (so that one worker's close does not delete the shared
keys), and the queue class chosen by --queue. All workers start enqueueing
together, then all dequeue together until the shared queue is empty.

Rates are aggregate: requests over the time from the first worker's start to
the last worker's end, for each phase. Redis memory (INFO used_memory) is
read before the workers open, after the enqueue phase and after the drain:
per pending request = (after enqueue - after drain) / accepted, per
fingerprint = (after drain - before) / fingerprints (the queue is gone by
then, the fingerprints stay).

Prints one JSON line on stdout; diagnostics go to stderr.
"""
import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from array import array

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

import redis  # noqa: E402
from scrapy import Spider  # noqa: E402
from scrapy.http import Request  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402

import scrapy_redis  # noqa: E402
from scrapy_redis.scheduler import Scheduler  # noqa: E402

QUEUE_CLASSES = {"priority": "scrapy_redis.queue.PriorityQueue",
                 "fifo": "scrapy_redis.queue.FifoQueue",
                 "lifo": "scrapy_redis.queue.LifoQueue"}


def request(i):
    return Request(f"http://host{i % 1000}.example/page/{i}", priority=i % 10)


def index(url):
    return int(url.rsplit("/", 1)[1])


def open_scheduler(url, queue, spider_name):
    crawler = get_crawler(Spider, {
        "LOG_LEVEL": "WARNING",
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_QUEUE_CLASS": QUEUE_CLASSES[queue],
        "SCHEDULER_PERSIST": True,
        "REDIS_URL": url,
    })
    spider = crawler._create_spider(spider_name)
    crawler.spider = spider
    crawler.stats.open_spider(spider)
    sched = Scheduler.from_crawler(crawler)
    sched.open(spider)
    return sched


def worker(args):
    sched = open_scheduler(args.url, args.queue, args.spider)
    print("READY", flush=True)
    sys.stdin.readline()
    accepted = 0
    t0 = time.monotonic()
    for i in range(args.lo, args.hi):
        if sched.enqueue_request(request(i)):
            accepted += 1
    t1 = time.monotonic()
    print("ENQUEUED", flush=True)
    sys.stdin.readline()
    got = array("I")
    t2 = time.monotonic()
    while True:
        r = sched.next_request()
        if r is None:
            if not sched.has_pending_requests():
                break
            continue
        got.append(index(r.url))
    t3 = time.monotonic()
    with open(args.out, "wb") as f:
        f.write(got.tobytes())
    print(json.dumps({"accepted": accepted, "dequeued": len(got),
                      "enqueue_start": t0, "enqueue_end": t1,
                      "dequeue_start": t2, "dequeue_end": t3}), flush=True)


def wait_for(proc, word):
    for line in proc.stdout:
        if line.strip() == word:
            return
    raise RuntimeError(f"worker {proc.pid} ended before saying {word}")


def last_json(proc):
    obj = None
    for line in proc.stdout:
        if line.startswith("{"):
            obj = json.loads(line)
    return obj


def go(procs):
    for p in procs:
        p.stdin.write("GO\n")
        p.stdin.flush()


def rate(n, seconds):
    return n / seconds if seconds > 0 else 0.0


def parent(args):
    client = redis.Redis.from_url(args.url)
    spider = "frontier-bench-" + uuid.uuid4().hex[:12]
    keys = [f"{spider}:requests", f"{spider}:dupefilter"]
    tmp = tempfile.mkdtemp(prefix="frontier-scrapy-redis-")
    procs = []
    try:
        mem_before = client.info("memory")["used_memory"]
        for w in range(args.workers):
            lo, hi = w * args.n // args.workers, (w + 1) * args.n // args.workers
            procs.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--worker", "--url", args.url,
                 "--queue", args.queue, "--spider", spider, "--lo", str(lo), "--hi", str(hi),
                 "--out", os.path.join(tmp, f"w{w}.bin")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for p in procs:
            wait_for(p, "READY")
        go(procs)
        for p in procs:
            wait_for(p, "ENQUEUED")
        mem_enqueued = client.info("memory")["used_memory"]
        fingerprints = client.scard(keys[1])
        go(procs)
        reports = [last_json(p) for p in procs]
        for p in procs:
            p.wait()
        if any(r is None for r in reports):
            raise RuntimeError("a worker ended without its report")
        mem_drained = client.info("memory")["used_memory"]
        seen = bytearray(args.n)
        for w in range(args.workers):
            a = array("I")
            with open(os.path.join(tmp, f"w{w}.bin"), "rb") as f:
                a.frombytes(f.read())
            for i in a:
                seen[i] = min(seen[i] + 1, 255)
        accepted = sum(r["accepted"] for r in reports)
        dequeued = sum(r["dequeued"] for r in reports)
        enq_s = max(r["enqueue_end"] for r in reports) - min(r["enqueue_start"] for r in reports)
        deq_s = max(r["dequeue_end"] for r in reports) - min(r["dequeue_start"] for r in reports)
        print(json.dumps({
            "scrapy_redis": scrapy_redis.__version__,
            "redis_py": redis.__version__,
            "requests": args.n, "workers": args.workers, "queue": args.queue,
            "accepted": accepted, "dequeued": dequeued,
            "enqueue_seconds": enq_s, "dequeue_seconds": deq_s,
            "enqueue_per_second": rate(args.n, enq_s),
            "dequeue_per_second": rate(dequeued, deq_s),
            "bytes_per_request": (mem_enqueued - mem_drained) / accepted if accepted else 0,
            "bytes_per_fingerprint": (mem_drained - mem_before) / fingerprints if fingerprints else 0,
            "fingerprints": fingerprints,
            "delivered_twice": sum(1 for x in seen if x > 1),
            "never_delivered": seen.count(0),
            "per_worker_dequeued": [r["dequeued"] for r in reports],
        }), flush=True)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        client.delete(*keys)
        for name in os.listdir(tmp):
            os.remove(os.path.join(tmp, name))
        os.rmdir(tmp)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="redis://host:port/db")
    ap.add_argument("--n", type=int, default=100000, help="requests")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--queue", choices=sorted(QUEUE_CLASSES), default="priority")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--spider", help=argparse.SUPPRESS)
    ap.add_argument("--lo", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--hi", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
