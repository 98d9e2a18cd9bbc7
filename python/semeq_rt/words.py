"""Descriptor words as people type them → one canonical word: the rules training and the runtime share.

The rule, in order (docs/vocabulary.md):
1. lower-case, trim, collapse runs of spaces;
2. ``normalise`` keeps a single word of letters (an inner hyphen allowed): phrases ("warm and present"),
   lists ("toppy, thick"), ids and numbered presets ("re27", "drum 1") are not one descriptor;
3. ``ALIASES`` maps spelling variants, typos and obvious synonyms (brght → bright, clarity → clear);
4. ``NON_DESCRIPTORS`` drops test entries, presets, greetings, instrument, genre and object names
   (they name a source, not a sound quality);
5. ``to_known`` reduces an inflection to a word of a given vocabulary (brighter → bright,
   harshness → harsh, warmish → warm, boom → boomy) when the word itself is not in it.
"""
from __future__ import annotations

import re

ALIASES = {
    # warm
    "warmth": "warm", "warmer": "warm", "warn": "warm", "warth": "warm", "wawrm": "warm",
    # bright
    "brighter": "bright", "brightness": "bright", "brite": "bright", "brght": "bright",
    "birght": "bright", "brightens": "bright", "brillante": "bright",
    # others: inflections and variants of the same word
    "clearer": "clear", "clarity": "clear", "thinner": "thin", "fuller": "full", "air": "airy",
    "mud": "muddy", "muddled": "muddy", "boom": "boomy", "booming": "boomy", "bass": "bassy",
    "bas": "bassy", "base": "bassy", "bassic": "bassy", "box": "boxy", "boxed": "boxy",
    "hollowed": "hollow", "crispy": "crisp", "thickness": "thick", "thicky": "thick", "fatt": "fat",
    "phat": "fat", "punch": "punchy", "thump": "thumpy", "twang": "twangy", "fizz": "fizzy",
    "sparkles": "sparkle", "darkness": "dark", "hardness": "hard", "sadness": "sad",
    "crunch": "crunchy", "agressive": "aggressive", "mids": "mid", "louder": "loud",
    "softer": "soft", "darker": "dark", "deeper": "deep", "energized": "energetic",
    "energizing": "energetic",
}

NON_DESCRIPTORS = frozenset({
    # tests, presets, placeholders, greetings
    "test", "default", "reset", "hello", "hmm", "my", "yuk", "rubbish", "please", "wow", "welcome",
    # instruments and sources
    "guitar", "vocals", "vocal", "voix", "keys", "keyboard", "keyboards", "drums", "kick", "hihat",
    "snare", "piano", "brass", "acoustic", "tube",
    # genres and music words
    "rock", "jazz", "techno", "pop", "metal", "cumbia", "djent", "music", "melody", "sound", "noise",
    # objects, animals, names, places
    "apple", "corn", "car", "cat", "dog", "cow", "bear", "taco", "tiger", "man", "mother", "god",
    "children", "food", "bag", "sea", "rain", "cricket", "baseball", "snowball", "oxygen", "computer",
    "ralph", "aidan", "giulia", "franks", "chriss", "radio", "phone",
})

_WORD = re.compile(r"^[a-z]+(?:-[a-z]+)?$")


def clean(text: str) -> str:
    """Lower-case, trimmed, single-spaced text."""
    return " ".join(str(text).lower().split())


def normalise(text: str) -> str | None:
    """Canonical descriptor for a user's free text, or None if it is not a single-word descriptor."""
    word = clean(text)
    if not _WORD.match(word):
        return None
    word = ALIASES.get(word, word)
    if word in NON_DESCRIPTORS:
        return None
    return word


def inflection_bases(word: str) -> list:
    """Base forms ``word`` may be an inflection of, most likely first: comparatives and superlatives
    (brighter, biggest, happier, nicer), -ness and -ish (harshness, warmish), -ly (softly), and the
    noun of a -y adjective (boom → boomy, mud → muddy)."""
    bases = []
    for suffix in ("ness", "ish", "ly", "est", "er"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            bases.append(stem)
            if stem.endswith("i"):
                bases.append(stem[:-1] + "y")                     # happier → happy
            if len(stem) >= 4 and stem[-1] == stem[-2]:
                bases.append(stem[:-1])                           # bigger → big
            if suffix in ("er", "est"):
                bases.append(stem + "e")                          # nicer → nice
    bases += [word + "y", word + word[-1:] + "y"]                 # boom → boomy, mud → muddy
    return bases


def to_known(word: str, known) -> str | None:
    """``word`` (already ``clean``) as a word of ``known``: itself, its alias, or the first of its
    ``inflection_bases`` that ``known`` holds; None when none is."""
    for candidate in (word, ALIASES.get(word)):
        if candidate in known:
            return candidate
    return next((base for base in inflection_bases(ALIASES.get(word, word)) if base in known), None)
