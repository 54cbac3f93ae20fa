# twdne: make faces | make test | make bench. Variables: OUT, CONFIG, DEVICES, PYTHON.
OUT ?= data/out/demo
CONFIG ?= data/twdne.config.json
DEVICES ?= auto
PYTHON ?= /usr/bin/python3
export PYTHON

TWDNE := npx --no-install twdne

.PHONY: faces images snippets site serve test test-ts test-py typecheck format lint bench

faces:
	$(TWDNE) faces --config $(CONFIG) --out $(OUT) --devices $(DEVICES)
	$(TWDNE) images --config $(CONFIG) --out $(OUT) --devices $(DEVICES)

images:
	$(TWDNE) images --config $(CONFIG) --out $(OUT) --devices $(DEVICES)

snippets:
	$(TWDNE) snippets --config $(CONFIG) --out $(OUT) --devices $(DEVICES)

site:
	$(TWDNE) site --out $(OUT)

serve:
	$(TWDNE) serve --out $(OUT)

test: typecheck test-ts test-py

test-ts:
	npx --no-install tap

test-py:
	cd python && $(PYTHON) -m pytest -q

typecheck:
	npx --no-install tsc --noEmit -p .

format:
	npx --no-install prettier --write pipeline test bench site

lint:
	npx --no-install prettier --check pipeline test bench

bench:
	npx --no-install tsx bench/pool-overhead.ts
	npx --no-install tsx bench/encode-vs-imagemagick.ts
	$(PYTHON) bench/waifu2x_throughput.py
	$(PYTHON) bench/stylegan2_throughput.py
	$(PYTHON) bench/gpt2_sampler.py
