# Oshxona - build, run, test, bench. `make run` and `make test` install
# what is missing first (scripts/setup.sh), so a fresh Debian 12 machine
# needs nothing else.

BUILD    ?= build
PKGS      = json-c libcurl fcgi libmongoc-1.0
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
BINS      = $(APPS:%=$(BUILD)/bin/%) $(TOOLS:%=$(BUILD)/bin/%)
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all setup run stop test unit unit-asan blackbox bench format format-check clean

all: $(BINS)

$(BUILD)/%.o: %.c lib/oshxona.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/fcgi-apps/%/main.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/%: $(BUILD)/tools/%/main.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS) -lcmocka

setup:
	@bash scripts/setup.sh

run: setup all
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

blackbox: all
	@"$$(bash scripts/setup.sh --print-python)" -m pytest tests/blackbox -q

bench: setup all
	@bash scripts/bench.sh

format:
	clang-format -i lib/*.[ch] fcgi-apps/*/*.c tools/*/*.c tests/unit/*.c

format-check:
	clang-format --dry-run --Werror lib/*.[ch] fcgi-apps/*/*.c tools/*/*.c tests/unit/*.c

clean:
	rm -rf build
