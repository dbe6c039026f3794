# practicemail — the two commands a new machine needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/practicemail
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test test-short bench vet fmt clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/practicemail

# The main job on SQLite and the dev outbox (data/outbox), with practicemail.yaml.
run: build
	./$(BIN) run --config practicemail.yaml

# Everything, with the race detector, against real Redis, SQLite, PostgreSQL and SMTP.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(GO) test -count=1 ./...

# Throughput, CPU and memory of a fan-out to 10k and 100k subscribers beside a raw SMTP baseline.
bench:
	bash bench/run.sh

fmt:
	gofmt -w .

clean:
	rm -rf bin
