"""Text tables built once per process from the vocabulary, and the Arrow string helpers.

``shared_lexicon()`` returns the one ``Lexicon``: phrase chunks per (domain, kind) that long texts
are chained from, verb forms with their complements (brief actions, PLM actions), actors and
phrase tails. Its draws come from their own random stream, so the tables never depend on the seed.
"""

from __future__ import annotations

import random
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synth.streams import LEXICON, stream
from pipelines.synth.vocabulary import (
    COLORS,
    DOMAINS,
    FEATURES,
    FIRST_OBJECT,
    GARMENTS,
    GENERAL,
    GENERAL_ADJECTIVES,
    GENERAL_NOUNS,
    GENERAL_PERSONS,
    GENERAL_VERBS,
    INTRANSITIVE,
    NO_ACTION,
    PERSON_ADJS,
    PLACES,
    PREPOSITIONS,
    SPEECH,
    Domain,
    gerund,
    third_person,
    upper_first,
    with_article,
)

# Chunk kinds of the phrase table. A long text is a chain of chunks: it opens with S0 (or V0, an
# imperative verb first), sentences end with E (or SE, a one-chunk sentence), the next opens with
# S. Transcript lines are chains of T0 T T ... (double-spaced, like auto captions) or U0 U U ...
_KINDS = ("S0", "S", "M", "E", "SE", "V0", "T0", "T", "U0", "U")
_KIND = {k: i for i, k in enumerate(_KINDS)}
# Chunks per (domain, kind), powers of two. Small tables keep the random gathers in cache (a 20 MB
# table made text generation three times slower) and repeat phrases about as often as real prose
# does (zstd compresses the result 3.3 to 3.8 times, the release's captions 3.3 to 4.2); the
# tables a text opens and ends with are larger so that texts stay unique.
_KIND_SIZE = {
    "S0": 4096, "S": 512, "M": 2048, "E": 2048, "SE": 256,
    "V0": 2048, "T0": 2048, "T": 2048, "U0": 1024, "U": 1024,
}  # fmt: skip
_PROSE_CHUNK_WORDS = (3, 7)  # inclusive bounds; mean 5
_SPEECH_CHUNK_WORDS = (2, 4)  # mean 3
_SENTENCE_END_P = 0.3  # of a non-final chunk: sentences of about three to four chunks

# Text styles of Lexicon.prose()
PROSE, IMPERATIVE, TITLE, SPEECH_DOUBLE, SPEECH_SINGLE = range(5)


def _kind_lut() -> np.ndarray:
    """Chunk kind by code = style * 8 + first * 4 + after a sentence end * 2 + ends a sentence."""
    lut = np.empty(5 * 8, np.int32)
    for style in range(5):
        for code in range(8):
            first, after_end, ends = code & 4, code & 2, code & 1
            if style == TITLE:
                kind = "S0" if first else "M"
            elif style == SPEECH_DOUBLE:
                kind = "T0" if first else "T"
            elif style == SPEECH_SINGLE:
                kind = "U0" if first else "U"
            elif first:
                kind = "V0" if style == IMPERATIVE else "S0"
            elif after_end:
                kind = "SE" if ends else "S"
            else:
                kind = "E" if ends else "M"
            lut[style * 8 + code] = _KIND[kind]
    return lut


_KIND_LUT = _kind_lut()


def _zipf_cdf(n: int, s: float = 1.0, q: float = 2.7) -> np.ndarray:
    """Cumulative Zipf-Mandelbrot weights over ranks 0..n-1 (q flattens the very top)."""
    w = 1.0 / (np.arange(n) + q) ** s
    c = np.cumsum(w)
    return c / c[-1]


def _draw(rng: np.random.Generator, cdf: np.ndarray, size: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(cdf) - 1)


def _join_lists(tokens: pa.Array, counts: np.ndarray, sep: str) -> pa.Array:
    offsets = np.zeros(len(counts) + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), tokens), sep)


