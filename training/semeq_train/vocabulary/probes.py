"""Probe words for choosing and checking the refusal threshold and for the report: words with no
sonic sense (the refusal's negatives), and sound words absent from every data set (the report's table).

The non-sonic words are everyday nouns, names, times, numbers and verbs chosen to have no established
meaning as a description of timbre; none occurs in the data sets (checked when the vocabulary is built).
They are split in two fixed halves: the threshold is chosen on ``NON_SONIC_CHOOSE`` (with held-out known
words and half of the data sets' multi-word descriptors as positives) and reported on ``NON_SONIC_CHECK``.
"""
from __future__ import annotations

NON_SONIC_CHOOSE = (
    "banana", "tuesday", "carrot", "spreadsheet", "elephant", "bicycle", "january", "lawyer", "umbrella",
    "potato", "invoice", "giraffe", "seventeen", "wednesday", "kitchen", "passport", "tomato", "accountant",
    "sandwich", "parliament", "algebra", "toothbrush", "cabbage", "forklift", "mortgage", "penguin",
    "stapler", "february", "cucumber", "committee", "hamster", "plumber", "triangle", "noodle", "receipt",
    "zebra", "spinach", "garage", "calendar", "pencil", "omelette", "insurance", "democracy", "shoelace",
    "broccoli", "octopus", "thursday", "dentist", "microwave", "sofa", "lemonade", "tax", "ladder",
    "kangaroo", "cheese", "printer", "saturday", "geometry", "wallet", "mushroom", "apron", "tractor",
    "tax return", "bus stop", "birthday party", "parking ticket", "fruit salad", "annual report",
    "train station", "credit card", "shopping list", "dental appointment", "office chair", "pizza delivery",
)
NON_SONIC_CHECK = (
    "sausage", "monday", "lettuce", "password", "hippo", "chair", "august", "banker", "raincoat", "onion",
    "spreadsheet cell", "llama", "eighty", "friday", "bathroom", "visa", "peanut", "cashier", "burrito",
    "senate", "calculus", "hairbrush", "turnip", "bulldozer", "pension", "walrus", "paperclip", "october",
    "zucchini", "board meeting", "gerbil", "electrician", "rectangle", "dumpling", "voucher", "badger",
    "celery", "driveway", "notebook", "eraser", "pancake", "warranty", "election", "shoebox", "cauliflower",
    "squid", "sunday", "pharmacist", "fridge", "armchair", "orange juice", "invoice number", "doormat",
    "koala", "yogurt", "scanner", "november", "statistics", "purse", "avocado", "mittens", "lawnmower",
)
#: Sound descriptions absent from all three data sets (docs/vocabulary.md's table of placed curves).
UNSEEN_SOUND_WORDS = (
    "glassy", "underwater", "vintage radio", "old telephone", "lo-fi", "velvety", "silky", "honky",
    "nasal", "brittle", "crystalline", "woolly", "papery", "metallic", "chesty", "throaty", "scooped",
    "sizzling", "subby", "glossy", "cardboard", "distant", "in your face", "megaphone", "through a wall",
    "shimmering", "buttery", "piercing", "congested", "cavernous", "plasticky", "tin can", "boombox",
    "walkie-talkie", "submerged", "smoky", "dusty", "crackly", "rubbery", "spongy", "steely", "icy",
    "tape saturated", "blown speaker", "hi-fi", "telephone", "laptop speaker", "bathroom reverb",
)
