// Package framework holds frontier's public types and contracts: settings,
// requests and their record codec, spiders, the crawler, stats, signals, and the
// interfaces every queue, priority queue, dupefilter, fingerprinter and
// scheduler implements.
//
// Components are selected by name in settings and resolved through a
// [registry.Registry] to typed factories; [Crawler] carries everything a factory
// needs. Library code takes its logger from the Crawler and never configures
// output; only the frontier command does.
package framework
