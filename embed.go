// Package frontier holds what belongs to the module as a whole: the default
// settings file. The crawl frontier itself lives in the framework, registry
// and builtin packages.
package frontier

import _ "embed"

// DefaultSettings is the settings.yaml at the root of the module: every
// setting with its documented default. framework.Settings uses it as its
// lowest layer, so it is the one place a default is written. Treat it as read
// only.
//
//go:embed settings.yaml
var DefaultSettings []byte
