"""Suggest a house label for a raw value no table covers (the ``unmapped`` command's hint).

A suggestion is a hint for the maintainer, never applied by itself. Each carries its
reason and a confidence: ``high`` (every word of the value is known and they agree),
``low`` (a plausible label, check it) or ``none`` (printed as ``???``: left for a person).
The sources, in order:

1. materials only: a negating qualifier (``faux``, ``simili``, ``imitation``, ``végan``,
   ``PU``, ``effet``... in :data:`SUGGEST_WORDS`) makes the value ``other``, never the base
   material (``Faux cuir`` is not leather);
2. the words already known, exact: the site's table, the shared ``_common`` tables, the
   taxonomy's own names in English and French, and for colours the colour-name lexicon
   (``colour_names.csv``: each name's basic colour, so ``violet`` is purple, which the
   house taxonomy lacks: ``ignore``; ``multicolore`` and metallics likewise);
3. colours: a lexicon name without a basic colour, by CIELAB distance to the house
   colours' names, with a margin over the runner-up (never ``high``);
4. the same words found inside the value (``sweats-a-capuche``, ``women knitwear``,
   ``bleu nuit``), after dropping fillers (``et``, ``and``), modifiers (``clair``,
   ``capuche``) and, for category slugs, the words of the other fields' tables (gender,
   colour, material: ``women``, ``leather`` in ``women-leather-jackets``); words that
   disagree give ``???`` (or, in a multi-label field, all their labels at low confidence),
   and so does an unknown word next to a material (it may negate it: ``fake leather``);
   other unknown words only qualify a head word (a category or gender word, a house
   colour's own name: ``party-dresses``, ``gris acier``), else the hint is ``low``;
5. a spelling match (rapidfuzz): at most one edit per six letters, with a margin over the
   best match of another label.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from dataset.core.errors import UserError
from dataset.core.yamlio import load_yaml_file
from dataset.mapping.colours import ColourName, colour_names, hex_to_rgb, srgb_to_lab
from dataset.mapping.normalise import normalise
from dataset.mapping.tables import Entry, MappingTable
from dataset.taxonomy.schema import Task

SUGGEST_WORDS = Path(__file__).with_name("suggest_words.yaml")
COLOUR_TASK = "colour"
MATERIAL_TASK = "material"
TYPE_TASK = "type"
GENDER_TASK = "gender"
OTHER_MATERIAL = "other"
FUZZY_CUTOFF = 80.0  # rapidfuzz ratio (0-100) below which a word is not a spelling variant
FUZZY_HIGH = 92.0  # ... and above which, with the margin, it is a confident one
SPELLING_LETTERS_PER_EDIT = 6  # a spelling variant is at most one edit per 6 letters away
FUZZY_MARGIN = 8.0  # points the best match must lead the best match of another label by
COLOUR_MARGIN = 10.0  # CIE76 delta E the nearest house colour must lead the runner-up by
CONFIDENCE_ORDER = {"none": 0, "low": 1, "high": 2}  # the order `unmapped` lists them in


Confidence = Literal["high", "low", "none"]


@dataclass(frozen=True)
class Suggestion:
    labels: tuple[str, ...] | None  # None: no trustworthy label ('???'); empty: 'ignore'
    confidence: Confidence
    reason: str

    @property
    def label_text(self) -> str:
        if self.labels is None:
            return "???"
        return ", ".join(self.labels) if self.labels else "ignore"


class SuggestWords(BaseModel):
    """``suggest_words.yaml``, validated: the words that steer suggestions."""

    model_config = ConfigDict(extra="forbid")

    negating: list[str]
    negating_prefixes: list[str]
    fillers: list[str]
    modifiers: dict[str, list[str]]


@dataclass(frozen=True)
class _Words:
    negating: frozenset[str]
    negating_prefixes: tuple[str, ...]
    fillers: frozenset[str]
    modifiers: dict[str, frozenset[str]]


@lru_cache(maxsize=4)
def suggest_words(path: Path = SUGGEST_WORDS) -> _Words:
    data = load_yaml_file(path)
    try:
        words = SuggestWords.model_validate(data)
    except ValueError as exc:
        raise UserError(f"{path}: {exc}".replace("\n", " ")) from None

    def keys(items: list[str]) -> frozenset[str]:
        return frozenset(normalise(item) for item in items)

    return _Words(
        keys(words.negating),
        tuple(normalise(item) for item in words.negating_prefixes),
        keys(words.fillers),
        {task: keys(items) for task, items in words.modifiers.items()},
    )


@dataclass(frozen=True)
class _Known:
    """A word whose labels are known, and where that knowledge comes from."""

    labels: tuple[str, ...]
    source: str


def _entry_source(entry: Entry) -> str:
    where = "/".join(entry.source.split("/")[-2:])  # <site>/<task>.yaml:<line>
    return f"{where} maps {entry.raw!r} to {entry.label_text}"


def slug_words(tables: dict[str, MappingTable]) -> frozenset[str]:
    """Words a category slug may hold besides its type: the other fields' table keys."""
    return frozenset(
        key for task, table in tables.items() if task != TYPE_TASK for key in table.entries
    )


