# tapir - a user-space TCP/IP stack for learning.
#
#   make            build build/tapir (and the library build/libtapir.a)
#   make run        build, create the lab namespace and tap0, run the stack and its services
#   make check      build and run every test, then again under ASan/UBSan
#   make debug      build build-debug/tapir with -O0 -g3 for gdb
#   make bench      measure throughput and latency against the kernel (not a test), and
#                   connections/s against lwIP too when liblwip-dev is there (optional)
#   make fuzz       60 s of libFuzzer on the frame harness (part of make check; needs clang)
#   make pictures   retake the screenshots in docs/pictures/ (tapir sim ... --html)
#   make mutate     break RFC rules one line at a time: do the tests notice? (slow, not a test)
#   make labs       the labs (docs/labs/); make lab-start LAB=NAME DIR=PATH (or BRANCH=name),
#                   make grade LAB=NAME (KERNEL=no skips the kernel tests)
#   make clean
#
# BUILD=dir puts objects elsewhere (several builds can live side by side).

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2 -g
SAN      ?=
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter $(OPT) $(SAN) -MMD -MP
LDFLAGS  += $(SAN)
LAB      ?= tapir-lab
ARGS     ?=

LIB_SRC  := $(wildcard stack/*.c) tap/tap.c tap/wire.c tap/impair.c
APPS_SRC := $(filter-out apps/main.c apps/shim.c,$(wildcard apps/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
SIM_SRC  := $(wildcard tests/sim/test_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
APPS_OBJ := $(APPS_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
SIM_OBJ  := $(SIM_SRC:%.c=$(BUILD)/%.o)

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

.PHONY: all run check debug bench clean tools tools-test unit sim kernel tests lab-up lab-down gdb-test html pictures \
        conformance mutate fuzz labs lab-start grade labs-check
all: $(BUILD)/tapir $(BUILD)/libtapir-shim.so

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libtapir.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The page --html writes (apps/html_page.html) becomes a C string: each line quoted.
$(BUILD)/apps/html_page.inc: apps/html_page.html
	@mkdir -p $(dir $@)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@
$(BUILD)/apps/html.o: $(BUILD)/apps/html_page.inc
$(BUILD)/apps/html.o: CFLAGS += -I$(BUILD)/apps

$(BUILD)/libapps.a: $(APPS_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tapir: $(BUILD)/apps/main.o $(BUILD)/libapps.a $(BUILD)/libtapir.a
	$(CC) $(LDFLAGS) -o $@ $^

# The preload shim of `tapir run` (apps/shim.c): libc only, and never with the sanitizers,
# since it runs inside programs built without them.
$(BUILD)/libtapir-shim.so: apps/shim.c apps/run_proto.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -Wshadow $(OPT) -fPIC -shared -fvisibility=hidden \
	    -o $@ apps/shim.c

# Every tests/unit/test_*.c and tests/sim/test_*.c is its own Check program.
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
SIM_BIN  := $(SIM_SRC:%.c=$(BUILD)/%)

$(BUILD)/tests/unit/%.o $(BUILD)/tests/sim/%.o: CFLAGS += $(CHECK_CFLAGS)
# Kept: make would otherwise delete these intermediates after every link, and the next
# make relinks every test program (while another may be running it: make labs-check).
.SECONDARY: $(UNIT_OBJ) $(SIM_OBJ)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libapps.a $(BUILD)/libtapir.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS)

tests: $(BUILD)/tapir $(UNIT_BIN) $(SIM_BIN)

# Install what the tests need (apt-get as root, else print the command).
tools:
	@tests/tools.sh build
tools-test:
	@tests/tools.sh test

unit: tools $(UNIT_BIN)
	tests/run-suites.sh unit $(UNIT_BIN)
sim: tools $(SIM_BIN)
	tests/run-suites.sh sim $(SIM_BIN)
# (the lessons' gdb blocks run on the -O0 build: hence debug)
kernel: tools-test $(BUILD)/tapir $(BUILD)/libtapir-shim.so debug
	tests/kernel/run.sh $(BUILD)/tapir
# The --html pages in headless Chromium, and docs/pictures/ against the current code
# (HTML_BROWSER=0: the pages' data only, no browser; the ASan pass of make check).
html: tools-test $(BUILD)/tapir
	python3 tests/html/test_html.py $(BUILD)/tapir
# Retake the screenshots in docs/pictures/ (after a change to what the pictures show).
pictures: tools-test $(BUILD)/tapir
	python3 tests/html/pictures.py generate $(BUILD)/tapir

# The requirements table (tests/conformance/requirements.tsv) against the code and the
# tests' tags, and docs/conformance.md against the table. `mutate` breaks the rules one
# line at a time and reports which breaks the unit and sim tests miss (slow; not in check).
conformance: tools-test
	tests/conformance/check.py
mutate: tools
	tests/conformance/mutate.sh

# The gdb walkthrough of docs/debugging.md, against the -O0 build.
gdb-test: debug
	tests/gdb/test_gdb.sh build-debug

# The whole suite, then the same suite built with the sanitizers.
# Each suite adds its counts to $(CHECK_SUMMARY); the last line is the total.
check: export CHECK_SUMMARY = $(CURDIR)/build/check-summary
check: tools-test
	@mkdir -p build && rm -f $(CHECK_SUMMARY)
	$(MAKE) --no-print-directory BUILD=build unit sim conformance kernel html
	$(MAKE) --no-print-directory BUILD=build labs-check
	$(MAKE) --no-print-directory gdb-test
	HTML_BROWSER=0 $(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    unit sim kernel html
	$(MAKE) --no-print-directory fuzz
	@echo "make check: every suite passed (plain, gdb, ASan/UBSan, and the fuzzer)"
	@awk '{ p += $$1; f += $$2 } END { printf "check: %d passed, %d failed\n", p, f; exit f > 0 }' $(CHECK_SUMMARY)

# Labs: students write the marked parts of the stack, the tests grade them (docs/labs/).
labs:
	@tests/labs/lab.py list
lab-start:
	@tests/labs/lab.py $(if $(BRANCH),branch $(LAB) $(BRANCH),start $(LAB) $(DIR))
grade:
	@tests/labs/lab.py grade $(LAB) --build $(BUILD) $(if $(filter no 0,$(KERNEL)),--no-kernel)
# every lab: markers sound, the stub builds and scores 0, the reference scores all
labs-check: $(BUILD)/tapir
	tests/labs/lab.py prove --tapir $(BUILD)/tapir

debug:
	$(MAKE) --no-print-directory BUILD=build-debug OPT="-O0 -g3" SAN= all

run: tools-test $(BUILD)/tapir
	@tests/tools.sh root "make run"
	tap/lab up $(LAB)
	@echo "tapir: lab '$(LAB)' is up; from another terminal try: sudo tap/lab exec $(LAB) ping 10.0.0.2"
	tap/lab exec $(LAB) $(BUILD)/tapir serve $(ARGS)

lab-up:
	tap/lab up $(LAB)
lab-down:
	tap/lab down $(LAB)

$(BUILD)/benchtool: tests/bench/benchtool.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# libFuzzer (clang) on the frame harness, under ASan/UBSan, FUZZ_SECONDS (60) long, from
# the seed corpus in tests/fuzz/corpus (new inputs go to a scratch directory, not the repo).
FUZZ_SECONDS ?= 60
FUZZ_SRC := tests/fuzz/fuzz_frame.c $(wildcard stack/*.c) tap/wire.c tap/impair.c
build-fuzz/fuzz_frame: $(FUZZ_SRC)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Istack $(FUZZ_SRC) -o $@

fuzz: tools-test build-fuzz/fuzz_frame
	@scratch=$$(mktemp -d); \
	build-fuzz/fuzz_frame -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/ $$scratch tests/fuzz/corpus >build-fuzz/fuzz.log 2>&1; \
	rc=$$?; rm -rf $$scratch; \
	grep -E '^(stat::number_of_executed_units|Done)' build-fuzz/fuzz.log; \
	if [ $$rc = 0 ]; then echo "fuzz: 1 passed, 0 failed"; [ -z "$(CHECK_SUMMARY)" ] || echo "1 0" >>"$(CHECK_SUMMARY)"; \
	else tail -n 40 build-fuzz/fuzz.log; echo "fuzz: 0 passed, 1 failed"; [ -z "$(CHECK_SUMMARY)" ] || echo "0 1" >>"$(CHECK_SUMMARY)"; exit 1; fi

# lwIP (Debian's liblwip-dev) serving echo on the lab's TAP device: an optional reference
# for make bench's connections/s rows, built only there and only when the library is
# installed (tools.sh bench installs it when it can); never part of tapir or make check.
$(BUILD)/lwip_echo: tests/bench/lwip_echo.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror $$(pkg-config --cflags lwip) -o $@ $< $$(pkg-config --libs lwip) -lpthread

bench: tools-test $(BUILD)/tapir $(BUILD)/benchtool
	@tests/tools.sh root "make bench"
	@tests/tools.sh bench
	@if pkg-config --exists lwip; then $(MAKE) --no-print-directory $(BUILD)/lwip_echo; fi
	tests/bench/bench.sh $(BUILD)/tapir $(BUILD)/benchtool $(BUILD)/lwip_echo

clean:
	rm -rf build build-asan build-debug build-*

-include $(LIB_OBJ:.o=.d) $(APPS_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(SIM_OBJ:.o=.d) $(BUILD)/apps/main.d
