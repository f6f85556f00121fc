# nodeprof: build, test and install.
#
#   make              build/libnodeprof.so and build/nodeprof
#   make test         unit tests (ASan/UBSan, valgrind) then integration tests on real node
#   make deps         install the Debian build dependencies (root) or print the command
#   make install      PREFIX=/usr/local DESTDIR=
#
# Layout: preload/ (constructor), src/ (agent), src/formats/ (profile converters,
# pure C, shared with the CLI), scripts/cli/ (the nodeprof command).

PREFIX  ?= /usr/local
DESTDIR ?=
NODE    ?= node
CC      ?= cc
BUILD   ?= build
# Node-API and libuv headers (node_api.h, uv.h) ship with node itself.
NODE_INCLUDE ?= $(abspath $(dir $(realpath $(shell command -v $(NODE))))../include/node)

WARN     = -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(WARN) -Isrc -Ipreload -I/usr/include/cjson -I$(NODE_INCLUDE)
DEPFLAGS = -MMD -MP
# The host must see nothing of ours but the entry points node looks up.
LIB_LDFLAGS = -shared -Wl,--no-undefined -Wl,--exclude-libs,ALL -Wl,-z,nodelete -Wl,--version-script=src/exports.map
LIBS    = -lcjson -lz -lpthread

