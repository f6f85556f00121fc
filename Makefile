# nodeprof: build, test and install.
#
#   make              build/libnodeprof.so (the preloaded object), build/libnodeprof-agent.so
#                     (the agent it loads into node) and build/nodeprof
#   make test         unit tests (ASan/UBSan, valgrind) then integration tests on real node
#   make test-nodes   the integration tests again on node 22 and 24 (fetched into build/nodes)
#   make deps         install the Debian build dependencies (root) or print the command
#   make test-deps    the same for the tests' Debian packages, then npm ci --prefix tests
#   make install      PREFIX=/usr/local DESTDIR=
#
# CFLAGS, CPPFLAGS, LDFLAGS and CC are the user's (make CFLAGS='-O1 -fsanitize=address',
# make CC=clang); what the build needs is in NP_CFLAGS, always added.
#
# Layout, by layer (README "Module map"): src/formats/ (profile converters,
# pure C), src/common/ (pure C: configuration, logging, files, commands),
# src/ (the agent, on Node-API), preload/ (the constructor), cli/ (the
# nodeprof command, on common/ and formats/ only).

PREFIX  ?= /usr/local
DESTDIR ?=
NODE    ?= node
CC      ?= cc
BUILD   ?= build
# Node-API and libuv headers (node_api.h, uv.h) ship with node itself.
NODE_INCLUDE ?= $(abspath $(dir $(realpath $(shell command -v $(NODE))))../include/node)

WARN     = -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
NP_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -ffunction-sections -fdata-sections $(WARN) -Isrc -Ipreload -I/usr/include/cjson -I$(NODE_INCLUDE)
DEPFLAGS = -MMD -MP
# The host must see nothing of ours but the entry points node looks up.
LIB_LDFLAGS = -shared -Wl,--no-undefined -Wl,--exclude-libs,ALL -Wl,-z,nodelete
LIBS    = -lcjson -lz -lpthread

