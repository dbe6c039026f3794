package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// runCampaign runs `practicemail run` like runPracticemail, on the same
// seeded subscribers made followers of news too, and measures a campaign
// to them (`campaigns create --now`) instead of a post: the same ledger,
// lease, rate and pool, started by the scheduler instead of a poll.
func runCampaign(ctx context.Context, o options, n int, sync string) (pmResult, error) {
	return runSession(ctx, o, n, sync, func(s *session) driver {
		s.name = fmt.Sprintf("campaign.%d", n) // its CPU profile beside the post's, not over it
		return s.driveCampaign
	})
}

// campaignBody is the campaign's Markdown: about a post's size, with no
// first-name field, so that its message is rendered once, as a post's is.
const campaignBody = `# Openings in January

I have four consult openings in January, on Tuesday and Thursday mornings.
If you have been meaning to start, this is a good moment: write back, or book
a free consult at {{booking_url}}.

With warm regards, {{practice_name}}
`

func (s *session) driveCampaign(ctx context.Context, res *pmResult, pid int, exited <-chan struct{}) error {
	body := filepath.Join(s.dir, "campaign.md")
	if err := os.WriteFile(body, []byte(campaignBody), 0o600); err != nil {
		return err
	}
	var started time.Time
	return s.driveSend(ctx, res, pid, exited, sendKind{name: "campaign",
		start: func(ctx context.Context) error {
			if err := s.followNews(ctx); err != nil {
				return err
			}
			started = time.Now()
			out, err := command(ctx, s.o.bin, s.dir, "campaigns", "create", "--subject", "Openings in January",
				"--body", body, "--now", "--config", s.config).CombinedOutput()
			if err != nil {
				return fmt.Errorf("practicemail campaigns create: %w\n%s", err, out)
			}
			return nil
		},
		finished: (*ledger).campaignSent,
		served:   func() time.Time { return started },
	})
}

// followNews makes every seeded subscriber a follower of news as well.
func (s *session) followNews(ctx context.Context) error {
	db, err := sql.Open("sqlite", sqliteDSN(s.dbPath, false))
	if s.pg != nil {
		db, err = sql.Open("pgx", s.pg.url)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `INSERT INTO subscriber_topics (topic, subscriber_id)
		SELECT 'news', subscriber_id FROM subscriber_topics WHERE topic = 'posts'`)
	if err != nil {
		return fmt.Errorf("seed news: %w", err)
	}
	return nil
}

// campaignSent reports whether the campaign has started and no row of it
// is left queued.
func (l *ledger) campaignSent(ctx context.Context) (bool, error) {
	var started, open int
	err := l.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM campaigns WHERE started_at IS NOT NULL),
		(SELECT COUNT(*) FROM deliveries WHERE state IN ('queued', 'sending') AND kind = 'campaign')`).Scan(&started, &open)
	return started == 1 && open == 0, err
}
