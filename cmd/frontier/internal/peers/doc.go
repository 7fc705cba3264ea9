// Package peers runs other crawlers on a site for `frontier bench crawl`:
// Scrapy, from a spider script embedded here and run by a given python, and
// Colly, from the separate Go module in bench/colly (so that frontier does
// not depend on Colly), built with the go command. Each peer measures its own
// crawl and prints one JSON line, which becomes a Result; the site's own
// counters (internal/demosite) tell the duplicate fetches.
//
// The functions run one child process each and may be called from several
// goroutines; the child ends when its call's context does.
package peers