PRELOAD_SRCS = $(wildcard preload/*.c)
# The preloaded object is in every process: the constructor and only the
# common modules it uses, and nothing but libc (preload/agentload.h).
PRELOAD_COMMON = $(addprefix src/common/,log.c nodeopts.c loader.c outfile.c envfile.c)
AGENT_SRCS   = $(wildcard src/*.c src/native/*.c)
COMMON_SRCS  = $(wildcard src/common/*.c)
FORMAT_SRCS  = $(wildcard src/formats/*.c)
CLI_SRCS     = $(wildcard cli/*.c)
HTML_ASSETS  = $(wildcard src/formats/html/*)

PRELOAD_OBJS = $(patsubst %.c,$(BUILD)/obj/%.o,$(PRELOAD_SRCS) $(PRELOAD_COMMON))
AGENT_OBJS = $(patsubst %.c,$(BUILD)/obj/%.o,$(AGENT_SRCS) $(COMMON_SRCS) $(FORMAT_SRCS))
# The CLI links the pure layers as archives: it takes what it uses.
PURE_LIBS = $(BUILD)/libnp-common.a $(BUILD)/libnp-formats.a
CLI_OBJS = $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))

.PHONY: all test layers unit-test integration-test test-nodes fuzz $(FUZZERS:%=fuzz-%) clean install uninstall deps check-deps test-deps test-debs fuzz-deps
all: $(BUILD)/libnodeprof.so $(BUILD)/libnodeprof-agent.so $(BUILD)/nodeprof $(BUILD)/nodeprof-loader.cjs

# Building the preloaded object builds its agent too: one is no use alone.
$(BUILD)/libnodeprof.so: $(PRELOAD_OBJS) preload/exports.map | $(BUILD)/libnodeprof-agent.so
	$(CC) $(NP_CFLAGS) $(CFLAGS) $(LDFLAGS) $(LIB_LDFLAGS) -Wl,--gc-sections -Wl,--version-script=preload/exports.map \
	  -o $@ $(PRELOAD_OBJS)

$(BUILD)/libnodeprof-agent.so: $(AGENT_OBJS) src/exports.map
	$(CC) $(NP_CFLAGS) $(CFLAGS) $(LDFLAGS) $(LIB_LDFLAGS) -Wl,--version-script=src/exports.map -o $@ $(AGENT_OBJS) $(LIBS)

$(BUILD)/nodeprof: $(CLI_OBJS) $(PURE_LIBS)
	$(CC) $(NP_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(PURE_LIBS) $(LIBS) -ldl

$(BUILD)/libnp-common.a: $(patsubst %.c,$(BUILD)/obj/%.o,$(COMMON_SRCS))
	rm -f $@ && $(AR) rcs $@ $^
$(BUILD)/libnp-formats.a: $(patsubst %.c,$(BUILD)/obj/%.o,$(FORMAT_SRCS))
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/obj/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(NP_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

# The HTML flame graph's page is kept as ordinary .html/.js/.css files and
# embedded as C strings, so the single .so needs no sibling file.
$(BUILD)/gen/html_assets.h: $(HTML_ASSETS) scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $@ $(HTML_ASSETS)
$(BUILD)/obj/src/formats/html.o: $(BUILD)/gen/html_assets.h
$(BUILD)/obj/src/formats/html.o: NP_CFLAGS += -I$(BUILD)/gen
$(BUILD)/obj/src/formats/memhtml.o: $(BUILD)/gen/html_assets.h
$(BUILD)/obj/src/formats/memhtml.o: NP_CFLAGS += -I$(BUILD)/gen

# The loader that NODE_OPTIONS names (src/common/loader.h): embedded in the library,
# which checks the copy installed beside it byte for byte.
LOADER_SRC = src/loader/nodeprof-loader.cjs
$(BUILD)/gen/loader_asset.h: $(LOADER_SRC) scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $@ $(LOADER_SRC)
$(BUILD)/obj/src/common/loader.o: $(BUILD)/gen/loader_asset.h
$(BUILD)/obj/src/common/loader.o: NP_CFLAGS += -I$(BUILD)/gen
$(BUILD)/nodeprof-loader.cjs: $(LOADER_SRC)
	install -m 0644 $< $@

# ---- tests -----------------------------------------------------------------
SAN_FLAGS  = -O1 -g -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRCS  = $(wildcard tests/unit/test_*.c)
UNIT_BINS  = $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
UNIT_PLAIN = $(patsubst tests/unit/%.c,$(BUILD)/unit-plain/%,$(UNIT_SRCS))
UNIT_GEN   = $(BUILD)/gen/html_assets.h $(BUILD)/gen/loader_asset.h

# Each pure source is compiled once per flavour (sanitized, plain) and the
# tests link the two layers as archives.
UNIT_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -I/usr/include/cjson -I$(BUILD)/gen
SAN_LIBS   = $(BUILD)/san/libnp-common.a $(BUILD)/san/libnp-formats.a
PLAIN_LIBS = $(BUILD)/plain/libnp-common.a $(BUILD)/plain/libnp-formats.a

$(BUILD)/san/obj/%.o: %.c $(UNIT_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -c -o $@ $<
$(BUILD)/plain/obj/%.o: %.c $(UNIT_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -O0 -g $(DEPFLAGS) -c -o $@ $<
$(BUILD)/%/libnp-common.a: $(patsubst %.c,$(BUILD)/\%/obj/%.o,$(COMMON_SRCS))
	rm -f $@ && $(AR) rcs $@ $^
$(BUILD)/%/libnp-formats.a: $(patsubst %.c,$(BUILD)/\%/obj/%.o,$(FORMAT_SRCS))
	rm -f $@ && $(AR) rcs $@ $^

# Kept: make would delete them as intermediate files.
.PRECIOUS: $(BUILD)/san/obj/%.o $(BUILD)/plain/obj/%.o $(BUILD)/%/libnp-common.a $(BUILD)/%/libnp-formats.a

$(BUILD)/unit/%: tests/unit/%.c tests/unit/check.h $(SAN_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $(SAN_FLAGS) -o $@ $< $(SAN_LIBS) $(LIBS)

$(BUILD)/unit-plain/%: tests/unit/%.c tests/unit/check.h $(PLAIN_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -O0 -g -o $@ $< $(PLAIN_LIBS) $(LIBS)

unit-test: $(UNIT_BINS) $(UNIT_PLAIN) | test-deps
	@set -e; for t in $(UNIT_BINS); do echo "== $$t (ASan/UBSan)"; $$t; done
	@if ! command -v valgrind >/dev/null && [ "$(NP_TEST_OPTIONAL_TOOLS)" = skip ]; then \
	  echo "unit tests: valgrind runs skipped (NP_TEST_OPTIONAL_TOOLS=skip)"; exit 0; fi; \
	  set -e; for t in $(UNIT_PLAIN); do echo "== $$t (valgrind)"; \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $$t >/dev/null; done; \
	  echo "unit tests: all passed under ASan/UBSan and valgrind"

INTEGRATION_TESTS ?= $(sort $(wildcard tests/integration/*.test.mjs))
integration-test: all | test-deps
	NP_TEST_NODE=$(NODE) $(NODE) --test --test-concurrency=2 $(INTEGRATION_TESTS)

# The layering of README.md's module map: no include upwards, no circle.
layers:
	sh scripts/layers.sh

test: test-deps layers unit-test integration-test

# The integration tests on each of NODE_MAJORS, fetched from the npm registry
# into $(NODES_DIR) once (scripts/fetch-node.sh).
NODE_MAJORS ?= 22 24
NODES_DIR   ?= $(BUILD)/nodes
test-nodes: all | test-deps
	@set -e; for major in $(NODE_MAJORS); do \
	  bin=$$(scripts/fetch-node.sh $$major $(NODES_DIR)); \
	  echo "== integration tests on node $$($$bin --version)"; \
	  $(MAKE) --no-print-directory integration-test NODE=$$bin; done

# libFuzzer (clang) on every parser of outside input, FUZZ_SECONDS each,
# seeded with the fixtures; findings are left in $(BUILD)/fuzz. `make
# fuzz-NAME` runs one: profile (the profile reader and writers), cpufold
# (CPU profile folding), sourcemap (the source map parser), memtimeline
# (.memory.jsonl), http (the pprof endpoints' requests), heapsnap (the heap
# snapshot reader and its dominator tree), pprof (the pprof reader),
# command (control FIFO lines), config (NODEPROF_* from the environment),
# envfile (the NODE_OPTIONS of node's --env-file files, read by the preload).
FUZZ_SECONDS ?= 60
FUZZERS = profile cpufold sourcemap memtimeline http heapsnap pprof command config envfile
fuzz_seeds_profile   = tests/fixtures/profiles/*.cpuprofile tests/fixtures/profiles/*.heapprofile
fuzz_seeds_cpufold   = tests/fixtures/profiles/*.cpuprofile
fuzz_seeds_sourcemap = tests/fixtures/sourcemaps/*.map
fuzz_seeds_memtimeline = tests/fixtures/memory/*.jsonl
fuzz_dict_profile    = profile
fuzz_dict_cpufold    = profile
fuzz_dict_sourcemap  = sourcemap
fuzz_dict_memtimeline = memtimeline
fuzz_seeds_http      = tests/fuzz/http-seeds/*
fuzz_dict_http       = http
# fuzz-http: the pprof endpoints' request handling (common/httpreq.c) with a
# real llhttp: Debian's node-llhttp sources (the agent uses node's own).
LLHTTP_SRC ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp
$(BUILD)/fuzz/fuzz_http: tests/fuzz/fuzz_http.c src/common/httpreq.c | fuzz-deps
	@test -f $(LLHTTP_SRC)/llhttp.c || $(MAKE) --no-print-directory FUZZ_TOOLS=:node-llhttp fuzz-deps
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -I$(LLHTTP_INC) -O1 -g \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< src/common/httpreq.c \
	  $(LLHTTP_SRC)/llhttp.c $(LLHTTP_SRC)/api.c $(LLHTTP_SRC)/http.c
# fuzz-command: the control FIFO's lines; fuzz-config: NODEPROF_* from
# the environment. Both are the pure parsers of common/.
fuzz_seeds_command   = tests/fuzz/command-seeds/*
fuzz_dict_command    = command
fuzz_seeds_config    = tests/fuzz/config-seeds/*
fuzz_dict_config     = config
FUZZ_CONFIG_SRCS = $(addprefix src/common/,command.c config.c labels.c log.c namepat.c clock.c)
$(BUILD)/fuzz/fuzz_command $(BUILD)/fuzz/fuzz_config: $(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_CONFIG_SRCS) | fuzz-deps
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -O1 -g \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< $(FUZZ_CONFIG_SRCS) -lpthread
fuzz_seeds_envfile   = tests/fuzz/envfile-seeds/*
fuzz_dict_envfile    = envfile
$(BUILD)/fuzz/fuzz_envfile: tests/fuzz/fuzz_envfile.c src/common/envfile.c | fuzz-deps
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -O1 -g \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< src/common/envfile.c
fuzz_seeds_heapsnap  = tests/fixtures/heapsnapshots/*.heapsnapshot
fuzz_dict_heapsnap   = heapsnap
# fuzz-pprof: the pprof reader (nodeprof merge, top), raw and gzipped seeds.
fuzz_seeds_pprof     = tests/fuzz/pprof-seeds/*
fuzz_dict_pprof      = pprof

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FORMAT_SRCS) | $(BUILD)/gen/html_assets.h fuzz-deps
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -I/usr/include/cjson -I$(BUILD)/gen -O1 -g \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< $(FORMAT_SRCS) $(LIBS)

fuzz-%: $(BUILD)/fuzz/fuzz_%
	@mkdir -p $(BUILD)/fuzz/corpus-$*
	cp $(fuzz_seeds_$*) $(BUILD)/fuzz/corpus-$*/
	cd $(BUILD)/fuzz && ./fuzz_$* -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
	  -dict=$(CURDIR)/tests/fuzz/$(fuzz_dict_$*).dict -print_final_stats=1 corpus-$*

fuzz: $(FUZZERS:%=fuzz-%)

# ---- dependencies and install ------------------------------------------------
# The one list of the Debian packages the build and the tests need (.ci/run
# uses these targets). On a fresh Debian 12 machine, as root, make installs
# what is missing (apt-get update first); otherwise it prints the exact
# command and stops. APT_GET='echo apt-get' shows what it would run.
DEB_DEPS   = build-essential libcjson-dev libunwind-dev zlib1g-dev libwebsockets-dev
# COMMAND:PACKAGE. valgrind for the unit tests; man checks our manual pages; go tool pprof and Chromium
# read our profiles back; ss shows that no port is open; clang builds us
# with CC=clang (tests/integration/build.test.mjs) and runs make fuzz.
TEST_TOOLS = valgrind:valgrind man:man-db go:golang-go $(or $(NP_CHROMIUM),chromium):chromium ss:iproute2 clang:clang
FUZZ_TOOLS = clang:clang
APT_GET   ?= apt-get
# Wait for another apt (unattended-upgrades on a fresh boot) instead of
# failing: apt-get install waits for dpkg's lock, apt-get update is retried.
APT_OPTS   = -o DPkg::Lock::Timeout=600

# $(call install_missing,WHAT,PACKAGES): install PACKAGES as root, or print
# the command and fail. NP_TEST_OPTIONAL_TOOLS=skip only warns (the tests
# that need them then skip instead of failing).
install_missing = if [ -z "$(2)" ]; then :; \
  elif [ "$(NP_TEST_OPTIONAL_TOOLS)" = skip ] && [ "$(1)" != build ]; then \
    echo "NP_TEST_OPTIONAL_TOOLS=skip: not installing $(2); the tests that need them skip" >&2; \
  elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
    echo "installing the $(1) dependencies: $(2)"; \
    tries=1; until $(APT_GET) update -qq; do [ $$tries -lt 30 ] || exit 1; tries=$$((tries + 1)); \
      echo "apt-get update failed (another apt running?): again in 10 s" >&2; sleep 10; done; \
    DEBIAN_FRONTEND=noninteractive $(APT_GET) $(APT_OPTS) install -y -qq $(2); \
  else echo "missing $(1) dependencies; run as root: apt-get update && apt-get install -y $(2)" >&2; exit 1; fi
# The packages of COMMAND:PACKAGE pairs whose command is missing (shell).
missing_tools = $$(echo $$(for tp in $(1); do command -v "$${tp%%:*}" >/dev/null 2>&1 || echo "$${tp\#\#*:}"; done))

check-deps:
	@printf '#include <cjson/cJSON.h>\n#include <zlib.h>\n#include <libwebsockets.h>\n#include <libunwind.h>\n' | \
	  $(CC) -E -x c - >/dev/null 2>&1 || $(MAKE) --no-print-directory deps
	@test -f $(NODE_INCLUDE)/node_api.h || { \
	  echo "no node_api.h in $(NODE_INCLUDE): set NODE_INCLUDE=<node's include/node>" >&2; exit 1; }

deps:
	@missing=$$(echo $$(for p in $(DEB_DEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)); \
	  $(call install_missing,build,$$missing)

# The tests' Debian packages, then their npm packages (tests/package.json),
# reinstalled whenever the lock file changes.
test-deps: test-debs
	@[ tests/node_modules/.package-lock.json -nt tests/package-lock.json ] && \
	  [ tests/node_modules/.package-lock.json -nt tests/package.json ] || \
	  if command -v npm >/dev/null; then echo "npm ci --prefix tests"; \
	    npm ci --prefix tests --no-audit --no-fund --loglevel=error; \
	  elif [ "$(NP_TEST_OPTIONAL_TOOLS)" = skip ]; then echo "no npm: the tests that need tests/node_modules skip" >&2; \
	  else echo "no npm (it comes with node): install it, then run: npm ci --prefix tests" >&2; exit 1; fi

test-debs:
	@missing="$(call missing_tools,$(TEST_TOOLS))"; $(call install_missing,test,$$missing)

fuzz-deps:
	@missing="$(call missing_tools,$(FUZZ_TOOLS))"; $(call install_missing,fuzz,$$missing)

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/libnodeprof.so $(DESTDIR)$(PREFIX)/lib/libnodeprof.so
	install -m 0755 $(BUILD)/libnodeprof-agent.so $(DESTDIR)$(PREFIX)/lib/libnodeprof-agent.so
	install -m 0644 $(BUILD)/nodeprof-loader.cjs $(DESTDIR)$(PREFIX)/lib/nodeprof-loader.cjs
	install -m 0755 $(BUILD)/nodeprof $(DESTDIR)$(PREFIX)/bin/nodeprof
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0644 man/nodeprof.1 $(DESTDIR)$(PREFIX)/share/man/man1/nodeprof.1
	install -m 0644 man/libnodeprof.7 $(DESTDIR)$(PREFIX)/share/man/man7/libnodeprof.7

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libnodeprof.so $(DESTDIR)$(PREFIX)/lib/libnodeprof-agent.so $(DESTDIR)$(PREFIX)/lib/nodeprof-loader.cjs $(DESTDIR)$(PREFIX)/bin/nodeprof \
	  $(DESTDIR)$(PREFIX)/share/man/man1/nodeprof.1 $(DESTDIR)$(PREFIX)/share/man/man7/libnodeprof.7

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/san $(BUILD)/plain -name '*.d' 2>/dev/null)