def string_array(offsets: np.ndarray, data: pa.Buffer, valid: np.ndarray | None = None):
    """A string array over an existing data buffer: no text is copied."""
    n = len(offsets) - 1
    if valid is None:
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)), data)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = int(n - valid.sum())
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.astype(np.int32)), data, bitmap, nulls
    )


def spread(values: pa.Array, present: np.ndarray) -> pa.Array:
    """Put ``values`` (one per True of ``present``) in an array of len(present), null elsewhere."""
    assert values.offset == 0 and len(values) == int(present.sum())
    if len(values) == 0:
        return pa.nulls(len(present), pa.string())
    offs = np.frombuffer(values.buffers()[1], np.int32, len(values) + 1)
    full = np.empty(len(present) + 1, np.int32)
    full[0] = 0
    full[1:] = offs[np.cumsum(present)]
    return string_array(full, values.buffers()[2], present)


class Lexicon:
    """Every table text is drawn from, built once per process from a fixed random stream."""

    def __init__(self) -> None:
        rng = stream(LEXICON)
        self.n_domains = len(DOMAINS)
        self.domain_cdf = np.cumsum([d.weight for d in DOMAINS])
        self.domain_cdf /= self.domain_cdf[-1]
        self.vlog = next(i for i, d in enumerate(DOMAINS) if d.name == "vlog")
        self._build_chunks(rng)
        # Scalar draws for the small phrase tables: Python's generator is far cheaper per call.
        scalar = random.Random(int(rng.integers(1 << 62)))
        self._build_verbs(scalar)
        self._build_actors(scalar)
        self._build_tails(scalar)
        self.no_action = pa.array(NO_ACTION)

    # -- phrase chunks for long text -----------------------------------------------------------

    def _build_chunks(self, rng: np.random.Generator) -> None:
        general = pa.array(GENERAL)
        general_cdf = _zipf_cdf(len(GENERAL), 1.0)
        speech = pa.array(SPEECH)
        speech_cdf = _zipf_cdf(len(SPEECH), 1.0)
        parts, base = [], np.zeros((self.n_domains, len(_KINDS)), np.int64)
        position = 0
        for d, dom in enumerate(DOMAINS):
            topical = self._topical_words(dom)
            for k, kind in enumerate(_KINDS):
                base[d, k] = position
                n = _KIND_SIZE[kind]
                if kind[0] in "TU":
                    chunk = self._chunks(rng, n, kind, speech, speech_cdf, topical, 0.2)
                else:
                    chunk = self._chunks(rng, n, kind, general, general_cdf, topical, 0.3)
                if kind == "V0":  # imperative: "Open ...", "Stir ..." with the domain's verbs
                    chunk = self._imperative(rng, chunk, dom.verbs or GENERAL_VERBS)
                parts.append(chunk)
                position += n
        self.chunks = pa.concat_arrays(parts)
        self.chunk_base_flat = base.ravel().astype(np.int32)
        self.chunk_mask = np.array([_KIND_SIZE[k] - 1 for k in _KINDS], np.uint16)

    @staticmethod
    def _topical_words(dom: Domain) -> tuple[str, ...]:
        forms = [f(v) for v in dom.verbs for f in (third_person, gerund)]
        return dom.nouns + dom.adjectives + dom.persons + tuple(forms) or GENERAL_NOUNS

    @staticmethod
    def _chunks(
        rng: np.random.Generator,
        n: int,
        kind: str,
        common: pa.Array,
        common_cdf: np.ndarray,
        topical: tuple[str, ...],
        topical_share: float,
    ) -> pa.Array:
        """n chunks of 3 to 7 (speech: 2 to 4) words of one kind, as final strings."""
        speech = kind[0] in "TU"
        lo, hi = _SPEECH_CHUNK_WORDS if speech else _PROSE_CHUNK_WORDS
        counts = rng.integers(lo, hi + 1, n)
        total = int(counts.sum())
        vocab = pa.concat_arrays([common, pa.array(topical)])
        v = len(vocab)
        idx = _draw(rng, common_cdf, total)
        topic = rng.random(total) < topical_share
        idx[topic] = len(common) + _draw(rng, _zipf_cdf(len(topical), 0.7), int(topic.sum()))
        first = np.zeros(total, bool)
        first[np.cumsum(counts) - counts] = True
        last = np.zeros(total, bool)
        last[np.cumsum(counts) - 1] = True
        cap_first = kind in ("S0", "S", "SE")
        comma = ~last & (rng.random(total) < (0.0 if speech else 0.06))
        # Variants: plain, capitalised, plain + ",", capitalised + ",".
        capitalised = pa.array([upper_first(w) for w in vocab.to_pylist()]) if cap_first else vocab
        variants = pa.concat_arrays(
            [
                vocab,
                capitalised,
                pc.binary_join_element_wise(vocab, ",", ""),
                pc.binary_join_element_wise(capitalised, ",", ""),
            ]
        )
        variant = (first & cap_first).astype(np.int64) + 2 * comma
        joined = _join_lists(variants.take(pa.array(idx + v * variant)), counts, " ")
        if kind in ("T0", "T"):
            joined = pc.replace_substring(joined, " ", "  ")
        lead = {"S0": "", "V0": "", "T0": "", "U0": "", "T": "  "}.get(kind, " ")
        tail = "." if kind in ("E", "SE") else ""
        return pc.binary_join_element_wise(lead, joined, tail, "")

    @staticmethod
    def _imperative(rng: np.random.Generator, chunks: pa.Array, verbs: tuple[str, ...]):
        """Chunks opened by a capitalised verb."""
        heads = pa.array([upper_first(v) for v in verbs])
        picked = heads.take(pa.array(rng.integers(0, len(verbs), len(chunks))))
        return pc.binary_join_element_wise(picked, chunks, " ")

    def prose(
        self,
        rng: np.random.Generator,
        words: np.ndarray,
        domain: np.ndarray,
        style: int | np.ndarray = PROSE,
    ) -> pa.Array:
        """One text per entry of ``words`` (its target word count), drawn from its domain.

        The text is a chain of table chunks taken in one pass: the taken chunks' bytes are already
        the concatenated texts, so the string offsets are a subset of the chunk offsets.
        """
        n = len(words)
        style = np.broadcast_to(np.asarray(style, np.int32), (n,))
        per_chunk = np.where(style >= SPEECH_DOUBLE, 3.0, 5.0)
        # Three chunks at least (two for speech): short texts would otherwise repeat.
        min_chunks = np.where(style <= IMPERATIVE, 3, 2)
        n_chunks = np.maximum(min_chunks, np.rint(words / per_chunk)).astype(np.int32)
        ends = np.cumsum(n_chunks, dtype=np.int64)
        total = int(ends[-1]) if n else 0
        if total == 0:
            return pa.array([""] * n, pa.string())
        starts = ends - n_chunks
        # code = style * 8 + first * 4 + previous chunk ended a sentence * 2 + this one ends one
        u = rng.random(total, dtype=np.float32)
        end = u < _SENTENCE_END_P
        end[ends - 1] = True
        code = end.view(np.uint8).astype(np.int32)
        code[1:] += 2 * code[:-1]
        code[starts] = 4 + (code[starts] & 1)
        code += np.repeat(style * 8, n_chunks)
        kind = _KIND_LUT[code]
        slot = np.repeat(domain.astype(np.int32) * len(_KINDS), n_chunks) + kind
        pick = rng.integers(0, 1 << 16, total, dtype=np.uint16) & self.chunk_mask[kind]
        taken = self.chunks.take(pa.array(self.chunk_base_flat[slot] + pick.astype(np.int32)))
        chunk_offsets = np.frombuffer(taken.buffers()[1], np.int32, total + 1)
        offsets = np.empty(n + 1, np.int32)
        offsets[0] = 0
        offsets[1:] = chunk_offsets[ends]
        return string_array(offsets, taken.buffers()[2])

    # -- verbs, complements and brief actions --------------------------------------------------

    def _build_verbs(self, rng: random.Random) -> None:
        """Verb groups (0 = general, 1 + d = domain d) and C complements per verb."""
        groups = [(GENERAL_VERBS, GENERAL_NOUNS, GENERAL_ADJECTIVES)]
        groups += [(d.verbs, d.nouns, d.adjectives) for d in DOMAINS]
        self.n_complements = 48
        verbs: list[str] = []
        complements: list[str | None] = []
        self.verb_base, self.verb_cdf = [], []
        for group_verbs, nouns, adjs in groups:
            self.verb_base.append(len(verbs))
            self.verb_cdf.append(_zipf_cdf(max(len(group_verbs), 1), 1.0, 2.5))
            for verb in group_verbs:
                verbs.append(verb)
                complements += self._complements(rng, verb, nouns, adjs, group_verbs)
        self.n_verbs = len(verbs)
        forms = [verbs, [upper_first(v) for v in verbs]]
        forms += [[third_person(v) for v in verbs], [gerund(v) for v in verbs]]
        # Form index: 0 lowercase base, 1 capitalised base, 2 "points", 3 "cutting".
        self.verb_forms = pa.array([f for form in forms for f in form])
        self.complements = pa.array(complements, pa.string())
        self.complement_cdf = _zipf_cdf(self.n_complements, 1.0, 2.0)

    def _complements(
        self,
        rng: random.Random,
        verb: str,
        nouns: tuple[str, ...],
        adjs: tuple[str, ...],
        verbs: tuple[str, ...],
    ) -> list[str | None]:
        """The verb's complements, most frequent first: its favourite objects lead."""
        c = self.n_complements
        if verb in INTRANSITIVE:
            fixed = list(INTRANSITIVE[verb])
            objects = rng.sample(nouns, len(nouns))
            extra = [f"{p} the {o}" for p, o in zip(PREPOSITIONS, objects, strict=False)]
            return (fixed + extra * c)[:c]
        objects = rng.sample(nouns, len(nouns))
        if verb in FIRST_OBJECT:
            objects.insert(0, FIRST_OBJECT[verb])
        templates = ("o", "the o", "a o", "the a o", "o p the o2", "o and o2", "and v o", None)
        weights = (0.27, 0.27, 0.13, 0.08, 0.12, 0.04, 0.05, 0.04)
        out: list[str | None] = []
        for r in range(c):
            favourite = r == 0 and verb in FIRST_OBJECT
            template = "o" if favourite else rng.choices(templates, weights)[0]
            if template is None:
                out.append(None)
                continue
            words = {
                "o": objects[r % len(objects)],
                "o2": objects[(r * 7 + 3) % len(objects)],
                "a": rng.choice(adjs),
                "p": rng.choice(PREPOSITIONS),
                "v": rng.choice(verbs),
            }
            out.append(" ".join(words.get(t, t) for t in template.split()))
        return out

    def _verbs(self, rng: np.random.Generator, domain: np.ndarray, general_share: float):
        """Global verb indices: per node, a general verb or one of its domain's."""
        group = np.where(
            (domain == self.vlog) | (rng.random(len(domain)) < general_share), 0, 1 + domain
        )
        verb = np.empty(len(domain), np.int64)
        for g in np.unique(group):
            mask = group == g
            verb[mask] = self.verb_base[g] + _draw(rng, self.verb_cdf[g], int(mask.sum()))
        return verb

    def brief_actions(self, rng: np.random.Generator, domain: np.ndarray) -> pa.Array:
        """'Stir mixture', 'speak to camera', 'points at the map', 'cutting onions' ..."""
        n = len(domain)
        verb = self._verbs(rng, domain, 0.25)
        form = _draw(rng, np.cumsum([0.06, 0.86, 0.04, 0.04]), n)
        complement = verb * self.n_complements + _draw(rng, self.complement_cdf, n)
        return pc.binary_join_element_wise(
            self.verb_forms.take(pa.array(form * self.n_verbs + verb)),
            self.complements.take(pa.array(complement)),
            " ",
            null_handling="skip",
        )

    # -- actors, PLM actions ---------------------------------------------------------------------

    def _build_actors(self, rng: random.Random) -> None:
        self.n_actors = 256
        actors = []
        for dom in DOMAINS:
            persons = dom.persons + GENERAL_PERSONS
            objects = dom.nouns or GENERAL_NOUNS
            for _ in range(self.n_actors):
                actors.append(self._actor(rng, persons, objects))
        self.actors = pa.array(actors)
        self.actor_cdf = _zipf_cdf(self.n_actors, 0.9, 4.0)

    @staticmethod
    def _actor(rng: random.Random, persons: tuple[str, ...], objects: tuple[str, ...]) -> str:
        pick = rng.choice
        p = persons[min(int(rng.expovariate(0.5)), len(persons) - 1)]
        the = rng.random() < 0.6
        head = f"the {p}" if the else with_article(p)
        head = upper_first(head) if rng.random() < 0.3 else head
        colour, garment, feature = pick(COLORS), pick(GARMENTS), pick(FEATURES)
        adjective = pick(PERSON_ADJS)
        adj_head = f"the {adjective} {p}" if the else with_article(f"{adjective} {p}")
        templates = (
            f"{head}",
            f"{head} in the {colour} {garment}",
            f"{head} wearing a {colour} {garment}",
            f"{head} with {feature}",
            f"the {p}’s hands",
            f"{head} (off‑screen)",
            f"{head} handling the {pick(objects)}",
            f"{adj_head}",
            f"{head} standing at the {pick(PLACES)}",
            f"{head} holding the {pick(objects)} in the {pick(PLACES)}",
            f"{head} in the {colour} {garment}, seen from above",
            f"{head} and a second person beside them",
            f"the {p} (only the hands are visible)",
            f"{adj_head} with {feature} wearing a {colour} {garment}",
        )
        weights = (16, 12, 10, 10, 4, 3, 8, 6, 7, 7, 4, 4, 4, 5)
        return rng.choices(templates, weights)[0]

    def actors_for(self, rng: np.random.Generator, domain: np.ndarray) -> pa.Array:
        pick = domain * self.n_actors + _draw(rng, self.actor_cdf, len(domain))
        return self.actors.take(pa.array(pick))

    def _build_tails(self, rng: random.Random) -> None:
        self.n_tails = 128
        tails = []
        for dom in DOMAINS:
            nouns = dom.nouns or GENERAL_NOUNS
            adjs = dom.adjectives or ("small", "white", "large")
            for _ in range(self.n_tails):
                prep, noun, place = (
                    rng.choice(PREPOSITIONS),
                    rng.choice(nouns),
                    rng.choice(PLACES),
                )
                options = (
                    f"{prep} the {noun}",
                    f"{prep} {with_article(rng.choice(adjs))} {noun}",
                    f"in the {place}",
                    f"{prep} the {noun} in the {place}",
                    "in front of the camera",
                    "with both hands",
                )
                tails.append(rng.choices(options, (0.3, 0.2, 0.15, 0.25, 0.05, 0.05))[0])
        self.tails = pa.array(tails)

    def plm_actions(self, rng: np.random.Generator, domain: np.ndarray) -> pa.Array:
        """PLM's short action phrases, with free-form 'no action' strings (never "N/A")."""
        n = len(domain)
        verb = self._verbs(rng, domain, 0.3)
        form = np.where(rng.random(n) < 0.1, 0, 1)
        complement = verb * self.n_complements + _draw(rng, self.complement_cdf, n)
        tail = domain * self.n_tails + rng.integers(0, self.n_tails, n)
        tails = self.tails.take(pa.array(tail, mask=rng.random(n) > 0.85))
        phrase = pc.binary_join_element_wise(
            self.verb_forms.take(pa.array(form * self.n_verbs + verb)),
            self.complements.take(pa.array(complement)),
            tails,
            " ",
            null_handling="skip",
        )
        no_action = self.no_action.take(pa.array(rng.integers(0, len(self.no_action), n)))
        return pc.if_else(pa.array(rng.random(n) < 0.015), no_action, phrase)


@cache
def shared_lexicon() -> Lexicon:
    return Lexicon()
