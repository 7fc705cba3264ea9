// Package linkextract finds the title and the links of an HTML page, as
// Scrapy's default LinkExtractor does for a response: the href of every
// <a> and <area> element, resolved against the page's <base href> or its
// URL, made safe the way a request URL is ([framework.NewRequest]), without
// fragments and duplicates, and without links to files a crawler of pages has
// no use for (Scrapy's IGNORED_EXTENSIONS: images, audio, video, office
// documents, archives, PDF and the like).
//
// The page is read with the streaming tokenizer of golang.org/x/net/html,
// decoded from the charset its Content-Type header or its <meta charset>
// declare (golang.org/x/net/html/charset). Broken markup is read the way the
// tokenizer reads it; nothing a server sends makes [Extract] panic.
//
// Extract is safe for concurrent use; it keeps no state between calls.
package linkextract
