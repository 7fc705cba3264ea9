package spiders

import (
	"slices"

	"github.com/frontier-go/frontier/framework"
)

func linksSpec() spec {
	return spec{
		name: "links",
		summary: "crawls a site from its start URLs, following the links of every page " +
			"(Scrapy's LinkExtractor: <a> and <area>, images, documents and archives left out), " +
			"and exports one item per page, HTTP errors included: url, status, title, depth, links.",
		args: []argSpec{
			{name: "start_urls", required: true, help: "the URLs to start from, absolute http(s) URLs separated by commas or spaces (write a comma inside a URL as %2C)"},
			{name: "allowed_domains", def: "the hosts of start_urls", help: "the domains the crawl stays on, with their subdomains, separated by commas"},
			{name: "follow", def: "true", help: "true or false: request the links of every page, or only the start URLs"},
		},
		build: newLinks,
	}
}

// newLinks builds the links spider: start requests to CallbackPage with
// ErrbackPage, a Page item per page, its links followed when follow is true.
func newLinks(a argValues) (*framework.Spider, error) {
	urls, err := a.urls("start_urls")
	if err != nil {
		return nil, err
	}
	domains, err := a.domains("allowed_domains")
	if err != nil {
		return nil, err
	}
	if len(domains) == 0 {
		for _, u := range urls {
			if h := framework.Hostname(u); !slices.Contains(domains, h) {
				domains = append(domains, h)
			}
		}
	}
	follow, err := a.boolean("follow", true)
	if err != nil {
		return nil, err
	}
	s := framework.NewSpider("links")
	s.AllowedDomains = domains
	s.Start = startRequests(urls, CallbackPage, ErrbackPage)
	s.HandleCallback(CallbackPage, parsePage(follow))
	s.HandleErrback(ErrbackPage, pageError)
	return s, nil
}
