# Set-up, demo and tests. `make demo` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLES := $(wildcard samples/*.yaml)
WEAK := $(wildcard samples/weak/*.yaml)
# Pango draws the PDF; without libharfbuzz-subset0 font subsetting is about 5x slower.
SYSTEM_LIBS := libpango-1.0.so.0:libpango-1.0-0 libpangoft2-1.0.so.0:libpangoft2-1.0-0 \
               libharfbuzz-subset.so.0:libharfbuzz-subset0 libfontconfig.so.1:libfontconfig1
APT_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libfontconfig1 fontconfig \
                fonts-dejavu-core

.PHONY: demo test lint mutation system-libs browser clean

demo: $(STAMP)
	@mkdir -p out
	@for f in $(SAMPLES); do \
	  $(BIN)/handoff-brief render "$$f" -o "out/$$(basename "$$f" .yaml).pdf" || exit 1; \
	  $(BIN)/handoff-brief render "$$f" -o "out/$$(basename "$$f" .yaml).md" || exit 1; \
	done
	@echo
	@echo "== check on the weak samples: what each one lacks, and how to fix it =="
	@$(BIN)/handoff-brief check $(WEAK); test $$? -eq 1
	@echo
	@echo "Briefs are in out/: $$(cd out && ls | tr '\n' ' ')"

test: $(STAMP) browser
	$(BIN)/ruff check handoff_brief tests benchmarks
	$(BIN)/mypy handoff_brief
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check handoff_brief tests benchmarks
	$(BIN)/mypy handoff_brief

# Mutation testing with mutmut, apart from `test` (about 10 minutes on 2 cores). Which modules
# are mutated, and which tests run against each mutant, is [tool.mutmut] in pyproject.toml:
# to cover another module, add it to only_mutate (and its tests to the test selection).
# Starts afresh each time; `.venv/bin/mutmut browse` shows the survivors of the last run.
mutation: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run
	@printf '%-10s %6s %6s %8s %7s %6s\n' module total killed survived timeout other
	@$(BIN)/mutmut results --all true | awk -F'[.:]' '{ split($$0, s, ": "); n[$$2]++; \
	  c[$$2 "," s[2]]++ } END { for (m in n) { k = c[m ",killed"]; v = c[m ",survived"]; \
	  o = c[m ",timeout"]; printf "%-10s %6d %6d %8d %7d %6d  %5.1f%% killed or timed out\n", \
	  m, n[m], k, v, o, n[m] - k - v - o, 100 * (k + o) / n[m] } }' | sort
	@echo "Survivors: $(BIN)/mutmut results; one of them: $(BIN)/mutmut show NAME"

$(STAMP): pyproject.toml | system-libs
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

system-libs:
	@missing=""; \
	for pair in $(SYSTEM_LIBS); do \
	  lib=$${pair%%:*}; pkg=$${pair##*:}; \
	  /sbin/ldconfig -p 2>/dev/null | grep -q "$$lib" || missing="$$missing $$pkg"; \
	done; \
	command -v fc-list >/dev/null || missing="$$missing fontconfig"; \
	fc-list 2>/dev/null | grep -q "DejaVuSans.ttf" || missing="$$missing fonts-dejavu-core"; \
	$(call apt_or_explain,PDF output,$(APT_PACKAGES))

# Chromium at /usr/bin/chromium, for the review page's browser tests: the system's,
# installed with apt here, never a browser downloaded at run time. Only `make test` needs it.
browser:
	@missing=""; [ -x /usr/bin/chromium ] || missing=" chromium"; \
	$(call apt_or_explain,the browser tests,chromium)

# Install the packages $(2) with apt when $$missing is set (as root), or name them and stop.
define apt_or_explain
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing system packages for $(1):$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null || exit 1; \
	  else \
	    echo "System packages for $(1) are missing:$$missing"; \
	    echo "Install them, then run make again:"; \
	    echo "  sudo apt-get install -y $(2)"; \
	    exit 1; \
	  fi; \
	fi
endef

clean:
	rm -rf out dist build .pytest_cache .ruff_cache
