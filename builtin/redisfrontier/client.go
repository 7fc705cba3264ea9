package redisfrontier

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontier-go/frontier/framework"
)

// ClientOptions are the connection settings of scrapy-redis
// (connection.py): REDIS_URL wins over REDIS_HOST and REDIS_PORT, and
// REDIS_PARAMS adds to either.
type ClientOptions struct {
	URL    string         // REDIS_URL: redis://[user:pass@]host:port/db or rediss://
	Host   string         // REDIS_HOST
	Port   int            // REDIS_PORT
	Params map[string]any // REDIS_PARAMS: db, username, password, socket_timeout, socket_connect_timeout, cluster, addrs
}

// ClientOptionsFrom reads the connection settings of c.
func ClientOptionsFrom(s *framework.Settings) (ClientOptions, error) {
	var o ClientOptions
	var err error
	if o.URL, err = s.GetString("REDIS_URL"); err != nil {
		return o, err
	}
	if o.Host, err = s.GetString("REDIS_HOST"); err != nil {
		return o, err
	}
	if o.Port, err = s.GetInt("REDIS_PORT"); err != nil {
		return o, err
	}
	if o.Params, err = s.GetDict("REDIS_PARAMS"); err != nil {
		return o, err
	}
	return o, nil
}

// NewClient returns a client for o: a cluster client when REDIS_PARAMS has
// cluster: true (its addrs, or the URL's or host's address, are the seed
// nodes), a single-node client otherwise.
func NewClient(o ClientOptions) (redis.UniversalClient, error) {
	uo := &redis.UniversalOptions{Addrs: []string{o.Host + ":" + strconv.Itoa(o.Port)}}
	if o.URL != "" {
		opt, err := redis.ParseURL(o.URL)
		if err != nil {
			return nil, fmt.Errorf("%w: REDIS_URL %q: %w", ErrConfig, o.URL, err)
		}
		uo.Addrs, uo.DB, uo.Username, uo.Password, uo.TLSConfig = []string{opt.Addr}, opt.DB, opt.Username, opt.Password, opt.TLSConfig
	}
	cluster := false
	for k, v := range o.Params {
		var err error
		switch strings.ToLower(k) {
		case "db":
			uo.DB, err = paramInt(v)
		case "username":
			uo.Username = fmt.Sprint(v)
		case "password":
			uo.Password = fmt.Sprint(v)
		case "socket_timeout":
			var d time.Duration
			d, err = paramSeconds(v)
			uo.ReadTimeout, uo.WriteTimeout = d, d
		case "socket_connect_timeout":
			uo.DialTimeout, err = paramSeconds(v)
		case "cluster":
			cluster = framework.Truthy(v)
		case "addrs":
			list, ok := v.([]any)
			if !ok {
				err = fmt.Errorf("want a list of host:port")
			}
			uo.Addrs = uo.Addrs[:0]
			for _, a := range list {
				uo.Addrs = append(uo.Addrs, fmt.Sprint(a))
			}
		default:
			// scrapy-redis passes REDIS_PARAMS to redis-py; parameters with
			// no go-redis meaning (encoding, retry_on_timeout...) are ignored.
		}
		if err != nil {
			return nil, fmt.Errorf("%w: REDIS_PARAMS[%q] = %v: %w", ErrConfig, k, v, err)
		}
	}
	uo.MaxRetries = -1 // the frontier retries whole scripts itself, with backoff and log lines
	if cluster {
		return redis.NewClusterClient(uo.Cluster()), nil
	}
	return redis.NewClient(uo.Simple()), nil
}

func paramInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		return int(x), nil
	case string:
		return strconv.Atoi(x)
	}
	return 0, fmt.Errorf("want an integer")
}

func paramSeconds(v any) (time.Duration, error) {
	switch x := v.(type) {
	case int:
		return time.Duration(x) * time.Second, nil
	case int64:
		return time.Duration(x) * time.Second, nil
	case float64:
		return time.Duration(x * float64(time.Second)), nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return time.Duration(f * float64(time.Second)), err
	}
	return 0, fmt.Errorf("want seconds")
}

// KeyFor substitutes scrapy-redis's placeholders in a key template:
// %(spider)s and %(name)s become the spider's name wrapped in a hash tag
// ({name}), so that every key of one crawl lands in one Cluster slot;
// %(timestamp)s becomes the Unix time. A template that already holds a
// hash tag ({...}) is left to it.
func KeyFor(template, spider string) string {
	name := spider
	if !strings.Contains(template, "{") {
		name = "{" + spider + "}"
	}
	r := strings.NewReplacer("%(spider)s", name, "%(name)s", name,
		"%(timestamp)s", strconv.FormatInt(time.Now().Unix(), 10))
	return r.Replace(template)
}