class Suggester:
    """Suggestions for one task of one site; build once, call :meth:`suggest` per value."""

    def __init__(
        self,
        task_name: str,
        task: Task,
        table: MappingTable,
        shared: MappingTable,
        slug_words: frozenset[str] = frozenset(),
        lexicon: dict[str, ColourName] | None = None,
    ) -> None:
        """``shared``: the ``_common`` table; ``slug_words``: see :func:`slug_words`."""
        self.task_name = task_name
        self.task = task
        self.words = suggest_words()
        self.slug_words = slug_words if task_name == TYPE_TASK else frozenset()
        self.lexicon = (lexicon or colour_names()) if task_name == COLOUR_TASK else {}
        self.skipped = self.words.fillers | self.words.modifiers.get(task_name, frozenset())
        # Later sources win: the site's own words, then the shared ones, over general data.
        known: dict[str, _Known] = {}
        for key, name in self.lexicon.items():
            if name.basic:
                known[key] = self._lexicon_known(name)
        self.class_names = frozenset(
            normalise(word) for item in task.classes for word in (item.id, item.fr)
        )
        for item in task.classes:
            for word in (item.id, item.fr):
                known[normalise(word)] = _Known((item.id,), f"the taxonomy names {item.id}")
        for source_table in (shared, table):
            for key, entry in source_table.entries.items():
                known[key] = _Known(entry.labels, _entry_source(entry))
        self.known = known

    def _lexicon_known(self, name: ColourName) -> _Known:
        in_house = tuple(label for label in name.basic if label in self.task)
        if len(in_house) == len(name.basic):
            return _Known(in_house, f"colour name {name.written!r} is {' and '.join(in_house)}")
        missing = " and ".join(label for label in name.basic if label not in self.task)
        return _Known(
            (),
            f"colour name {name.written!r} is {missing}, not a house colour: ignore it "
            f"(or add {missing} to the taxonomy)",
        )

    def suggest(self, value: str) -> Suggestion:
        """A label for the normalised ``value``, with its reason and confidence."""
        for step in (self._negated, self._exact, self._colour_distance, self._words_inside):
            found = step(value)
            if found is not None:
                return found
        return self._spelling(value)

    def _negated(self, value: str) -> Suggestion | None:
        if self.task_name != MATERIAL_TASK:
            return None
        for token in value.split():
            base = self._negation_base(token, value)
            if base is None:
                continue
            known = self.known.get(base) if base else None
            what = f"{base!r} ({', '.join(known.labels) or 'ignored'})" if known else "the material"
            labels = (OTHER_MATERIAL,) if OTHER_MATERIAL in self.task else None
            return Suggestion(
                labels,
                "high" if labels else "none",
                f"{token!r} negates {what}: an imitation or synthetic is {OTHER_MATERIAL}",
            )
        return None

    def _negation_base(self, token: str, value: str) -> str | None:
        """The material word ``token`` negates ('' when unnamed), or None if it negates none."""
        rest = [word for word in value.split() if word != token]
        if token in self.words.negating:
            return next((word for word in rest if word in self.known), "")
        for prefix in self.words.negating_prefixes:
            glued = token[len(prefix) :]
            if token.startswith(prefix) and (not glued or glued in self.known):
                return glued or next((word for word in rest if word in self.known), "")
        return None

    def _exact(self, value: str) -> Suggestion | None:
        known = self.known.get(value)
        if known is None:
            return None
        return Suggestion(known.labels, "high", known.source)

    def _words_inside(self, value: str) -> Suggestion | None:
        tokens = value.split()
        if len(tokens) < 2:
            return None
        found: list[tuple[str, _Known]] = []
        unknown: list[str] = []
        start = 0
        while start < len(tokens):
            for end in range(len(tokens), start, -1):  # the longest known phrase first
                phrase = " ".join(tokens[start:end])
                if phrase in self.known:
                    found.append((phrase, self.known[phrase]))
                    start = end
                    break
            else:
                token = tokens[start]
                if token not in self.skipped and token not in self.slug_words:
                    unknown.append(token)
                start += 1
        if not found:
            return None
        words = "; ".join(f"{phrase!r}: {known.source}" for phrase, known in found)
        label_sets = list(dict.fromkeys(known.labels for _, known in found))
        dropped = any(not labels for labels in label_sets)
        labels = tuple(dict.fromkeys(label for group in label_sets for label in group))
        if len(label_sets) > 1 and (not self.task.multi_label or dropped):
            return Suggestion(None, "none", f"its words disagree: {words}")
        if len(label_sets) > 1:
            # Two words, two labels: one shade (rose corail), a fibre and its weave (silk
            # satin) or really both (noir blanc); a person tells which.
            return Suggestion(labels, "low", f"its words name several labels: {words}")
        if unknown and self.task_name == MATERIAL_TASK:
            # An unknown word next to a material may negate it (fake leather, cuir façon
            # croco): name the candidate, let a person decide.
            return Suggestion(
                None, "none", f"{words}; unknown word(s) that may qualify it: {', '.join(unknown)}"
            )
        if unknown and self._is_head(found):
            return Suggestion(
                labels, "high", f"{words}; {', '.join(unknown)} only qualifies it: {self._head}"
            )
        if unknown:
            return Suggestion(labels, "low", f"{words}; unknown word(s): {', '.join(unknown)}")
        return Suggestion(labels, "high", words)

    @property
    def _head(self) -> str:
        if self.task_name == COLOUR_TASK:
            return "a shade of a house colour named by its class (bleu outremer, powder blue)"
        return f"the {self.task_name} word heads the value (party dresses, robes de mariée)"

    def _is_head(self, found: list[tuple[str, _Known]]) -> bool:
        """Whether the one label found is the value's head, so unknown words only qualify it.

        A category or gender word heads a slug (``party-dresses``); a colour value is a
        shade of the house colour it names (``gris acier``), not of a lexicon name
        (``violet profond``). Materials never: an unknown word may negate them.
        """
        if self.task_name in (TYPE_TASK, GENDER_TASK):
            return True
        if self.task_name == COLOUR_TASK:
            return any(phrase in self.class_names for phrase, _ in found)
        return False

    def _colour_distance(self, value: str) -> Suggestion | None:
        name = self.lexicon.get(value)
        if name is None or name.basic or not name.hex:
            return None
        references = [
            (label, other.written, other.hex)
            for other in self.lexicon.values()
            if other.hex and len(other.basic) == 1
            for label in other.basic
            if label in self.task
        ]
        labs = srgb_to_lab(
            np.array([hex_to_rgb(name.hex)] + [hex_to_rgb(ref[2]) for ref in references])
        )
        distances = np.linalg.norm(labs[1:] - labs[0], axis=1)
        nearest: dict[str, tuple[float, str]] = {}
        for (label, written, _), distance in zip(references, distances, strict=True):
            if label not in nearest or distance < nearest[label][0]:
                nearest[label] = (float(distance), written)
        ranked = sorted(nearest.items(), key=lambda item: item[1][0])
        (label, (distance, via)), (second, (second_distance, second_via)) = ranked[:2]
        reason = (
            f"colour {name.written!r} {name.hex} is nearest to {via!r} = {label} "
            f"(ΔE {distance:.0f}), then {second_via!r} = {second} (ΔE {second_distance:.0f})"
        )
        if second_distance - distance < COLOUR_MARGIN:
            return Suggestion(None, "none", reason + ": too close to tell")
        return Suggestion((label,), "low", reason)

    def _spelling(self, value: str) -> Suggestion:
        # A spelling variant is a few edits away (bordeau, maron); a word that adds a
        # syllable is another word (suédine is not suède), so it is not a candidate.
        edits = max(1, len(value) // SPELLING_LETTERS_PER_EDIT)
        candidates = [
            key
            for key in self.known
            if len(key) >= 4 and Levenshtein.distance(value, key, score_cutoff=edits) <= edits
        ]
        matches = process.extract(
            value, candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=10
        )
        if not matches:
            return Suggestion(None, "none", "no known word, colour name or close spelling")
        word, score, _ = matches[0]
        best = self.known[word]
        rival = next(
            ((w, s) for w, s, _ in matches[1:] if self.known[w].labels != best.labels), None
        )
        reason = f"spelled like {word!r} (score {score:.0f}; {best.source})"
        if rival is not None and score - rival[1] < FUZZY_MARGIN:
            rival_labels = ", ".join(self.known[rival[0]].labels) or "ignore"
            return Suggestion(
                None,
                "none",
                f"{reason} and like {rival[0]!r} -> {rival_labels} (score {rival[1]:.0f})",
            )
        confidence: Confidence = "high" if score >= FUZZY_HIGH and len(value) >= 6 else "low"
        return Suggestion(best.labels, confidence, reason)
