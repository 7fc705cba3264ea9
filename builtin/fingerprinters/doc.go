// Package fingerprinters holds frontier's built-in request fingerprinter,
// byte-identical to Scrapy's scrapy.utils.request.fingerprint and its
// RequestFingerprinter: the SHA-1 of the JSON document
//
//	{"body": <hex>, "headers": {<hex name>: [<hex value>, ...]}, "method": <method>, "url": <canonical URL>}
//
// written as Python's json.dumps(..., sort_keys=True) writes it. The URL is
// w3lib's canonicalize_url of the request URL (see package urlnorm), or the
// URL as it is when meta["verbatim_url"] is truthy. Fingerprints therefore
// match the lines of a Scrapy job's requests.seen.
//
// Fingerprint and RequestFingerprinter are safe for concurrent use. Register
// adds the fingerprinter to a registry under "frontier.fingerprinters.Request"
// and Scrapy's "scrapy.utils.request.RequestFingerprinter".
package fingerprinters
