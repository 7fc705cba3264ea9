package linkextract

import "strings"

// ignoredExtensions are the extensions of links Extract leaves out: Scrapy's
// scrapy.linkextractors.IGNORED_EXTENSIONS (Scrapy 2.13), in its order.
var ignoredExtensions = [...]string{
	// archives
	"7z", "7zip", "bz2", "rar", "tar", "tar.gz", "xz", "zip",
	// images
	"mng", "pct", "bmp", "gif", "jpg", "jpeg", "png", "pst", "psp", "tif",
	"tiff", "ai", "drw", "dxf", "eps", "ps", "svg", "cdr", "ico", "webp",
	// audio
	"mp3", "wma", "ogg", "wav", "ra", "aac", "mid", "au", "aiff",
	// video
	"3gp", "asf", "asx", "avi", "mov", "mp4", "mpg", "qt", "rm", "swf",
	"wmv", "m4a", "m4v", "flv", "webm",
	// office suites
	"xls", "xlsm", "xlsx", "xltm", "xltx", "potm", "potx", "ppt", "pptm",
	"pptx", "pps", "doc", "docb", "docm", "docx", "dotm", "dotx", "odt",
	"ods", "odg", "odp",
	// other
	"css", "pdf", "exe", "bin", "rss", "dmg", "iso", "apk", "jar", "sh",
	"rb", "js", "hta", "bat", "cpl", "msi", "msp", "py",
}

// IgnoredExtensions returns the extensions, without their dot, of the links
// Extract leaves out: Scrapy's IGNORED_EXTENSIONS.
func IgnoredExtensions() []string {
	return append([]string(nil), ignoredExtensions[:]...)
}

// hasIgnoredExtension reports whether the path of the safe URL u ends with
// "." and an ignored extension, compared in lowercase, as Scrapy's
// url_has_any_extension. The longest extension holds one dot ("tar.gz"), so
// only the last two dots of the last path segment can start one.
func hasIgnoredExtension(u string) bool {
	seg := urlPath(u)
	if i := strings.LastIndexByte(seg, '/'); i >= 0 {
		seg = seg[i+1:]
	}
	end := len(seg)
	for range 2 {
		dot := strings.LastIndexByte(seg[:end], '.')
		if dot < 0 {
			return false
		}
		if isIgnored(seg[dot+1:]) {
			return true
		}
		end = dot
	}
	return false
}

func isIgnored(ext string) bool {
	var buf [len("tar.gz")]byte
	if len(ext) == 0 || len(ext) > len(buf) {
		return false
	}
	for i := 0; i < len(ext); i++ {
		c := ext[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	lower := buf[:len(ext)]
	for _, e := range ignoredExtensions {
		if e == string(lower) {
			return true
		}
	}
	return false
}

// urlPath returns the path of an absolute URL "scheme://host/path?query".
func urlPath(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	rest := u[i+3:]
	j := strings.IndexAny(rest, "/?#")
	if j < 0 || rest[j] != '/' {
		return ""
	}
	rest = rest[j:]
	if k := strings.IndexAny(rest, "?#"); k >= 0 {
		rest = rest[:k]
	}
	return rest
}
