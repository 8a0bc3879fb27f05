# socks46 — build, test, benchmark and demo entry points.
.DELETE_ON_ERROR:
.SUFFIXES:

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
# The daemons read /etc/socks46 whatever the prefix.
SYSCONFDIR ?= /etc
# Empty leaves stripping to the caller (dh_strip keeps the debug symbols).
INSTALL_STRIP ?= -s
VERSION  := $(shell cat VERSION)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
# SAN=1 builds everything with AddressSanitizer and UndefinedBehaviorSanitizer.
SAN      ?= 0
FUZZ_SECONDS ?= 20

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wmissing-field-initializers \
            -Werror -fno-strict-aliasing -D_GNU_SOURCE -pthread
CPPFLAGS += -Iinclude -Iuserspace -Iuserspace/common -I$(BUILD)/skel
LDLIBS   += -lbpf -lelf -lz -lmnl -lcares -lcrypt -lpthread
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

# -mcpu=v3: the UDP slots use atomic fetch-and-add (BPF_FETCH, Linux 5.12+).
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Iinclude \
              -I/usr/include/$(shell $(CC) -dumpmachine) -Wall -Werror

BPF_SRC     := $(wildcard bpf/*.bpf.c)
BPF_OBJ     := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS       := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/skel/%.skel.h)
LIB_SRC     := $(wildcard userspace/common/*.c userspace/gateway/*.c userspace/agent/*.c userspace/cli/*.c)
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ    := $(BUILD)/obj/userspace/main.o
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN    := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
TOOLS_SRC   := $(wildcard tools/*.c)
TOOLS_BIN   := $(TOOLS_SRC:tools/%.c=$(BUILD)/tools/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_OBJ    := $(FUZZ_SRC:%.c=$(BUILD)/fuzz/obj/%.o) $(FUZZ_LIB_OBJ)
# Every tracked C file: what `make format` rewrites and `make format-check` checks.
FORMAT_SRC   = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.SECONDARY: $(BPF_OBJ) $(SKELS) $(FUZZ_OBJ)

.PHONY: all deps check unit integration package sanitize fuzz vmtest kernel bench demo soak install \
	uninstall deb clean format format-check

all: $(BUILD)/socks46 $(TOOLS_BIN)

deps:
	$(Q)tools/install-deps.sh

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h include/*.h)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/skel/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/obj/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libsocks46.a: $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# The version has one home, the VERSION file: `socks46 --version` and the .deb read it.
$(MAIN_OBJ): CPPFLAGS += -DS46_VERSION='"$(VERSION)"'
$(MAIN_OBJ): VERSION

$(BUILD)/socks46: $(MAIN_OBJ) $(BUILD)/libsocks46.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Test and tool binaries are compiled and linked in one step; BIN.d lists the headers they read.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsocks46.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(BUILD)/libsocks46.a \
		$(LDLIBS) -lcmocka -o $@

$(BUILD)/tools/%: tools/%.c $(BUILD)/libsocks46.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(BUILD)/libsocks46.a \
		$(LDLIBS) -o $@

# Fuzzers instrument the whole library with clang's libFuzzer, ASan and UBSan: the library is
# compiled again, apart from the normal objects, with its own dependency files.
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -pthread -fsanitize=fuzzer,address,undefined
$(BUILD)/fuzz/obj/%.o: %.c | $(SKELS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIB_OBJ)
	$(call msg,FUZZ-LD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $^ $(LDLIBS) -o $@

unit: $(UNIT_BIN)
	$(Q)tests/run.sh unit $(UNIT_BIN)

integration: all
	$(Q)S46_BIN=$(abspath $(BUILD)/socks46) S46_TOOLS=$(abspath $(BUILD)/tools) \
		tests/run.sh integration $(sort $(wildcard tests/integration/test_*.sh))

# Installation, units, man pages and the .deb (no root or namespaces needed).
package: all
	$(Q)S46_BIN=$(abspath $(BUILD)/socks46) \
		tests/run.sh package $(sort $(wildcard tests/package/test_*.sh))

kernel: all
	$(Q)S46_BIN=$(abspath $(BUILD)/socks46) S46_TOOLS=$(abspath $(BUILD)/tools) \
		tests/run.sh kernel $(sort $(wildcard tests/kernel/test_*.sh))

fuzz: $(FUZZ_BIN)
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# The sanitizer build lives beside the normal one and runs the same unit and integration tests.
# Leak checking is on, with an exit status of its own (23): a leak on a configuration-error
# exit (status 1 expected) fails the test even where stderr is not read.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:exitcode=23 UBSAN_OPTIONS=print_stacktrace=1
sanitize:
	$(Q)$(SAN_ENV) $(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=1 unit integration

# The systemd guest installs the .deb.
vmtest: all deb
	$(Q)S46_BIN=$(abspath $(BUILD)/socks46) S46_DEB=$(abspath $(DEB)) vmtest/run.sh

check: deps
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory package
	$(Q)$(MAKE) --no-print-directory integration
	$(Q)$(MAKE) --no-print-directory kernel
	$(Q)$(MAKE) --no-print-directory sanitize
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)$(MAKE) --no-print-directory vmtest

bench: deps all
	$(Q)S46_BIN=$(abspath $(BUILD)/socks46) S46_TOOLS=$(abspath $(BUILD)/tools) tools/bench.sh

demo: deps all
	$(Q)S46_BIN=$(abspath $(BUILD)/socks46) tools/demo.sh

# Slow floods (tools/soak/), not part of check: what service looked like during each.
soak: all
	$(Q)S46_BIN=$(abspath $(BUILD)/socks46) S46_TOOLS=$(abspath $(BUILD)/tools) tools/soak.sh

# Installed files (dist/ and man/); example configuration never replaces an existing file.
UNITS_IN := socks46-gateway.service socks46-agent.service
MAN_SRC  := $(wildcard man/*.[1-8])
ETC_CONF := gateway.conf agent.conf

install: $(BUILD)/socks46
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/socks46
	install $(INSTALL_STRIP) -m 0755 $(BUILD)/socks46 $(DESTDIR)$(BINDIR)/socks46
	for u in $(UNITS_IN); do \
		sed 's|@BINDIR@|$(BINDIR)|g' dist/$$u.in > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -m 0644 dist/socks46.slice $(DESTDIR)$(UNITDIR)/socks46.slice
	install -m 0644 dist/socks46.tmpfiles $(DESTDIR)$(TMPFILESDIR)/socks46.conf
	install -m 0644 dist/socks46.sysusers $(DESTDIR)$(SYSUSERSDIR)/socks46.conf
	for f in $(ETC_CONF); do [ -e $(DESTDIR)$(SYSCONFDIR)/socks46/$$f ] || \
		install -m 0644 dist/$$f $(DESTDIR)$(SYSCONFDIR)/socks46/$$f || exit 1; done
	for m in $(MAN_SRC); do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done

# Removes what install put there; a configuration file the administrator changed stays.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/socks46 $(DESTDIR)$(UNITDIR)/socks46.slice \
		$(UNITS_IN:%=$(DESTDIR)$(UNITDIR)/%) $(DESTDIR)$(TMPFILESDIR)/socks46.conf \
		$(DESTDIR)$(SYSUSERSDIR)/socks46.conf
	for m in $(MAN_SRC); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/}; done
	for f in $(ETC_CONF); do ! cmp -s dist/$$f $(DESTDIR)$(SYSCONFDIR)/socks46/$$f || \
		rm -f $(DESTDIR)$(SYSCONFDIR)/socks46/$$f; done
	rmdir $(DESTDIR)$(SYSCONFDIR)/socks46 2>/dev/null || true

# The .deb is built by dpkg-buildpackage from a copy of the source tree, so the source
# tree stays clean; it is rebuilt only when a source file changed.
DEB      := $(BUILD)/socks46_$(VERSION)_$(DEB_ARCH).deb
DEB_SRC  := $(wildcard $(shell git ls-files --cached --others --exclude-standard 2>/dev/null))

deb: $(DEB)

$(DEB): $(DEB_SRC)
	$(call msg,DEB,$@)
	$(Q)head -1 debian/changelog | grep -qF '($(VERSION))' || \
		{ echo "debian/changelog does not name version $(VERSION)" >&2; exit 1; }
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/socks46-$(VERSION)
	$(Q)git ls-files -z --cached --others --exclude-standard | \
		xargs -0 cp --parents -t $(BUILD)/deb/socks46-$(VERSION)
	$(Q)cd $(BUILD)/deb/socks46-$(VERSION) && \
		DEB_BUILD_OPTIONS="noddebs nocheck parallel=$$(nproc)" \
		dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -30 ../build.log >&2; exit 1; }
	$(Q)cp $(BUILD)/deb/socks46_$(VERSION)_$(DEB_ARCH).deb $@

# Without files clang-format would read stdin: outside a git checkout there is nothing to do.
format_files = $(if $(FORMAT_SRC),$(FORMAT_SRC),$(error $@: no tracked *.c/*.h (needs a git checkout)))

format:
	clang-format -i $(format_files)

# Fails when any file drifts from .clang-format, naming file, line and column.
format-check:
	$(Q)clang-format --dry-run --Werror $(format_files)

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_BIN:=.d) $(TOOLS_BIN:=.d) $(FUZZ_OBJ:.o=.d)
