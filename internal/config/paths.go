package config

import (
	"path/filepath"
)

// resolvePaths makes the relative paths of c relative to dir instead of the
// working directory: dir is the configuration file's.
func (c *Config) resolvePaths(dir string) {
	if path := c.Database.Path(); path != "" && !filepath.IsAbs(path) {
		c.Database.URL = "sqlite:" + filepath.Join(dir, path)
	}
	for _, p := range []*string{&c.SMTP.OutboxDir, &c.SMTP.DKIMKeyFile, &c.Sequences.Dir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}
