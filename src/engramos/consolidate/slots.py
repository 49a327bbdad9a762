"""What a statement is about: the slots of a person's life (home, job, partner, rent...)
a sentence speaks of, by its words (English word stems, Chinese keywords).

Knowledge updates look for an older statement about the same slot, not only for a
similar sentence: "Ana lives in Leeds" and "Ana moved to Glasgow" share few words and a
cosine under any safe threshold, but both are about where Ana lives.  Slots narrow the
candidates; whether the new statement replaces the old is then decided by the LLM, or
offline only where it is unambiguous (a number of a single-valued slot that changed)."""

from __future__ import annotations

import re

from ..ingest.slot_vocab import CAR_BRANDS, PHONE_WORDS, ZH_CAR_BRANDS
from ..text import has_cjk, words

# words (exact) and stems (prefixes) per slot; short words are exact, or "car" would
# match "Caroline" and "career", "cat" "category", "work" "workout"
_EN: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "home": (frozenset({"live", "lives", "lived", "living", "move", "moves", "moved", "moving", "flat", "house",
                        "home", "based", "reside", "resides", "landlord", "landlady", "flatmate", "housemate",
                        "roommate"}), ("relocat", "apartment", "neighbo")),
    "job": (frozenset({"work", "works", "worked", "working", "job", "jobs", "hired", "career", "boss", "office",
                       "shift", "shifts", "quit", "profession", "occupation", "retired", "unemployed", "company",
                       "employer", "firm", "ward", "patients", "clients", "overtime", "payslip"}),
            ("employ", "promot", "colleague", "resign")),
    "partner": (frozenset({"married", "marry", "wife", "husband", "partner", "girlfriend", "boyfriend",
                           "engaged", "spouse", "dating", "relationship"}), ("divorc", "fianc")),
    "rent": (frozenset({"rent", "rents", "rented", "renting"}), ()),
    "salary": (frozenset({"earn", "earns", "earned", "earning", "earnings", "wage", "wages", "income", "pay",
                          "paid"}), ("salar",)),
    "weight": (frozenset({"weigh", "weighs", "weighed", "weight", "kg", "kilos"}), ()),
    "phone": (frozenset({"phone", "phones", "iphone", "smartphone"}), ()),
    "car": (frozenset({"car", "cars", "drive", "drives", "driving", "drove", "mot", "tyres", "tires", "petrol",
                       "mileage"}), ()),
    "school": (frozenset({"school", "college", "studying", "study", "studies", "degree", "uni", "masters", "lecture",
                          "lectures", "exam", "exams", "campus", "semester", "thesis", "dissertation", "primary",
                          "academy", "kindergarten", "nursery", "homework", "classmates", "pupils", "freshers"}),
               ("universit",)),
    # eating meat speaks of a diet too ("a burger after five-a-side" before "I've gone vegan")
    "diet": (frozenset({"meat", "diet", "eat", "eats", "eating", "steak", "steaks", "burger", "burgers", "bacon",
                        "beef", "pork", "ribeye", "sausage", "sausages", "bbq", "barbecue", "kebab", "veggie"}),
             ("vegetarian", "vegan", "pescatarian", "plant")),
    "pet": (frozenset({"dog", "dogs", "cat", "cats", "kitten", "kittens", "puppy", "puppies", "pet", "pets", "vet"}),
            ()),
    "hobby": (frozenset({"hobby", "hobbies", "sport", "sports", "pastime", "pastimes", "exercise", "workout",
                         "workouts", "fitness"}), ()),
}
_ZH: dict[str, tuple[str, ...]] = {
    "home": ("住", "搬", "家在", "新家", "安家", "定居", "邻居", "哪个城市"),
    "job": ("工作", "上班", "职位", "职业", "辞职", "离职", "入职", "跳槽", "转行", "当", "做什么的", "干什么的",
            "公司"),
    "partner": ("结婚", "老婆", "老公", "妻子", "丈夫", "女朋友", "男朋友", "女友", "男友", "对象", "恋爱", "分手",
                "离婚"),
    "rent": ("房租", "租金"),
    "salary": ("工资", "薪水", "月薪", "年薪", "收入", "薪资"),
    "weight": ("体重", "公斤", "斤", "多重"),
    "phone": ("手机",),
    "car": ("车", *ZH_CAR_BRANDS),
    "school": ("学校", "大学", "读书", "上学", "读研", "学院", "小学", "中学", "初中", "高中", "幼儿园"),
    "diet": ("吃素", "素食", "吃肉", "戒肉", "肉", "牛排", "羊腿", "排骨", "烧烤", "饮食"),
    "pet": ("狗", "猫", "宠物"),
    "hobby": ("爱好", "兴趣", "业余", "运动"),
}
_WHAT_DO_ZH = re.compile(r"(?:在)?(?:做|干)什么(?!好吃|菜|饭|运动)|干嘛")
_FOR_A_LIVING = re.compile(r"\bfor a living\b", re.I)
# "What does Noa do now?": work, or study for a student (not "do for fun", "do to relax")
_WHAT_DO = re.compile(r"\bwhat (?:does|do|is) [\w' ]{1,30}? (?:do|doing)\b(?!\s+(?:for fun|in \w+ (?:free|spare) time|"
                      r"to|with|about|on|at|this|next|tonight|today|tomorrow|after))", re.I)
