"""Descriptor vocabulary: free text as typed by users → one canonical term, or None if not a descriptor.

The rule, in order (documented in docs/eq-space.md):
1. lower-case, trim, collapse runs of spaces;
2. drop anything that is not a single word of letters (with an inner hyphen allowed): phrases
   ("warm and present"), lists ("toppy, thick"), ids and numbered presets ("re27", "drum 1", "mix 1");
3. map spelling variants, typos, inflections and obvious synonyms with ``ALIASES``
   (brighter → bright, warmth → warm, brght → bright, clarity → clear, …);
4. drop non-descriptors listed in ``NON_DESCRIPTORS``: test entries, presets, greetings, instrument,
   genre and object names (they name a source, not a sound quality).
A term is kept for the semantic space only if it has enough de-duplicated examples (``data.py``).
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


def normalise(text: str) -> str | None:
    """Canonical descriptor for a user's free text, or None if it is not a single-word descriptor."""
    word = " ".join(str(text).lower().split())
    if not _WORD.match(word):
        return None
    word = ALIASES.get(word, word)
    if word in NON_DESCRIPTORS:
        return None
    return word
