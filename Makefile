# practicemail — the two commands a new machine needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/practicemail
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test test-short bench vet fmt clean test-programs

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/practicemail

# The main job on SQLite and the dev outbox (data/outbox), with practicemail.yaml.
run: build
	./$(BIN) run --config practicemail.yaml

# Everything, with the race detector, against real Redis, SQLite, PostgreSQL and SMTP.
test: test-programs
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(GO) test -count=1 ./...

# Programs the tests drive, as program:Debian package: chromium (the browser
# tests, headless over DevTools), nginx (deploy/nginx.conf in front of
# practicemail) and systemd-analyze (the units in deploy/). When one is
# missing and this runs as root with apt-get, install it; otherwise say so:
# its tests then skip, or fail with CI=true.
TEST_PROGRAMS := chromium:chromium nginx:nginx systemd-analyze:systemd

test-programs:
	@missing=""; for pp in $(TEST_PROGRAMS); do p=$${pp%%:*}; \
	  command -v $$p >/dev/null 2>&1 || [ -x /usr/sbin/$$p ] || missing="$$missing $${pp##*:}"; \
	done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing Debian's$$missing for the tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "make:$$missing missing and cannot be installed here (needs root and apt-get):"; \
	  echo "      the tests that drive them will skip (or fail with CI=true); apt-get install$$missing"; \
	fi

# Throughput, CPU and memory of a fan-out to 10k and 100k subscribers beside a raw SMTP baseline;
# then POST /subscribe alone and beside a fan-out to 20k (bench/run.sh lists the knobs).
bench:
	bash bench/run.sh

fmt:
	gofmt -w .

clean:
	rm -rf bin
