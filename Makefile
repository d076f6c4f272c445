# Oshxona - build, run, test, bench. `make run` and `make test` install
# what is missing first (scripts/setup.sh), so a fresh Debian 12 machine
# needs nothing else.

BUILD    ?= build
PKGS      = json-c libcurl fcgi libmongoc-1.0 libcrypto libargon2 vips
CC       ?= cc
OPT      ?= -O2
SAN      ?=
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror \
            -Wshadow -Wstrict-prototypes -Wformat=2 -Ilib \
            $(shell pkg-config --cflags $(PKGS)) $(SAN)
LDLIBS   += $(shell pkg-config --libs $(PKGS)) $(SAN)

LIB_SRC   = $(wildcard lib/*.c)
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_A     = $(BUILD)/liboshxona.a
APPS      = $(notdir $(wildcard fcgi-apps/*))
TOOLS     = $(notdir $(wildcard tools/*))
JOBS      = $(patsubst cron/%/main.c,%,$(wildcard cron/*/main.c))
BINS      = $(APPS:%=$(BUILD)/bin/%) $(TOOLS:%=$(BUILD)/bin/%) $(JOBS:%=$(BUILD)/bin/%)
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Every parser has a libFuzzer target tests/fuzz/fuzz_<name>.c with a
# committed corpus in tests/fuzz/corpus/<name>/; `make test` replays the
# corpus through the same target built with gcc and a small main().
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES = $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_REPLAY = $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
FUZZ_SECONDS ?= 60
# Browser front ends: web/<name>/ with package.json; `npm run build`
# writes web/<name>/dist, which nginx serves.
WEBS      = $(patsubst web/%/package.json,%,$(wildcard web/*/package.json))

# Keep the objects between runs (they are intermediate files to make).
.SECONDARY:

.PHONY: all web setup run stop test unit unit-asan bins-asan fuzz-replay fuzz-replay-run fuzz blackbox bench format format-check clean

all: $(BINS)

$(BUILD)/%.o: %.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(AR) rcs $@ $^

# A program is every .c file in fcgi-apps/<name>/ (main.c first).
.SECONDEXPANSION:
$(BUILD)/bin/%: $(BUILD)/fcgi-apps/%/main.o \
    $$(addprefix $(BUILD)/,$$(addsuffix .o,$$(basename $$(wildcard fcgi-apps/$$*/*.c)))) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/%: $(BUILD)/tools/%/main.o $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) -o $@ $^ $(LDLIBS)

# oshxona-init alone speaks to PostgreSQL (FerretDB's tables: GIN indexes).
$(BUILD)/tools/oshxona-init/main.o: CFLAGS += $(shell pkg-config --cflags libpq)
$(BUILD)/bin/oshxona-init: LDLIBS += $(shell pkg-config --libs libpq)

$(BUILD)/bin/%: $(BUILD)/cron/%/main.o $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) -o $@ $^ $(LDLIBS)

web:
	@set -e; for w in $(WEBS); do echo "  WEB     web/$$w"; \
	    (cd web/$$w && npm run -s build); done

setup:
	@bash scripts/setup.sh

run: setup all web
	@bash scripts/stack.sh start

stop:
	@bash scripts/stack.sh stop

# Every suite; the last line is the runner's summary.
test: setup
	@bash tests/run-all.sh

unit: $(UNIT_BINS)
	@bash tests/run-unit.sh $(BUILD)/tests

# The unit tests again under AddressSanitizer and UBSan, in a build tree
# of their own so the normal binaries stay unsanitized.
unit-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" unit

# Every program again under ASan/UBSan, for a black-box run against them.
bins-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all

# Replays every committed fuzz corpus under ASan/UBSan.
fuzz-replay:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    fuzz-replay-run

fuzz-replay-run: $(FUZZ_REPLAY)
	@set -e; for n in $(FUZZ_NAMES); do \
	    $(BUILD)/fuzz/replay_$$n tests/fuzz/corpus/$$n; done

# Coverage-guided fuzzing with clang's libFuzzer, FUZZ_SECONDS per target;
# new inputs land in the corpus directories (commit the useful ones).
fuzz:
	@dpkg -s clang libclang-rt-14-dev >/dev/null 2>&1 || \
	    apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev
	@set -e; for n in $(FUZZ_NAMES); do \
	    mkdir -p build/libfuzzer; \
	    clang -g -O1 -std=c11 -D_GNU_SOURCE -Ilib $$(pkg-config --cflags $(PKGS)) \
	        -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_$$n.c $(LIB_SRC) \
	        -o build/libfuzzer/fuzz_$$n $$(pkg-config --libs $(PKGS)); \
	    build/libfuzzer/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) tests/fuzz/corpus/$$n; done

blackbox: all
	@"$$(bash scripts/setup.sh --print-python)" -m pytest tests/blackbox -q

bench: setup all
	@bash scripts/bench.sh

# The fault drill (scripts/drill.py): orders placed while the database
# restarts, children are killed, nginx reloads and the Bot API hangs; exits
# non-zero on a lost, doubled or stuck order. `make test` runs 60 s of it.
DRILL_SECONDS ?= 180
.PHONY: drill
drill: setup all
	@"$$(bash scripts/setup.sh --print-python)" scripts/drill.py --seconds $(DRILL_SECONDS)

format:
	clang-format -i $(wildcard lib/*.[ch] fcgi-apps/*/*.c tools/*/*.c cron/*/*.c tests/unit/*.[ch] tests/fuzz/*.c)

format-check:
	clang-format --dry-run --Werror $(wildcard lib/*.[ch] fcgi-apps/*/*.c tools/*/*.c cron/*/*.c tests/unit/*.[ch] tests/fuzz/*.c)

clean:
	rm -rf build

# Programs, units, crontab, logrotate, nginx site and env file under
# DESTDIR, programs in PREFIX (scripts/install.sh; README "Operator's guide").
PREFIX  ?= /opt/oshxona
DESTDIR ?=
.PHONY: install
install: all
	@BUILD=$(BUILD) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) bash scripts/install.sh
