# jern build. `make` builds build/jern; see README.md for demo and test.
#
#   make            build/jern, build/jern-monitor and the test app (optimised, with debug info)
#   make test       install what is missing, build, run every test (sanitizer build)
#   make demo       install what is missing, build, start jern with a demo config
#   make bench      side-by-side benchmark against nginx and HAProxy
#   make bench-db   sysbench: MariaDB defaults vs the seed's lines vs jern's my.cnf
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
#   make asan       the ASan+UBSan build in build/asan
#   make install    build/jern, its systemd unit and default config (PREFIX, DESTDIR)
#   make deb        the Debian package build/jern_VERSION_ARCH.deb (dpkg-deb)

CC ?= gcc
BUILD ?= build
SAN ?=

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter
ifeq ($(CI),true)
WARN += -Werror
endif
ifeq ($(WERROR),1)
WARN += -Werror
endif

ifeq ($(SAN),1)
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
OPT := -O2 -g
endif

CPPFLAGS := -Isrc -D_GNU_SOURCE $(shell pkg-config --cflags libmariadb 2>/dev/null)
CFLAGS := -std=gnu11 $(OPT) $(WARN) -pthread -MMD -MP $(EXTRA_CFLAGS)
LDFLAGS := $(OPT) -pthread
LDLIBS := -lsqlite3 -lcurl -lcjson -lyaml -lssl -lcrypto -lnghttp2 -lmariadb -lpcre2-8 -luring -lm

SRCS := $(shell find src -name '*.c' ! -name main.c | sort)
OBJS := $(SRCS:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/ui_assets.o
UNIT_SRCS := $(shell find tests/unit -name 'test_*.c' 2>/dev/null | sort)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)

.PHONY: all unit asan test demo bench bench-db fuzz deps clean format install deb
all: $(BUILD)/jern $(BUILD)/jern-monitor $(BUILD)/jern-testapp

# bench/syscalls.sh's measurement of system calls against io_uring (liburing
# from Debian); not part of jern.
$(BUILD)/bench-syscalls: bench/syscalls.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -o $@ $< -luring

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The dashboard's files, embedded into the binary (src/control/ui/assets.h):
# ui/ and uPlot at the version ui/package-lock.json pins.
UPLOT := ui/node_modules/uplot/dist
UI_FILES := ui/dashboard.html ui/dashboard.js ui/dashboard.css \
	$(UPLOT)/uPlot.iife.min.js $(UPLOT)/uPlot.min.css

$(UPLOT)/.installed: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(UPLOT)/uPlot.iife.min.js $(UPLOT)/uPlot.min.css: $(UPLOT)/.installed

$(BUILD)/gen/ui_assets.c: $(UI_FILES) scripts/embed-assets.py
	@mkdir -p $(dir $@)
	scripts/embed-assets.py $@ $(UI_FILES)

$(BUILD)/obj/gen/ui_assets.o: $(BUILD)/gen/ui_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libjern.a: $(OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/jern: $(BUILD)/obj/main.o $(BUILD)/libjern.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The exec driver's monitor (src/monitor/main.c + the monitor's body): small
# and static, so starting it copies nothing of the daemon (docs/RUNTIME.md).
# Never sanitized: a static binary cannot carry ASan's runtime.
MONITOR_SRCS := src/monitor/main.c src/runtime/exec_monitor.c
$(BUILD)/jern-monitor: $(MONITOR_SRCS) src/runtime/exec_int.h src/runtime/driver.h src/core/common.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=gnu11 -O2 -g $(WARN) -static -o $@ $(MONITOR_SRCS)

# The small HTTP app used as demo backend, test backend and container image.
TESTAPP_SRCS := $(sort $(wildcard tests/app/*.c))
TESTAPP_DEPS := $(TESTAPP_SRCS) $(wildcard tests/app/*.h)

$(BUILD)/jern-testapp: $(TESTAPP_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(filter-out -MMD -MP,$(CFLAGS)) -o $@ $(TESTAPP_SRCS) $(LDFLAGS)

$(BUILD)/jern-testapp-static: $(TESTAPP_DEPS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -static -pthread -o $@ $(TESTAPP_SRCS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libjern.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libjern.a $(LDFLAGS) $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)

asan:
	$(MAKE) BUILD=build/asan SAN=1 all unit

deps:
	@scripts/install-deps.sh

test: deps
	$(MAKE) all $(BUILD)/jern-testapp-static
	$(MAKE) asan
	tests/run.sh

demo: deps
	$(MAKE) all
	scripts/demo.sh

bench: deps
	$(MAKE) all
	bench/syscalls.sh
	bench/run.sh
	bench/unix.sh
	bench/coldstart.sh
	bench/skew.sh
	bench/tls.sh
	BENCH_PIN=0 bench/tls.sh
	bench/h2.sh
	BENCH_PIN=0 bench/h2.sh

# sysbench against MariaDB: defaults, the seed's lines, jern's config (docs/DATABASES.md).
bench-db: deps
	$(MAKE) all
	bench/db.sh

# Installation: the binary, the systemd unit (dist/jern.service, its paths
# filled in), the default config (kept when one is there already) and the
# man page docs/jern.1 when it exists. Packaging sets DESTDIR.
PREFIX ?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= /etc/systemd/system
MANDIR ?= $(PREFIX)/share/man
INSTALL_BUILD ?= 1
MANPAGE ?= docs/jern.1

install: $(if $(filter 1,$(INSTALL_BUILD)),$(BUILD)/jern $(BUILD)/jern-monitor)
	install -D -m 0755 $(BUILD)/jern $(DESTDIR)$(PREFIX)/bin/jern
	install -D -m 0755 $(BUILD)/jern-monitor $(DESTDIR)$(PREFIX)/lib/jern/jern-monitor
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/jern.service > $(DESTDIR)$(UNITDIR)/jern.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/jern.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/jern/jern.conf ] || \
		install -D -m 0644 dist/jern.conf $(DESTDIR)$(SYSCONFDIR)/jern/jern.conf
	if [ -f $(MANPAGE) ]; then install -D -m 0644 $(MANPAGE) $(DESTDIR)$(MANDIR)/man1/jern.1; fi

DEB_OUT ?= $(BUILD)
deb: $(BUILD)/jern $(BUILD)/jern-monitor
	MANPAGE=$(MANPAGE) scripts/make-deb.sh $(BUILD) $(DEB_OUT)

fuzz: deps
	fuzz/run.sh $(FUZZ_SECONDS)

format:
	clang-format -i $$(find src tests/unit tests/app fuzz -name '*.[ch]')

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(BUILD)/obj/main.d
