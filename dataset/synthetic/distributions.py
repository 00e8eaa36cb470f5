"""How the demo world is distributed: types, genders, colours, materials, prices.

Pure data: the shares that give the demo the retailer's class imbalance (many dresses
and t-shirts, few puffer jackets; many women's items, few babies').
"""

from __future__ import annotations

# Marketplace listings per category, relative to ``items_per_category``.
TYPE_SHARE: dict[str, float] = {
    "dresses": 2.0,
    "t-shirts": 1.8,
    "sweaters": 1.4,
    "jeans": 1.2,
    "blouses": 1.0,
    "trousers": 1.0,
    "skirts": 1.0,
    "jackets-coats": 1.0,
    "shirts": 0.9,
    "cardigans": 0.7,
    "shorts": 0.7,
    "leggings": 0.5,
    "polos": 0.5,
    "sets": 0.4,
    "puffer-jackets": 0.3,
}

# Gender of the wearer; a garment for a girl is also a child's garment.
GENDER_SHARE: dict[str, float] = {
    "women": 0.52,
    "men": 0.28,
    "girl": 0.06,
    "boy": 0.06,
    "child": 0.04,
    "baby": 0.04,
}
WOMENSWEAR_GENDER_SHARE: dict[str, float] = {
    "women": 0.82,
    "girl": 0.1,
    "child": 0.04,
    "baby": 0.04,
}
MENSWEAR_GENDER_SHARE: dict[str, float] = {
    "men": 0.52,
    "women": 0.34,
    "boy": 0.08,
    "child": 0.03,
    "baby": 0.03,
}
GENDER_SHARE_BY_TYPE: dict[str, dict[str, float]] = {
    "dresses": WOMENSWEAR_GENDER_SHARE,
    "skirts": WOMENSWEAR_GENDER_SHARE,
    "blouses": WOMENSWEAR_GENDER_SHARE,
    "leggings": WOMENSWEAR_GENDER_SHARE,
    "shirts": MENSWEAR_GENDER_SHARE,
    "polos": MENSWEAR_GENDER_SHARE,
}
GENDER_LABELS: dict[str, tuple[str, ...]] = {
    "women": ("women",),
    "men": ("men",),
    "girl": ("girl", "child"),
    "boy": ("boy", "child"),
    "child": ("child",),
    "baby": ("baby",),
}

COLOUR_SHARE: dict[str, float] = {
    "black": 0.18,
    "blue": 0.16,
    "white": 0.12,
    "grey": 0.09,
    "beige": 0.08,
    "red": 0.07,
    "green": 0.07,
    "pink": 0.07,
    "brown": 0.06,
    "yellow": 0.05,
    "orange": 0.05,
}
COLOUR_SHARE_BY_TYPE: dict[str, dict[str, float]] = {
    "jeans": {"blue": 0.75, "black": 0.12, "grey": 0.06, "white": 0.04, "beige": 0.03},
}
TWO_COLOUR_SHARE: dict[str, float] = {"jeans": 0.04, "leggings": 0.1}
TWO_COLOUR_DEFAULT = 0.3

# Material sets (first material drives the rendered texture) and their shares.
MATERIAL_SETS: dict[str, list[tuple[tuple[str, ...], float]]] = {
    "sweaters": [(("wool",), 0.35), (("cashmere",), 0.1), (("cotton",), 0.3),
                 (("other",), 0.15), (("wool", "polyamide"), 0.1)],
    "t-shirts": [(("cotton",), 0.7), (("cotton", "elastane"), 0.15), (("polyester",), 0.1),
                 (("linen",), 0.05)],
    "jackets-coats": [(("wool",), 0.3), (("polyester",), 0.25), (("leather",), 0.15),
                      (("cotton",), 0.2), (("other",), 0.1)],
    "trousers": [(("cotton",), 0.4), (("polyester",), 0.2), (("linen",), 0.15),
                 (("wool",), 0.1), (("viscose",), 0.15)],
    "skirts": [(("cotton",), 0.3), (("viscose",), 0.25), (("polyester",), 0.25),
               (("leather",), 0.1), (("wool",), 0.1)],
    "jeans": [(("cotton",), 0.7), (("cotton", "elastane"), 0.3)],
    "sets": [(("cotton",), 0.5), (("polyester",), 0.3), (("linen",), 0.2)],
    "shirts": [(("cotton",), 0.6), (("linen",), 0.2), (("viscose",), 0.1), (("silk",), 0.1)],
    "shorts": [(("cotton",), 0.7), (("linen",), 0.15), (("polyester",), 0.15)],
    "puffer-jackets": [(("polyamide",), 0.6), (("polyester",), 0.4)],
    "cardigans": [(("wool",), 0.4), (("cotton",), 0.3), (("cashmere",), 0.15),
                  (("other",), 0.15)],
    "dresses": [(("viscose",), 0.3), (("cotton",), 0.3), (("polyester",), 0.25),
                (("silk",), 0.1), (("linen",), 0.05)],
    "blouses": [(("viscose",), 0.35), (("silk",), 0.2), (("polyester",), 0.25),
                (("cotton",), 0.2)],
    "polos": [(("cotton",), 0.85), (("polyester",), 0.15)],
    "leggings": [(("polyamide", "elastane"), 0.5), (("cotton", "elastane"), 0.4),
                 (("polyester", "elastane"), 0.1)],
}  # fmt: skip