_HOME_ORIGIN = re.compile(r"\bhome ?(?:country|town|city|land|island|state|village)\b", re.I)
# a make named with its capital speaks of the car or phone ("my Tesla", "the Pixel");
# not the makes that are also common words ("golf", "seat")
_BRANDS = {"car": frozenset(b.capitalize() for b in CAR_BRANDS - {"golf", "seat", "mini", "civic"}) |
           {"BMW", "VW", "BYD"},
           "phone": frozenset(p.capitalize() for p in PHONE_WORDS - {"phone", "smartphone", "android", "galaxy"}) |
           {"iPhone", "OnePlus"}}
_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z]+\b|\biPhone\b")
# e5 cosine above which an older statement about the same slot is an update candidate
SLOT_CANDIDATE_SIMILARITY = 0.75
# one value at a time: a newer number replaces the older one
NUMERIC = frozenset({"rent", "salary", "weight"})
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def slots_of(text: str) -> set[str]:
    """The slots a sentence speaks of."""
    if has_cjk(text):
        found = {slot for slot, keys in _ZH.items() if any(k in text for k in keys)}
        if not found and _WHAT_DO_ZH.search(text):  # "2020年林溪在做什么？": work, or study
            found = {"job", "school"}
        return found | ({"employer"} if "job" in found else set())
    brands = {slot for slot, names in _BRANDS.items() if any(w in names for w in _CAPITALISED.findall(text))}
    living = _FOR_A_LIVING.search(text) is not None  # "what does Tariq do for a living": work, not home
    # "my home country", "my home town": where one is from, not where one lives
    text = _HOME_ORIGIN.sub(" ", text)
    seen = set(words(_FOR_A_LIVING.sub(" work ", text), keep_stopwords=True))
    found = {slot for slot, (exact, stems) in _EN.items()
             if seen & exact or (stems and any(w.startswith(stems) for w in seen))}
    if living and not seen & {"live", "lives", "lived", "move", "moved"}:
        found -= {"home"}
    if _WHAT_DO.search(text) and not found:
        found = {"job", "school"}
    return found | brands | ({"employer"} if "job" in found else set())  # work is a role and a place


def numbers_of(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def changed_number(new: str, old: str) -> set[str]:
    """The numeric slots both statements speak of with different numbers (rent 950 ->
    1100): an unambiguous update."""
    shared = slots_of(new) & slots_of(old) & NUMERIC
    new_n, old_n = numbers_of(new), numbers_of(old)
    return shared if shared and new_n and old_n and not new_n & old_n else set()


# a plan called off: "not running the half marathon any more", "we cancelled the trip", "去不了了"
_CANCELLED = re.compile(
    r"\b(cancel(?:l?ed|s)?|called off|calling off|no longer|won't be (?:going|coming|doing)|"
    r"(?:not|n't) (?:going|running|doing|coming|flying|travelling|traveling|taking|attending)\b.*\bany ?more|"
    r"(?:not|n't) (?:going|coming|flying|travelling|traveling)\b.*\bafter all|postponed|dropped out|"
    r"(?:isn't|is not|aren't) happening|pull(?:ed|ing)? out|withdr[ae]w|won't make it|can't make it|"
    r"scrap(?:ped|ping|s)?|ditch(?:ed|ing)?|shelved|off the table|"
    r"not (?:doing|going to do|running|racing|going)\b.*\bthis year|"
    r"no \w+ (?:for \w+ )?this (?:year|time|season|spring|summer|autumn|fall|winter|month|week|weekend)|"
    r"skip(?:ping)? it|(?:was|were) going to\b.*\bbut\b)\b|"
    r"取消|不去了|不参加了|去不了|泡汤|推迟|退出|不跑了|参加不了", re.I)


def calls_off(text: str) -> bool:
    """Whether a statement calls a plan off."""
    return _CANCELLED.search(text) is not None


def shared_content_words(a: str, b: str, *, ignore: set[str]) -> set[str]:
    """Words (not stopwords, not ``ignore``: the speaker's name) two statements share."""
    return (set(words(a)) & set(words(b))) - ignore
