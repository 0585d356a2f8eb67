#!/usr/bin/env python3
"""Generates the built-in price table embedded in the LlmObservability core assembly.

Inputs
  * Langfuse's default model price list (MIT licensed), a JSON array of models, each with a regular-expression
    ``matchPattern`` and ``pricingTiers`` whose prices are USD per token and whose conditions select a service tier
    (``model_parameters.service_tier`` / ``speed``) or a long-context tier (``usageDetailPattern`` ``gt`` N).
  * ``supplement.json`` beside this script: hand-maintained entries for providers and models the Langfuse list
    lacks (Mistral, DeepSeek, xAI), extra tiers for listed models, provider-wide service-tier multipliers, exclusions.

Output
  * ``src/LlmObservability/Pricing/BuiltInPrices.json`` in the library's own format (format_version 1), described in
    docs/PRICING.md. Prices are written per million tokens; the library divides by 1,000,000 in decimal, exactly.

Numbers are read as ``decimal.Decimal`` from their JSON text and never pass through binary floating point, so
``2.5e-06`` USD per token becomes exactly ``2.5`` USD per million.

Usage
  python3 tools/pricing/generate.py [--langfuse PATH] [--check]

``--check`` regenerates in memory and exits 1 when the committed table differs (for CI).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LANGFUSE = ROOT.parent / "shared" / "reference" / "langfuse-default-model-prices.json"
SUPPLEMENT = Path(__file__).resolve().parent / "supplement.json"
OUTPUT = ROOT / "src" / "LlmObservability" / "Pricing" / "BuiltInPrices.json"
MILLION = Decimal(1_000_000)

# Langfuse usage-type names -> our price fields. Langfuse repeats one price under several names (one per SDK's
# usage vocabulary); every synonym present must carry the same value, or generation fails.
PRICE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "input": ("input", "input_tokens", "input_text", "input_text_tokens", "prompt_token_count", "promptTokenCount",
              "input_modality_1"),
    "cache_read": ("input_cached_tokens", "input_cache_read", "cache_read_input_tokens", "cached_content_token_count",
                   "input_cached_text_tokens"),
    "cache_creation": ("input_cache_creation_5m", "input_cache_creation", "cache_creation_input_tokens",
                       "cache_write_tokens"),
    "cache_creation_1h": ("input_cache_creation_1h",),
    "output": ("output", "output_tokens", "output_text", "output_text_tokens", "candidates_token_count",
               "candidatesTokenCount", "output_modality_1"),
    "reasoning": ("output_reasoning_tokens", "output_reasoning", "reasoning_tokens", "thoughts_token_count",
                  "thoughtsTokenCount"),
}
# Usage types we cannot bill from the usage the library records (audio, images, search calls); noted per entry.
IGNORED_USAGE_TYPES = {
    "input_audio_tokens", "input_audio", "output_audio_tokens", "output_audio", "input_cached_audio_tokens",
    "input_image", "grounding_queries", "groundingQueries", "web_search_queries", "webSearchQueries",
}
FIELD_ORDER = ("input", "cache_read", "cache_creation", "cache_creation_1h", "output", "reasoning")

# Bedrock / regional forms are resolved by the library's name normaliser, so they are not listed as aliases.
BEDROCK_PREFIXES = ("eu.", "us.", "apac.", "au.", "jp.", "global.", "anthropic.")


class GenerationError(Exception):
    pass


# --------------------------------------------------------------------------------------------------------------------
# A small expander for the regular expressions Langfuse uses as match patterns. They are built from literals, groups,
# alternation and optional parts, so their matches can be listed. Anything unbounded (\d, [..], .+, .*) is treated as
# "cannot list": inside an optional group the group is taken as absent; elsewhere the entry cannot be listed at all.
# An unescaped "." matches any character; in "any_dot" mode we list "." and "-" for it, because Langfuse writes
# "claude-3.7-sonnet-20250219" to match the real identifier "claude-3-7-sonnet-20250219"; otherwise just ".".
# --------------------------------------------------------------------------------------------------------------------
INFINITE = None  # marker: the node matches unboundedly many strings


class _PatternParser:
    def __init__(self, pattern: str, any_dot: bool):
        self.any_dot = any_dot
        if pattern.startswith("(?i)"):
            pattern = pattern[4:]
        self.s = pattern.strip("^$")
        self.i = 0

    def parse(self):
        result = self._alternation()
        if self.i != len(self.s):
            raise GenerationError(f"unexpected '{self.s[self.i]}' at {self.i} in {self.s!r}")
        return result

    def _peek(self):
        return self.s[self.i] if self.i < len(self.s) else None

    def _alternation(self):
        branches = [self._sequence()]
        while self._peek() == "|":
            self.i += 1
            branches.append(self._sequence())
        finite = [b for b in branches if b is not INFINITE]
        if not finite:
            return INFINITE
        return set().union(*finite)

    def _sequence(self):
        result: set[str] | None = {""}
        while self._peek() not in (None, "|", ")"):
            item = self._quantified()
            if result is INFINITE or item is INFINITE:
                result = INFINITE
            else:
                result = {a + b for a in result for b in item}
        return result

    def _quantified(self):
        atom = self._atom()
        c = self._peek()
        if c == "?":
            self.i += 1
            return {""} if atom is INFINITE else atom | {""}
        if c in ("+", "*"):
            self.i += 1
            return INFINITE
        if c == "{":
            end = self.s.index("}", self.i)
            self.i = end + 1
            return INFINITE
        return atom

    def _atom(self):
        c = self._peek()
        if c == "(":
            self.i += 1
            inner = self._alternation()
            if self._peek() != ")":
                raise GenerationError(f"unbalanced group in {self.s!r}")
            self.i += 1
            return inner
        if c == "\\":
            escaped = self.s[self.i + 1]
            self.i += 2
            if escaped in "dDwWsS":
                return INFINITE
            return {escaped}
        if c == "[":
            self.i = self.s.index("]", self.i) + 1
            return INFINITE
        if c == ".":
            self.i += 1
            return {".", "-"} if self.any_dot else {"."}
        self.i += 1
        return {c}


def expand_pattern(pattern: str, any_dot: bool = False) -> set[str] | None:
    return _PatternParser(pattern, any_dot).parse()


# --------------------------------------------------------------------------------------------------------------------


def per_million(value: Decimal) -> Decimal:
    result = (value * MILLION).normalize()
    # normalize() turns 10 into 1E+1; quantize back to a plain integer exponent for whole numbers.
    if result == result.to_integral_value():
        result = result.quantize(Decimal(1))
    return result


def provider_of(model_name: str) -> str:
    name = model_name.lower()
    if name.startswith("claude"):
        return "anthropic"
    if name.startswith(("gemini", "chat-bison", "text-bison", "codechat", "code-", "textembedding", "text-unicorn")):
        return "google"
    return "openai"


def convert_prices(model: str, tier_name: str, prices: dict) -> tuple[dict, list[str]]:
    out: dict[str, Decimal] = {}
    used: set[str] = set()
    for field, names in PRICE_SYNONYMS.items():
        values = {prices[n] for n in names if n in prices}
        used.update(n for n in names if n in prices)
        if len(values) > 1:
            raise GenerationError(f"{model} / {tier_name}: synonyms of '{field}' disagree: {values}")
        if values:
            out[field] = per_million(values.pop())
    if "total" in prices:
        # Legacy completion and embedding models: one price for every token, in or out.
        used.add("total")
        total = per_million(prices["total"])
        out.setdefault("input", total)
        out.setdefault("output", total)
    ignored = sorted(n for n in prices if n not in used and n in IGNORED_USAGE_TYPES)
    unknown = sorted(n for n in prices if n not in used and n not in IGNORED_USAGE_TYPES)
    if unknown:
        raise GenerationError(f"{model} / {tier_name}: unknown usage types {unknown}; map or ignore them explicitly")
    if "input" not in out or "output" not in out:
        raise GenerationError(f"{model} / {tier_name}: no input or output price in {sorted(prices)}")
    # Reasoning is only a separate price when it differs from output; otherwise it is billed as output.
    if "reasoning" in out and out["reasoning"] == out["output"]:
        del out["reasoning"]
    return {k: out[k] for k in FIELD_ORDER if k in out}, ignored


def convert_conditions(model: str, tier: dict) -> dict:
    result: dict = {}
    for cond in tier["conditions"]:
        if cond.get("source") == "model_parameters" and cond.get("key") in ("service_tier", "speed") \
                and cond.get("operator") == "in":
            values = [v.lower() for v in cond["values"]]
            # "fast" and "priority" name the same OpenAI tier; keep the canonical name first.
            values.sort(key=lambda v: (v != "priority", v))
            result.setdefault("service_tiers", []).extend(values)
        elif "usageDetailPattern" in cond and cond.get("operator") == "gt":
            # Every Langfuse pattern used here matches all input usage types (input, cached, cache writes), i.e. the
            # call's total input tokens; the library compares that total with above_input_tokens.
            result["above_input_tokens"] = int(cond["value"])
        else:
            raise GenerationError(f"{model} / {tier['name']}: unsupported condition {cond}")
    return result


def convert_langfuse(entries: list, exclude: dict[str, str], log: list[str]) -> list[dict]:
    models = []
    for e in entries:
        name = e["modelName"]
        if name in exclude:
            log.append(f"excluded {name}: {exclude[name]}")
            continue
        names = expand_pattern(e["matchPattern"])
        if names is INFINITE or not names:
            log.append(f"skipped {name}: match pattern {e['matchPattern']!r} names no finite set of models")
            continue
        provider = provider_of(name)
        if provider == "anthropic":
            # Anthropic's dated model IDs contain no dots, though Langfuse's names sometimes do.
            names |= {n for n in expand_pattern(e["matchPattern"], any_dot=True) or set() if re.search(r"-\d{8}$", n)}
        names = {n.lower() for n in names if "/" not in n and not n.lower().startswith(BEDROCK_PREFIXES)}
        key = name.lower()
        if provider == "anthropic" and re.search(r"-\d{8}$", key):
            # Anthropic's dated model IDs contain no dots; Langfuse's names sometimes do (claude-3.7-sonnet-20250219).
            dashed = key.replace(".", "-")
            if dashed in names:
                key = dashed
        if key not in names:
            key = sorted(names, key=lambda n: (n.count("."), len(n), n))[0] if names else key
        aliases = sorted(n for n in names if n != key)

        default = [t for t in e["pricingTiers"] if t["isDefault"]]
        if len(default) != 1 or default[0]["conditions"]:
            raise GenerationError(f"{name}: expected exactly one unconditional default tier")
        prices, ignored = convert_prices(name, default[0]["name"], default[0]["prices"])
        model = {"key": key, "provider": provider, "origin": "langfuse"}
        if aliases:
            model["aliases"] = aliases
        model["prices"] = prices
        tiers = []
        for t in sorted((t for t in e["pricingTiers"] if not t["isDefault"]), key=lambda t: t["priority"]):
            tier_prices, tier_ignored = convert_prices(name, t["name"], t["prices"])
            ignored = sorted(set(ignored) | set(tier_ignored))
            tier = {"name": t["name"], **convert_conditions(name, t), "prices": tier_prices}
            tiers.append(tier)
        if tiers:
            model["tiers"] = tiers
        if ignored:
            model["notes"] = "Not billed: " + ", ".join(ignored) + " (the library records text token counts only)."
        models.append(model)
    return models


def convert_supplement_prices(where: str, prices: dict) -> dict:
    out = {}
    for k, v in prices.items():
        if k not in FIELD_ORDER:
            raise GenerationError(f"{where}: unknown price field {k!r}")
        if not isinstance(v, Decimal) and not isinstance(v, int):
            raise GenerationError(f"{where}: price {k!r} must be a number")
        out[k] = Decimal(v)
    if "input" not in out or "output" not in out:
        raise GenerationError(f"{where}: input and output prices are required")
    return {k: out[k] for k in FIELD_ORDER if k in out}


def merge(generated: list[dict], supplement: dict, log: list[str]) -> list[dict]:
    by_key = {m["key"]: m for m in generated}
    for key, tiers in supplement.get("tier_additions", {}).items():
        if key.startswith("//"):
            continue
        if key not in by_key:
            raise GenerationError(f"tier_additions: no generated model {key!r}")
        for t in tiers:
            t = dict(t)
            t["prices"] = convert_supplement_prices(f"tier_additions/{key}", t["prices"])
            by_key[key].setdefault("tiers", []).append(t)
        by_key[key]["origin"] = "langfuse+supplement"
        log.append(f"added {len(tiers)} tier(s) to {key}")
    for m in supplement["models"]:
        m = dict(m)
        m["key"] = m["key"].lower()
        m["origin"] = "supplement"
        m["prices"] = convert_supplement_prices(m["key"], m["prices"])
        for t in m.get("tiers", []):
            t["prices"] = convert_supplement_prices(f"{m['key']} tier", t["prices"])
        if m["key"] in by_key:
            raise GenerationError(f"supplement model {m['key']!r} is already in the Langfuse list; use tier_additions")
        ordered = {k: m[k] for k in ("key", "provider", "origin", "aliases", "prices", "tiers", "notes") if k in m}
        generated.append(ordered)
        by_key[m["key"]] = ordered

    # An alias must name one model only, and never another model's key.
    owner: dict[str, str] = {m["key"]: m["key"] for m in generated}
    for m in generated:
        kept = []
        for a in m.get("aliases", []):
            if a in owner and owner[a] != m["key"]:
                log.append(f"alias {a!r} of {m['key']} dropped: already names {owner[a]}")
                continue
            owner[a] = m["key"]
            kept.append(a)
        if kept:
            m["aliases"] = kept
        else:
            m.pop("aliases", None)
    generated.sort(key=lambda m: (m["provider"], m["key"]))
    return generated


# ---- output: pretty JSON with one-line price objects, numbers written from Decimal text ---------------------------

def _number(d: Decimal) -> str:
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _inline(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)}: {_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return _number(value)
    return json.dumps(value, ensure_ascii=False)


def _emit(value, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        if all(not isinstance(v, (dict, list)) for v in value.values()) and indent >= 2:
            return _inline(value)
        lines = []
        for k, v in value.items():
            rendered = _inline(v) if k in ("prices", "aliases", "service_tiers", "service_tier_multipliers") \
                else _emit(v, indent + 1)
            lines.append(f"{pad}  {json.dumps(k)}: {rendered}")
        return "{\n" + ",\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if all(not isinstance(v, (dict, list)) for v in value):
            return _inline(value)
        return "[\n" + ",\n".join(f"{pad}  {_emit(v, indent + 1)}" for v in value) + f"\n{pad}]"
    return _inline(value)


def generate(langfuse_path: Path) -> tuple[str, list[str]]:
    langfuse = json.loads(langfuse_path.read_text(encoding="utf-8"), parse_float=Decimal)
    supplement = json.loads(SUPPLEMENT.read_text(encoding="utf-8"), parse_float=Decimal)
    log: list[str] = []
    models = convert_langfuse(langfuse, supplement.get("exclude", {}), log)
    models = merge(models, supplement, log)
    langfuse_updated = max(e["updatedAt"][:10] for e in langfuse)
    updated = max(langfuse_updated, supplement["as_of"])
    providers = {p: dict(v) for p, v in sorted(supplement.get("providers", {}).items())}
    for settings in providers.values():
        if "service_tier_multipliers" in settings:
            settings["service_tier_multipliers"] = {k: Decimal(v) for k, v in settings["service_tier_multipliers"].items()}
    document = {
        "format": "llm-observability-prices",
        "format_version": 1,
        "version": updated.replace("-", "."),
        "updated": updated,
        "unit": "usd_per_million_tokens",
        "generated_by": "tools/pricing/generate.py; do not edit by hand, edit tools/pricing/supplement.json and rerun",
        "sources": [
            {"name": "Langfuse default model prices", "license": "MIT", "updated": langfuse_updated,
             "models": sum(1 for m in models if m["origin"].startswith("langfuse"))},
            {"name": "tools/pricing/supplement.json", "as_of": supplement["as_of"], "note": supplement["note"],
             "models": sum(1 for m in models if m["origin"] == "supplement")},
        ],
        "providers": providers,
        "models": models,
    }
    return _emit(document) + "\n", log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--langfuse", type=Path, default=DEFAULT_LANGFUSE)
    parser.add_argument("--check", action="store_true", help="fail if the committed table is out of date")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    text, log = generate(args.langfuse)
    if args.verbose:
        print("\n".join(log))
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date; run tools/pricing/generate.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    counts: dict[str, int] = {}
    for m in json.loads(text)["models"]:
        counts[m["provider"]] = counts.get(m["provider"], 0) + 1
    print(f"wrote {OUTPUT.relative_to(ROOT)}: " + ", ".join(f"{p} {n}" for p, n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