# Typical second-hand price in euros, before condition and noise.
BASE_PRICE: dict[str, float] = {
    "sweaters": 14, "t-shirts": 6, "jackets-coats": 35, "trousers": 14, "skirts": 12,
    "jeans": 18, "sets": 22, "shirts": 12, "shorts": 9, "puffer-jackets": 40,
    "cardigans": 14, "dresses": 16, "blouses": 11, "polos": 10, "leggings": 9,
}  # fmt: skip

# French nouns for titles, per house type.
TITLE_NOUNS: dict[str, list[str]] = {
    "sweaters": ["Pull", "Sweat", "Pull col roulé", "Pull en maille"],
    "t-shirts": ["T-shirt", "Tee-shirt", "T-shirt manches courtes"],
    "jackets-coats": ["Manteau", "Veste", "Blazer", "Trench", "Perfecto"],
    "trousers": ["Pantalon", "Pantalon large", "Chino"],
    "skirts": ["Jupe", "Jupe plissée", "Jupe midi"],
    "jeans": ["Jean", "Jean slim", "Jean droit", "Jean mom"],
    "sets": ["Ensemble", "Costume", "Ensemble deux pièces"],
    "shirts": ["Chemise", "Chemise manches longues"],
    "shorts": ["Short", "Bermuda"],
    "puffer-jackets": ["Doudoune", "Doudoune légère", "Doudoune à capuche"],
    "cardigans": ["Cardigan", "Gilet", "Gilet en maille"],
    "dresses": ["Robe", "Robe longue", "Robe d'été", "Robe midi"],
    "blouses": ["Blouse", "Chemisier", "Top"],
    "polos": ["Polo", "Polo manches courtes"],
    "leggings": ["Legging", "Legging de sport"],
}
BRANDS: list[str] = [
    "Zara", "H&M", "Kiabi", "Mango", "Promod", "Jules", "Celio", "Uniqlo", "Sézane",
    "Naf Naf", "Camaïeu", "Petit Bateau", "Levi's", "Décathlon", "Vertbaudet", "Bershka",
    "Pimkie", "Etam", "Caroll", "Du Pareil au Même",
]  # fmt: skip
CONDITIONS: list[tuple[str, float, float]] = [  # word, share, price factor
    ("Neuf avec étiquette", 0.1, 1.6),
    ("Neuf sans étiquette", 0.12, 1.3),
    ("Très bon état", 0.45, 1.0),
    ("Bon état", 0.25, 0.8),
    ("Satisfaisant", 0.08, 0.6),
]
ADULT_SIZES = ["XS", "S", "M", "L", "XL", "34", "36", "38", "40", "42", "44"]
MEN_SIZES = ["S", "M", "L", "XL", "XXL", "40", "42", "44", "46"]
JEANS_SIZES = ["W26", "W27", "W28", "W29", "W30", "W31", "W32", "W34"]
CHILD_SIZES = ["3 ans", "4 ans", "6 ans", "8 ans", "10 ans", "12 ans", "14 ans"]
BABY_SIZES = ["1 mois", "3 mois", "6 mois", "9 mois", "12 mois", "18 mois", "24 mois"]
SELLERS = ["marie", "lea", "sophie", "camille", "julien", "thomas", "nina", "chloe",
           "manon", "lucas", "emma", "ines", "hugo", "sarah", "paul", "jade"]  # fmt: skip
