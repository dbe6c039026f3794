package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/practicemail/practicemail/internal/store"
)

func cmdMigrate(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	configPath, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	cfg, err := m.loadConfig(configPath)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.Database.URL)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s database at schema version %d (%d migration(s) applied)\n", db.Engine(), v, n)
	return nil
}
