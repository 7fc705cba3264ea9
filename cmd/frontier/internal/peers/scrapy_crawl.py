"""Scrapy's side of `frontier bench crawl`.

Crawls a site from a start URL with Scrapy, following every link within the
start URL's host, yielding one item (url, title) per HTML page, and prints
one JSON line on stdout when the crawl ends:

    {"pages": N, "items": N, "seconds": S, "finish_reason": "...", ...}

pages is Scrapy's response_received_count, items its item_scraped_count,
seconds the time from spider_opened to spider_closed. Scrapy's log goes to
stderr. SIGINT stops the crawl as Scrapy does (the JSON line is still
printed); with --jobdir a later run resumes it.
"""
import argparse
import json
import sys
import time
from urllib.parse import urlparse

from scrapy import Request, Spider, signals
from scrapy.crawler import CrawlerProcess
from scrapy.http import HtmlResponse


class SiteSpider(Spider):
    name = "site"

    def __init__(self, start_url, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_urls = [start_url]
        self.allowed_domains = [urlparse(start_url).hostname]

    def start_requests(self):
        # Filtered like every other request (Scrapy's default start request
        # is not), so that a link back to the start URL does not fetch it
        # again and a resumed crawl does not start over.
        for url in self.start_urls:
            yield Request(url, dont_filter=False)

    def parse(self, response):
        if not isinstance(response, HtmlResponse):
            return
        yield {"url": response.url, "title": response.css("title::text").get()}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, callback=self.parse)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--jobdir", default="")
    ap.add_argument("--pages", type=int, default=0, help="stop after this many responses (0: crawl it all)")
    args = ap.parse_args()

    settings = {
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "LOG_LEVEL": "INFO",
        "ROBOTSTXT_OBEY": False,
        "AUTOTHROTTLE_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }
    if args.jobdir:
        settings["JOBDIR"] = args.jobdir
    if args.pages > 0:
        settings["CLOSESPIDER_PAGECOUNT"] = args.pages

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SiteSpider)
    clock = {}

    def opened(spider):
        clock["opened"] = time.perf_counter()

    def closed(spider, reason):
        clock["closed"] = time.perf_counter()

    # weak=False: the dispatcher would otherwise drop the handlers.
    crawler.signals.connect(opened, signal=signals.spider_opened, weak=False)
    crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
    process.crawl(crawler, start_url=args.url)
    process.start()

    stats = crawler.stats.get_stats()
    opened = clock.get("opened", 0.0)
    out = {
        "pages": stats.get("response_received_count", 0),
        "items": stats.get("item_scraped_count", 0),
        "seconds": clock.get("closed", opened) - opened,
        "finish_reason": stats.get("finish_reason", ""),
        "filtered": stats.get("dupefilter/filtered", 0),
        "retries": stats.get("retry/count", 0),
    }
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