PRELOAD_SRCS = $(wildcard preload/*.c)
AGENT_SRCS   = $(wildcard src/*.c)
FORMAT_SRCS  = $(wildcard src/formats/*.c)
CLI_SRCS     = $(wildcard scripts/cli/*.c)
HTML_ASSETS  = $(wildcard src/formats/html/*)

LIB_OBJS = $(patsubst %.c,$(BUILD)/obj/%.o,$(PRELOAD_SRCS) $(AGENT_SRCS) $(FORMAT_SRCS))
CLI_OBJS = $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS) $(FORMAT_SRCS)) $(BUILD)/obj/src/config.o $(BUILD)/obj/src/log.o $(BUILD)/obj/src/outfile.o $(BUILD)/obj/src/rundir.o $(BUILD)/obj/src/command.o $(BUILD)/obj/src/namepat.o

.PHONY: all test unit-test integration-test fuzz clean install uninstall deps check-deps
all: $(BUILD)/libnodeprof.so $(BUILD)/nodeprof $(BUILD)/nodeprof-loader.cjs

$(BUILD)/libnodeprof.so: $(LIB_OBJS) src/exports.map
	$(CC) $(CFLAGS) $(LIB_LDFLAGS) -o $@ $(LIB_OBJS) $(LIBS)

$(BUILD)/nodeprof: $(CLI_OBJS)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(LIBS)

$(BUILD)/obj/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

# The HTML flame graph's page is kept as ordinary .html/.js/.css files and
# embedded as C strings, so the single .so needs no sibling file.
$(BUILD)/gen/html_assets.h: $(HTML_ASSETS) scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $@ $(HTML_ASSETS)
$(BUILD)/obj/src/formats/html.o: $(BUILD)/gen/html_assets.h
$(BUILD)/obj/src/formats/html.o: CFLAGS += -I$(BUILD)/gen

# The loader that NODE_OPTIONS names (src/loader.h): embedded in the library,
# which checks the copy installed beside it byte for byte.
LOADER_SRC = src/loader/nodeprof-loader.cjs
$(BUILD)/gen/loader_asset.h: $(LOADER_SRC) scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $@ $(LOADER_SRC)
$(BUILD)/obj/src/loader.o: $(BUILD)/gen/loader_asset.h
$(BUILD)/obj/src/loader.o: CFLAGS += -I$(BUILD)/gen
$(BUILD)/nodeprof-loader.cjs: $(LOADER_SRC)
	install -m 0644 $< $@

# ---- tests -----------------------------------------------------------------
SAN_FLAGS  = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRCS  = $(wildcard tests/unit/test_*.c)
UNIT_BINS  = $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
UNIT_PLAIN = $(patsubst tests/unit/%.c,$(BUILD)/unit-plain/%,$(UNIT_SRCS))
# Pure modules: everything that does not need a live node.
PURE_SRCS  = src/config.c src/log.c src/namepat.c src/outfile.c src/rundir.c src/nodeopts.c src/command.c src/headroom.c src/loader.c $(FORMAT_SRCS)
UNIT_GEN   = $(BUILD)/gen/html_assets.h $(BUILD)/gen/loader_asset.h

$(BUILD)/unit/%: tests/unit/%.c $(PURE_SRCS) tests/unit/check.h $(UNIT_GEN)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -I/usr/include/cjson -I$(BUILD)/gen $(SAN_FLAGS) -o $@ $< $(PURE_SRCS) $(LIBS)

$(BUILD)/unit-plain/%: tests/unit/%.c $(PURE_SRCS) tests/unit/check.h $(UNIT_GEN)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -I/usr/include/cjson -I$(BUILD)/gen -O0 -g -o $@ $< $(PURE_SRCS) $(LIBS)

unit-test: $(UNIT_BINS) $(UNIT_PLAIN)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t (ASan/UBSan)"; $$t; done
	@set -e; for t in $(UNIT_PLAIN); do echo "== $$t (valgrind)"; \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $$t >/dev/null; done
	@echo "unit tests: all passed under ASan/UBSan and valgrind"

integration-test: all
	NP_TEST_NODE=$(NODE) $(NODE) --test --test-concurrency=2 $(sort $(wildcard tests/integration/*.test.mjs))

test: unit-test integration-test

# libFuzzer (clang) on the profile parser and writers for FUZZ_SECONDS,
# seeded with the fixture profiles; findings are left in $(BUILD)/fuzz.
FUZZ_SECONDS ?= 60
$(BUILD)/fuzz/fuzz_profile: tests/fuzz/fuzz_profile.c $(FORMAT_SRCS) | $(BUILD)/gen/html_assets.h
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -I/usr/include/cjson -I$(BUILD)/gen -O1 -g \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< $(FORMAT_SRCS) $(LIBS)

fuzz: $(BUILD)/fuzz/fuzz_profile $(BUILD)/fuzz/fuzz_sourcemap
	@mkdir -p $(BUILD)/fuzz/corpus $(BUILD)/fuzz/corpus-sourcemap
	cp tests/fixtures/profiles/*.cpuprofile tests/fixtures/profiles/*.heapprofile $(BUILD)/fuzz/corpus/
	cd $(BUILD)/fuzz && ./fuzz_profile -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
	  -dict=$(CURDIR)/tests/fuzz/profile.dict -print_final_stats=1 corpus
	cp tests/fixtures/sourcemaps/*.map $(BUILD)/fuzz/corpus-sourcemap/
	cd $(BUILD)/fuzz && ./fuzz_sourcemap -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
	  -dict=$(CURDIR)/tests/fuzz/sourcemap.dict -print_final_stats=1 corpus-sourcemap

# The source map parser (src/formats/sourcemap.c) alone.
$(BUILD)/fuzz/fuzz_sourcemap: tests/fuzz/fuzz_sourcemap.c src/formats/sourcemap.c src/formats/jsonscan.c
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -I/usr/include/cjson -O1 -g \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $^ $(LIBS)

# ---- dependencies and install ------------------------------------------------
DEB_DEPS = libcjson-dev libunwind-dev zlib1g-dev
# On a fresh Debian 12 machine `make` installs what is missing when run as
# root; otherwise it prints the exact command and stops.
check-deps:
	@test -f /usr/include/cjson/cJSON.h -a -f /usr/include/zlib.h || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing build dependencies: $(DEB_DEPS)"; $(MAKE) --no-print-directory deps; \
	  else echo "missing build dependencies; run as root: apt-get install -y $(DEB_DEPS)" >&2; exit 1; fi
	@test -f $(NODE_INCLUDE)/node_api.h || { \
	  echo "no node_api.h in $(NODE_INCLUDE): set NODE_INCLUDE=<node's include/node>" >&2; exit 1; }

deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=""; for p in $(DEB_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	else echo "run as root: apt-get install -y $(DEB_DEPS)"; fi

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/libnodeprof.so $(DESTDIR)$(PREFIX)/lib/libnodeprof.so
	install -m 0644 $(BUILD)/nodeprof-loader.cjs $(DESTDIR)$(PREFIX)/lib/nodeprof-loader.cjs
	install -m 0755 $(BUILD)/nodeprof $(DESTDIR)$(PREFIX)/bin/nodeprof

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libnodeprof.so $(DESTDIR)$(PREFIX)/lib/nodeprof-loader.cjs $(DESTDIR)$(PREFIX)/bin/nodeprof

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
