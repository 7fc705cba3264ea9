package crawl

import "errors"

// ErrOptions marks [Options] that [Options.Validate] refuses.
var ErrOptions = errors.New("crawl: invalid options")
