// Package dupefilters holds frontier's built-in duplicate filters:
// BaseDupeFilter, which filters nothing, and RFPDupeFilter, which filters
// requests by fingerprint as Scrapy's does. [Register] adds them to a registry
// under Go-native names and Scrapy's dotted class paths.
//
// A dupefilter is used from the scheduler's goroutine only.
package dupefilters
